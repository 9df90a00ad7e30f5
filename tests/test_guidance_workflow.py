"""Figs. 5-6 through Snakemake: the paper grid plans 48 GPU jobs (8 latents x 2 weights x 3 seeds); a tiny grid runs
end to end in a tmp dir."""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

TINY = {
    "figures": ["fig5", "fig6"],
    "datasets": {"synthetic": {"n_train": 48, "n_test": 24, "height": 16, "width": 16}},
    "guidance": {
        "dataset": "synthetic",
        "source_size": 32,
        "source_options": {"n_train": 64},
        "image_size": 32,
        "latents": [8],
        "weights": [0.0, 0.01],
        "width": 4,
        "encoder_blocks": [1, 1, 1, 1],
        "decoder_blocks": [1, 1, 1, 1],
        "epochs": 2,
        "batch_size": 16,
        "eval_every": 1,
        "n_reconstructions": 4,
        "device": "cpu",
        "seeds": [0],
    },
    "fig5": {"image_latent": 8, "n_images": 4},
}


def _workdir(repo_root, tmp_path):
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(repo_root / name, tmp_path / name)
    for name in ("workflow", "envs"):
        shutil.copytree(repo_root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _snakemake(workdir, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(workdir / "workflow"), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.workflow
def test_paper_grid_plans_one_gpu_job_per_latent_and_weight(repo_root, tmp_path):
    work = _workdir(repo_root, tmp_path)
    r = _snakemake(work, "figures/fig5.pdf", "figures/fig6.pdf", "-n", "--quiet", "rules")
    assert r.returncode == 0, r.stderr
    counts = dict(line.split()[:2] for line in r.stdout.splitlines() if len(line.split()) == 2)
    assert counts.get("train_guidance") == "48" and counts.get("prepare_resized") == "1"


@pytest.mark.workflow
@pytest.mark.slow
def test_tiny_grid_end_to_end(repo_root, tmp_path):
    work = _workdir(repo_root, tmp_path)
    (work / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    r = _snakemake(
        work, "figures/fig5.pdf", "figures/fig6.pdf", "--set-threads", "train_guidance=1", "--configfile", "tiny.yaml"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for fig in ("fig5", "fig6"):
        assert (work / f"figures/{fig}.pdf").stat().st_size > 0 and (work / f"figures/{fig}.png").exists()
    required = ["latent", "guidance", "epoch", "split", "recon_loss", "acc_linear", "acc_mlp"]
    curves = pd.read_csv(work / "results/tables/fig5.csv")
    final = pd.read_csv(work / "results/tables/fig6.csv")
    assert set(required) <= set(curves.columns) and set(required) <= set(final.columns)
    assert sorted(curves["guidance"].unique()) == [0.0, 0.01] and set(curves["split"]) == {"train", "valid"}
    assert len(curves) == 2 * 2 * 2  # 2 weights x 2 epochs x (train, valid)
    assert len(final) == 2 and set(final["epoch"]) == {2} and set(final["split"]) == {"valid"}
    run = work / "results/guidance/synthetic/L8/g0.01/seed0"
    assert sorted(p.name for p in run.iterdir()) == ["history.csv", "metrics.json", "recon.npz"]
