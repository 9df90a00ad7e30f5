"""Cluster rules of the workflow and the profiles that rely on them (paper config, no Slurm needed):
figure and download rules run locally, every figure is in the report with a caption, every GPU rule is
configured in profiles/slurm, retries get more memory and time, and both profiles load."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from repo_copy import ROOT, copy_workflow, snakemake

pytestmark = pytest.mark.workflow

SLURM = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
LOCAL = yaml.safe_load((ROOT / "profiles/local/config.yaml").read_text())


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    repo = copy_workflow(tmp_path_factory.mktemp("facts") / "repo")
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests/rule_facts.py"), str(repo)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(repo / "workflow")},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    facts = json.loads(out.stdout.split("RULE_FACTS ", 1)[1])
    return {
        name: fact | {"caption_ok": [Path(o["caption"]).is_file() for o in fact["outputs"] if o["caption"]]}
        for name, fact in facts.items()
    }


def figure_rules(rules):
    return {
        name: fact for name, fact in rules.items() if any(o["path"].startswith("figures/") for o in fact["outputs"])
    }


def test_figure_and_download_rules_run_on_the_submit_node(rules):
    local = figure_rules(rules) | {"download": rules["download"]}
    assert "fig9" in local
    assert not [name for name, fact in local.items() if not fact["local"]], "add these to `localrules:`"


def test_every_figure_is_in_the_report_with_a_caption(rules):
    for name, fact in figure_rules(rules).items():
        pdfs = [o for o in fact["outputs"] if o["path"].endswith(".pdf")]
        assert pdfs and all(o["report"] and o["caption"] for o in pdfs), f"wrap {name}'s pdf in report(caption=...)"
        assert all(fact["caption_ok"]), f"{name}'s caption file is missing"


def slurm_gpu_rules(rules) -> set[str]:
    """Rules that declare a GPU and that the Slurm profile does not turn into CPU jobs (`gpu: 0`)."""
    cpu = {name for name, res in SLURM["set-resources"].items() if res.get("gpu", None) == 0}
    return {name for name, fact in rules.items() if fact["gpu"]} - cpu


def test_every_gpu_rule_is_configured_for_slurm(rules):
    declared = {name for name, fact in rules.items() if fact["gpu"]}
    missing = declared - set(SLURM["set-resources"])
    assert not missing, f"add {sorted(missing)} to set-resources in profiles/slurm/config.yaml"
    assert {"spectrum", "filter", "fig7_dataset"} <= declared - slurm_gpu_rules(rules)  # CPU nodes on Slurm
    for name in slurm_gpu_rules(rules):
        assert SLURM["set-resources"][name].get("slurm_partition"), name


def test_slurm_profile_retries_with_more_memory_and_time():
    assert SLURM["executor"] == "slurm" and SLURM["retries"] >= 1
    assert SLURM["slurm-status-command"] == "squeue"  # sacct hangs Snakemake where accounting is off
    assert "cpus_per_task" not in SLURM["default-resources"]  # it would override cpus_per_gpu
    for key in ("mem_mb", "runtime"):
        first, second = (eval(str(SLURM["default-resources"][key]), {"attempt": a}) for a in (1, 2))
        assert second > first > 0, key
    for resources in SLURM["set-resources"].values():
        for key in set(resources) & {"mem_mb", "runtime"}:
            first, second = (eval(str(resources[key]), {"attempt": a}) for a in (1, 2))
            assert second > first > 0, (key, resources)


def test_gpu_rules_size_their_jobs_and_grow_them_on_a_retry(rules):
    """GPU rules carry their own memory and time (per dataset), doubled on a second attempt."""
    for name, fact in rules.items():
        if name not in slurm_gpu_rules(rules):
            continue
        for key in ("mem_mb", "runtime"):
            values = fact["scaling"][key]
            assert values is not None, f"{name} declares no {key}"
            assert values[1] > values[0] > 0, (name, key, values)


def test_local_profile_counts_gpus():
    assert LOCAL["resources"]["gpu"] >= 1 and LOCAL["cores"] == "all"


@pytest.mark.parametrize("profile", ["slurm", "local", "laptop"])
def test_profile_loads_and_plans_the_paper_workflow(profile, tmp_path):
    repo = copy_workflow(tmp_path / "repo")
    result = snakemake(
        repo, "--profile", f"profiles/{profile}", "--workflow-profile", "none", "-n", "--quiet", "rules", timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"^fig9\s+1$", result.stdout, re.M), result.stdout[-3000:]


def test_laptop_profile_runs_on_an_image_folder_of_your_own(tmp_path):
    """The laptop profile's natural-image dataset is one key: a custom image folder (built here, 3 classes of
    32x32 JPEGs) stands in for CIFAR-10 in every figure that uses the role, and the plan asks for no download of
    it (the plain dataset is the built-in digits here, so nothing is downloaded at all)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("test", 4)):
        for cls in ("cat", "dog", "owl"):
            folder = tmp_path / "photos" / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
    repo = copy_workflow(tmp_path / "repo")
    mine = {
        "custom_datasets": {"photos": {"format": "folder", "root": str(tmp_path / "photos"), "size": 32}},
        "roles": {"natural": "photos", "plain": "digits"},
    }
    (repo / "mine.yaml").write_text(yaml.safe_dump(mine))
    result = snakemake(
        repo, "--profile", "profiles/laptop", "-n", "--configfile", "profiles/laptop/laptop.yaml", "mine.yaml"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    out = result.stdout
    assert "download" not in re.findall(r"^rule (\w+):", out, re.M) and "cifar10" not in out
    assert "the Fig. 4 levels of photos (top: g1, 0.9; bottom: 0.2, g1) depend on results/spectrum/photos.npz" in out
    spectra = ("results/spectrum/photos.npz", "results/spectrum/digits.npz")
    profile = ("--profile", "profiles/laptop", "--configfile", "profiles/laptop/laptop.yaml", "mine.yaml")
    built = snakemake(repo, *spectra, *profile)  # targets before --configfile, which takes several files
    assert built.returncode == 0, built.stdout[-3000:]
    result = snakemake(
        repo, "--profile", "profiles/laptop", "-n", "--configfile", "profiles/laptop/laptop.yaml", "mine.yaml"
    )
    out = result.stdout
    for path in (
        "results/train/photos/resnet9/bottom-0.2/aug1/seed2/metrics.json",
        "results/train/photos/resnet9/top-g1/aug1/seed0/metrics.json",
        "results/train/digits/mlp/top-g2/aug0/seed0/metrics.json",
        "results/dynamics/photos/dcae-depth3/energies.npz",
        "results/guidance/photos/L128/g0.01/seed0/metrics.json",
        "results/tables/noise_check.csv",
        "figures/fig1.pdf",
    ):
        assert path in out, path
