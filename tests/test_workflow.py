"""The workflow as a user drives it: dry-run of the paper, the demo end to end, downloads, bad configs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from lbr.data.download import md5sum

from archives import write_cifar10_tarball
from repo_copy import snakemake as run_snakemake

pytestmark = pytest.mark.workflow


def test_dry_run_plans_the_whole_paper(workflow_dir):
    res = run_snakemake(workflow_dir, "-n", "all", "--quiet", "rules")
    assert res.returncode == 0, res.stdout
    cfg = yaml.safe_load((workflow_dir / "config.yaml").read_text())
    for fig in cfg["figures"]:
        assert f"figures/{fig}.pdf" in res.stdout or fig in res.stdout


def test_lint_is_clean(workflow_dir):
    res = run_snakemake(workflow_dir, "--lint")
    assert res.returncode == 0, res.stdout
    assert "Congratulations" in res.stdout


def test_demo_profile_builds_fig9(workflow_dir):
    res = run_snakemake(workflow_dir, "--profile", "profiles/demo", "figures/fig9.pdf")
    assert res.returncode == 0, res.stdout[-3000:]
    pdf = workflow_dir / "figures" / "fig9.pdf"
    assert pdf.read_bytes()[:4] == b"%PDF" and (workflow_dir / "figures" / "fig9.png").stat().st_size > 1000
    with np.load(workflow_dir / "results" / "data" / "synthetic" / "train.npz") as z:
        assert z["x"].dtype == np.uint8 and z["x"].shape[1:] == (16, 16, 3)
    again = run_snakemake(workflow_dir, "--profile", "profiles/demo", "figures/fig9.pdf", "-n")
    assert "Nothing to be done" in again.stdout


def test_download_prepare_and_filter_through_the_rules(workflow_dir, http_server):
    base, www, _ = http_server
    write_cifar10_tarball(www / "cifar-10-python.tar.gz", per_batch=200, n_test=50)
    override = {
        "sources": {
            "cifar10": {
                "cifar-10-python.tar.gz": {
                    "urls": [f"{base}/cifar-10-python.tar.gz"],
                    "md5": md5sum(www / "cifar-10-python.tar.gz"),
                }
            }
        },
        "download_dir": "downloads",
    }
    (workflow_dir / "override.yaml").write_text(yaml.safe_dump(override))
    target = "results/filtered/cifar10/bottom-0.2/train.npy"
    res = run_snakemake(workflow_dir, "--configfile", "override.yaml", "-c2", target)
    assert res.returncode == 0, res.stdout[-3000:]
    proj = np.load(workflow_dir / target)
    assert proj.shape == (1000, 32, 32, 3) and proj.dtype == np.float16
    info = json.loads((workflow_dir / "results/filtered/cifar10/bottom-0.2/train.json").read_text())
    assert info["side"] == "bottom" and 0.2 <= info["variance_kept"] < 0.3
    assert abs(info["energy_kept"] - info["variance_kept"]) < 1e-3
    manifest = json.loads((workflow_dir / "resources/manifests/cifar10.json").read_text())
    assert manifest["origin"]["root"] == "extracted"


def test_repacked_archive_in_data_root_stops_the_rule_until_its_md5_is_accepted(workflow_dir, tmp_path):
    """The download rule names the repacked copy; the `sources` entry its message prints, pasted into a config
    file, makes the same run work."""
    root = tmp_path / "torchvision"
    root.mkdir()
    batches = write_cifar10_tarball(root / "cifar-10-python.tar.gz")
    settings = {"data_root": str(root), "download_dir": "downloads", "download_timeout": 5}
    (workflow_dir / "offline.yaml").write_text(yaml.safe_dump(settings))
    target = "results/data/cifar10/test.npz"
    res = run_snakemake(workflow_dir, "-c1", target, "--configfile", "offline.yaml")
    assert res.returncode != 0
    message = (workflow_dir / "logs/download/cifar10.log").read_text()
    assert f"{root / 'cifar-10-python.tar.gz'} has md5 " in message and "c58f30108f718f92721af3b95e74349a" in message
    assert not (workflow_dir / "resources/manifests/cifar10.json").exists()
    (workflow_dir / "accept.yaml").write_text(re.search(r"`(sources: .*?)`", message).group(1) + "\n")
    res = run_snakemake(workflow_dir, "-c1", target, "--configfile", "offline.yaml", "accept.yaml")
    assert res.returncode == 0, res.stdout[-3000:]
    with np.load(workflow_dir / target) as z:
        assert list(z["y"]) == list(batches["test_batch"][1])


def test_unknown_dataset_in_config_is_one_clear_sentence(workflow_dir):
    (workflow_dir / "bad.yaml").write_text("fig9:\n  dataset: cifar11\n")
    res = run_snakemake(workflow_dir, "--configfile", "bad.yaml", "-n")
    assert res.returncode != 0
    assert "fig9.dataset names unknown dataset 'cifar11'" in res.stdout
    assert not (workflow_dir / "results").exists()


def test_malformed_config_is_rejected_by_the_schema(workflow_dir):
    (workflow_dir / "bad.yaml").write_text("spectrum:\n  chunk_rows: -5\n")
    res = run_snakemake(workflow_dir, "--configfile", "bad.yaml", "-n")
    assert res.returncode != 0
    assert "Invalid configuration: spectrum.chunk_rows is -5, but must be at least 1." in res.stdout


def test_failed_prepare_leaves_no_artifact(workflow_dir):
    """Files that exist (so the config passes) but hold no labels: prepare fails and writes nothing."""
    (workflow_dir / "nope").mkdir()
    for split in ("train", "test"):
        np.savez(workflow_dir / f"nope/{split}.npz", x=np.zeros((4, 8, 8, 3), np.uint8))
    (workflow_dir / "bad.yaml").write_text(
        "custom_datasets:\n  mine: {format: npz, train: nope/train.npz, test: nope/test.npz}\n"
    )
    res = run_snakemake(workflow_dir, "--configfile", "bad.yaml", "-c1", "results/data/mine/train.npz")
    assert res.returncode != 0
    log = (workflow_dir / "logs/prepare/mine.log").read_text()
    assert "nope/train.npz" in log
    assert not list((workflow_dir / "results").rglob("*.npz"))
