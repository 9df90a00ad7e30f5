"""Fig. 3 and Fig. 1 wiring: the paper plan, and a small end-to-end run on built-in data in a temp directory."""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.workflow

REPO_FILES = ["Snakefile", "config.yaml", "workflow", "envs", "profiles"]


def _copy_repo(root, dest):
    for name in REPO_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)


def _snakemake(cwd, *args):
    env = dict(os.environ, PYTHONPATH=str(cwd / "workflow"))
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def _job_counts(stdout):
    counts = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_paper_plan_has_one_gpu_job_per_panel(repo_root, tmp_path):
    _copy_repo(repo_root, tmp_path)
    r = _snakemake(tmp_path, "figures/fig3.pdf", "-n")
    assert r.returncode == 0, r.stderr + r.stdout
    counts = _job_counts(r.stdout)
    assert counts["train_dynamics"] == 4 and counts["fig3_tables"] == 1 and counts["fig3"] == 1
    for run in ("dcae-depth3", "dcae-depth5", "mlpae-depth3", "mlpae-depth5"):
        assert f"results/dynamics/cifar10/{run}/energies.npz" in r.stdout
    r = _snakemake(tmp_path, "all", "-n")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "figures/fig3.pdf" in r.stdout


def test_bad_plot_epoch_is_rejected(repo_root, tmp_path):
    _copy_repo(repo_root, tmp_path)
    (tmp_path / "late.yaml").write_text(yaml.safe_dump({"fig3": {"epochs": [0, 60]}}))
    r = _snakemake(tmp_path, "figures/fig3.pdf", "-n", "--configfile", "config.yaml", "late.yaml")
    assert r.returncode != 0 and "fig3.epochs [60]" in r.stdout + r.stderr


@pytest.mark.slow
def test_fig3_and_fig1_end_to_end_on_builtin_data(repo_root, tmp_path):
    _copy_repo(repo_root, tmp_path)
    settings = {
        "figures": ["fig3"],
        "datasets": {"synthetic": {"n_train": 160, "n_test": 40, "height": 8, "width": 8}},
        "dynamics": {"latent": 8, "epochs": 3, "batch_size": 32, "lr": 0.003, "measure_images": 120},
        "fig3": {
            "dataset": "synthetic",
            "runs": [{"arch": "dcae", "depth": 3}, {"arch": "mlpae", "depth": 3}],
            "epochs": [0, 2],
            "bands": 4,
        },
        # Fig. 1 (top) reads the Fig. 4 rows of its dataset, arch and aug: a tiny grid of them
        "fig4": {
            "datasets": ["synthetic"],
            "archs": ["mlp"],
            "shares": ["g2", "g6"],
            "aug": [1],
            "seeds": [0],
            "epochs": 2,
            "batch_size": 32,
            "eval_every": 2,
            "threads": 1,
        },  # fmt: skip
        "fig1": {
            "dataset_top": "synthetic",
            "arch_top": "mlp",
            "dataset_images": "synthetic",
            "image_indices": [0, 5],
            "dynamics_run": {"dataset": "synthetic", "arch": "mlpae", "depth": 3},
        },
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(settings))
    tables = tmp_path / "results/tables"
    r = _snakemake(
        tmp_path,
        "figures/fig3.pdf",
        "figures/fig1.pdf",
        "-c",
        "2",
        "--set-threads",
        "train_dynamics=1",
        "--configfile",
        "config.yaml",
        "test.yaml",
    )
    assert r.returncode == 0, r.stderr[-3000:]

    directions = pd.read_csv(tables / "fig3.csv")
    for col in ("dataset", "arch", "depth", "epoch", "k", "energy", "data_eigenvalue", "error", "rank"):
        assert col in directions
    assert len(directions) == 2 * 2 * 192 and set(directions["epoch"]) == {0, 2}
    bands = pd.read_csv(tables / "fig3_bands.csv")
    for col in ("dataset", "arch", "depth", "epoch", "band", "band_eigenvalue", "captured", "capture_epoch"):
        assert col in bands
    assert set(bands["epoch"]) == {-1, 0, 1, 2}
    run = tmp_path / "results/dynamics/synthetic/dcae-depth3"
    assert (run / "energies.npz").exists() and (run / "history.csv").exists()
    assert not (run / "checkpoint.pt").exists()
    pdf = (tmp_path / "figures/fig3.pdf").read_bytes()
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 2
    for name in ("fig3.png", "fig1.pdf", "fig1.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 1000
