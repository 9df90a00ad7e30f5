"""Fig. 4 through Snakemake: the paper grid plans, and a tiny grid runs end to end in a temp directory,
including a training job that is stopped after a checkpoint (twice: the rule's retry resumes too) and
finishes on the next invocation with the metrics of an uninterrupted run."""

import json
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from lbr.config.load import load
from lbr.config.settings import ClassifierSettings
from lbr.training.classifier import train_classifier

from repo_copy import snakemake

pytestmark = pytest.mark.workflow

TINY = """
figures: [fig4]
keep_filtered: true
datasets:
  synthetic: {n_train: 300, n_test: 100, height: 8, width: 8, evidence: 0.3, seed: 0}
fig4:
  datasets: [synthetic]
  archs: [mlp]
  sides: [top, bottom]
  shares: [g4]
  aug: [0]
  seeds: [0]
  epochs: 3
  batch_size: 50
  lr: 0.003
  compile: false
  device: cpu
  eval_every: 1
  threads: 1
"""
RUN = "results/train/synthetic/mlp/bottom-g4/aug0/seed0"


def _snakemake(root, *args, env=None, check=True):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(root / "Snakefile"),
        "--directory",
        str(root),
        "--configfile",
        str(root / "tiny.yaml"),
        "-c",
        "2",
        "--scheduler",
        "greedy",
        *args,
    ]
    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    if check:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


@pytest.fixture
def workdir(tmp_path, repo_root):
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(repo_root / name, tmp_path / name)
    for name in ("workflow", "envs", "profiles"):
        shutil.copytree(repo_root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path


def test_paper_grid_waits_for_each_spectrum_before_planning_its_runs(workdir):
    """The Fig. 4 levels of a dataset are resolved on its spectrum (a checkpoint): a dry run before any spectrum
    exists plans the 7 spectra and says, per dataset, which levels depend on it; `lbr plan` counts their runs. In a
    copy of the workflow: the checkout may hold a demo's figures/fig4.pdf, which a dry run there would keep."""
    r = snakemake(workdir, "-n", "figures/fig4.pdf", "--quiet", "rules", timeout=300)
    assert r.returncode == 0, r.stdout[-3000:]
    out = r.stdout
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert int(counts["spectrum"]) == 7 and "train_classifier" not in counts and counts["fig4_table"] == "1"
    for dataset in ("arabic_characters", "svhn", "tinyimagenet"):
        assert f"the Fig. 4 levels of {dataset} (top: g0, g1" in out and f"results/spectrum/{dataset}.npz" in out


ILLUMINATED = """
figures: [fig4]
datasets:
  synthetic: {n_train: 300, n_test: 100, height: 8, width: 8, evidence: 0.3, seed: 0, illumination: 1.6}
fig4:
  datasets: [synthetic]
  archs: [mlp]
  shares: {top: ["0.3", "0.5", g1, "0.9"], bottom: ["0.2", "0.5", "0.9", g1]}
  aug: [0]
  seeds: [0, 1]
  compile: false
  device: cpu
"""


def test_levels_are_resolved_once_the_spectrum_exists_the_same_way_on_both_sides(workdir):
    """A spectrum whose first direction holds 61% of the variance (the generator's illumination), more than the
    smallest requested top share and more than one minus the largest bottom share. Once the spectrum job has run,
    and before any training, the plan names what each level became: top 0.3 and 0.5 the first direction alone,
    bottom 0.5 and 0.9 everything but it, the same rule on both sides; levels that keep the same directions train
    once (the one not substituted names the runs)."""
    (workdir / "lit.yaml").write_text(ILLUMINATED)
    built = snakemake(workdir, "-c1", "results/spectrum/synthetic.npz", "--configfile", "lit.yaml")
    assert built.returncode == 0, built.stdout[-3000:]
    assert (
        "the first direction alone holds 60.69% of the variance"
        in (workdir / "logs/spectrum/synthetic.log").read_text()
    )
    r = snakemake(workdir, "-n", "results/tables/fig4.csv", "--configfile", "lit.yaml")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "top-0.3/0.5/g1: 1 of 192 directions, 60.7%" in r.stdout
    assert "bottom-0.5/0.9/g1: 191 of 192 directions, 39.3%" in r.stdout
    assert "top shares above 60.69% and bottom shares below 39.31% exist" not in r.stdout  # g1 names them: nothing lost
    runs = set(re.findall(r"results/train/synthetic/mlp/(\S+)/aug0/seed\d/metrics\.json", r.stdout))
    assert runs == {"top-g1", "top-0.9", "bottom-0.2", "bottom-g1"}  # 8 requested levels, 4 subspaces
    (workdir / "only_shares.yaml").write_text(
        ILLUMINATED.replace(', g1, "0.9"]', ', "0.9"]').replace(', "0.9", g1]', ', "0.9"]')
    )
    r = snakemake(workdir, "-n", "results/tables/fig4.csv", "--configfile", "only_shares.yaml")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "top-0.3/0.5: 1 of 192 directions, 60.7% (substituted: the nearest subspace that exists)" in r.stdout
    assert "bottom-0.5/0.9: 191 of 192 directions, 39.3% (substituted: the nearest subspace that exists)" in r.stdout
    assert "top shares above 60.69% and bottom shares below 39.31% exist" in r.stdout
    runs = set(re.findall(r"results/train/synthetic/mlp/(\S+)/aug0/seed\d/metrics\.json", r.stdout))
    assert runs == {"top-0.3", "top-0.9", "bottom-0.2", "bottom-0.5"}
    assert not list((workdir / "results").glob("train/**/metrics.json"))  # nothing trained yet


def test_per_side_shares_plan_exactly_the_asked_runs(workdir):
    """`shares: {top: [...], bottom: [...]}` trains each side at its own shares only (not sides x shares), once the
    dataset's spectrum exists."""
    (workdir / "sides.yaml").write_text(
        "fig4: {datasets: [digits], archs: [mlp], aug: [0], shares: {top: [g1, g2], bottom: ['0.1', '0.2', '0.3']}}\n"
    )
    assert snakemake(workdir, "-c1", "results/spectrum/digits.npz", "--configfile", "sides.yaml").returncode == 0
    r = snakemake(workdir, "-n", "results/tables/fig4.csv", "--configfile", "sides.yaml")
    assert r.returncode == 0, r.stdout[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", r.stdout, re.M))
    runs = set(re.findall(r"results/train/(\S+)/metrics\.json", r.stdout))
    asked = {"top-g1", "top-g2", "bottom-0.1", "bottom-0.2", "bottom-0.3"}
    assert int(counts["train_classifier"]) == 15 and int(counts["filter"]) == 5  # config.yaml's three seeds
    assert runs == {f"digits/mlp/{sub}/aug0/seed{s}" for sub in asked for s in (0, 1, 2)}


@pytest.mark.slow
def test_tiny_grid_with_a_preempted_run(workdir):
    stopped = _snakemake(workdir, f"{RUN}/metrics.json", env={"LBR_STOP_AFTER_EPOCHS": "1"}, check=False)
    assert stopped.returncode != 0
    assert not (workdir / RUN / "metrics.json").exists()
    assert len(list((workdir / RUN).glob("checkpoint-*.pt"))) == 1
    log = workdir / "logs/train/synthetic/mlp/bottom-g4/aug0/seed0.log"
    assert "resumed from" in log.read_text() and "stopped after epoch 2 of 3" in log.read_text()

    _snakemake(workdir, "figures/fig4.pdf")
    assert "resumed from" in log.read_text() and "after epoch 1" in log.read_text()
    assert not list((workdir / RUN).glob("checkpoint-*.pt"))
    assert (workdir / "figures/fig4.pdf").stat().st_size > 0 and (workdir / "figures/fig4.png").exists()

    table = pd.read_csv(workdir / "results/tables/fig4.csv")
    required = [
        "dataset",
        "arch",
        "side",
        "share",
        "variance_kept",
        "dims",
        "aug",
        "loss",
        "seed",
        "epochs",
        "test_acc",
    ]
    assert list(table.columns[: len(required)]) == required
    assert sorted(table["side"]) == ["bottom", "top"] and set(table["epochs"]) == {3}
    top, bottom = (table[table["side"] == s].iloc[0] for s in ("top", "bottom"))
    assert 0 < top["dims"] < 192 and 0 < bottom["dims"] < 192 and 0 < top["variance_kept"] < 1
    assert bottom["test_acc"] > top["test_acc"]  # the synthetic data keep the class in low-variance directions

    # the same job uninterrupted, outside Snakemake, on the same inputs
    config = load(workdir / "tiny.yaml", base=workdir / "config.yaml")
    wildcards = {"dataset": "synthetic", "arch": "mlp", "aug": "0", "seed": "0"}
    settings = ClassifierSettings.from_config(config, wildcards)
    f = workdir / "results/filtered/synthetic/bottom-g4"
    d = workdir / "results/data/synthetic"
    paths = {
        "train": f / "train.npy",
        "test": f / "test.npy",
        "train_info": f / "train.json",
        "test_info": f / "test.json",
        "train_labels": d / "train.npz",
        "test_labels": d / "test.npz",
    }
    direct = train_classifier(paths, settings, workdir / "direct/metrics.json", workdir / "direct/history.csv")
    resumed = json.loads((workdir / RUN / "metrics.json").read_text())
    for key in ("test_acc", "test_acc_macro", "test_loss", "train_loss"):
        assert resumed[key] == direct[key], key
