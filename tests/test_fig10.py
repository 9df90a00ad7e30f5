"""Fig. 10: denoising autoencoders through the Fig. 3 trainer (noise coordinates, exact resume, settings, config
checks, cost) and a tiny end-to-end build through Snakemake on built-in data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from lbr.config.load import load
from lbr.config.settings import DenoisingAESettings, DynamicsSettings
from lbr.cost.jobs import job_cost
from lbr.cost.throughput import ESTIMATES
from lbr.errors import LbrError
from lbr.spectral.pixels import standardization
from lbr.tables.dynamics import load_energies
from lbr.theory.alignment import compute_moments
from lbr.training.dynamics import run

from conftest import job_settings
from repo_copy import copy_workflow

TESTS = Path(__file__).resolve().parent


def images(n, seed, side=8):
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side, 3), dtype=np.uint8)


def test_the_noise_frame_is_the_closed_forms_standardization():
    """The trainer draws its noise around the mean image and at the global std that the `standardize` statistics of
    the closed forms use (lbr.theory.alignment.compute_moments, an independent pass in torch float64)."""
    x = images(300, 0)
    mean, std = standardization(x, chunk_rows=64)
    moments = compute_moments(x, np.arange(300) % 3, 3, "standardize", chunk_rows=100)
    assert std == pytest.approx(moments.scale, rel=1e-12)
    xs = x.reshape(300, -1) / 255.0
    np.testing.assert_allclose(mean.reshape(-1), xs.mean(0), rtol=1e-12)
    z = (xs - mean.reshape(-1)) / std  # the moments are those of z: X^T X of unit-global-std pixels
    np.testing.assert_allclose(moments.xtx.numpy(), z.T @ z, rtol=1e-9, atol=1e-9)


def settings(noise, seed="0", **section):
    wildcards = {"arch": "dcae", "depth": "3", "noise": noise, "seed": seed}
    section = {"latent": 8, "epochs": 4, "batch_size": 16, "measure_batch": 40, "device": "cpu"} | section
    return job_settings(DenoisingAESettings, wildcards, **section)


DATA = {"x_train": images(96, 0), "x_test": images(40, 1)}
LABELS = {"y_train": np.arange(96) % 3, "y_test": np.arange(40) % 3, "n_classes": 3}


def train(s, out, **kw):
    return run(DATA["x_train"], DATA["x_test"], s, torch.device("cpu"), out / "energies.npz", out / "history.csv",
               **LABELS, **kw)  # fmt: skip


def test_a_denoising_run_stopped_and_resumed_gives_the_same_history(tmp_path):
    s = settings("mask-0.5-patch2")
    full = train(s, tmp_path / "a")
    assert train(s, tmp_path / "b", stop_after=2) is None
    assert (tmp_path / "b/checkpoint.pt").exists() and (tmp_path / "b/probe.partial.npz").exists()
    train(s, tmp_path / "b")
    resumed = load_energies(tmp_path / "b/energies.npz")
    for key in ("energy", "error", "probe_acc", "probe_epochs"):
        np.testing.assert_array_equal(resumed[key], full[key])
    history = [pd.read_csv(tmp_path / f"{r}/history.csv").drop(columns="seconds") for r in "ab"]
    pd.testing.assert_frame_equal(*history)
    assert not any(
        (tmp_path / "b" / f).exists() for f in ("checkpoint.pt", "energies.partial.npz", "probe.partial.npz")
    )
    assert str(resumed["noise"]) == "mask-0.5-patch2" and int(resumed["n_features"]) == 8  # 8 x 1 x 1 code
    assert list(resumed["probe_epochs"]) == [0, 1, 2, 3] and 0 <= resumed["probe_acc"].min() <= 1
    other = train(settings("mask-0.5-patch2", seed="1"), tmp_path / "c")
    assert not np.array_equal(other["energy"], full["energy"])  # the seed reaches the noise, the order, the weights


def test_without_noise_the_run_is_the_fig3_run_and_a_noise_changes_it(tmp_path):
    """No noise draws nothing: the energies equal those of the Fig. 3 job with the same seed (one trainer)."""
    fig3 = job_settings(DynamicsSettings, {"arch": "dcae", "depth": "3"}, latent=8, epochs=4, batch_size=16,
                        measure_batch=40, device="cpu", seed=1)  # fmt: skip
    plain = run(DATA["x_train"], DATA["x_test"], fig3, torch.device("cpu"), tmp_path / "f/e.npz", tmp_path / "f/h.csv")
    clean = train(settings("none", seed="1"), tmp_path / "n")
    np.testing.assert_array_equal(clean["energy"], plain["energy"])
    noisy = train(settings("gaussian-0.5", seed="1"), tmp_path / "g")
    assert not np.array_equal(noisy["energy"], plain["energy"])
    assert float(noisy["noise_std"]) == pytest.approx(standardization(DATA["x_train"])[1])


def test_a_pca_mask_run_draws_in_the_principal_components_of_the_train_pixels(tmp_path):
    """The components a pca_mask run draws in are those of the closed forms' standardized statistics (shares =
    eigenvalues of their X^T X over the trace), and the run records its noise and differs from a clean run."""
    from lbr.theory.pca_mask import Components

    components = Components.of_images(DATA["x_train"], dtype=torch.float64)
    xtx = compute_moments(DATA["x_train"], np.arange(96) % 3, 3, "standardize", "covariance").xtx.numpy()
    eig = np.linalg.eigvalsh(xtx)[::-1]
    np.testing.assert_allclose(components.shares.numpy(), np.clip(eig, 0, None) / eig.sum(), atol=1e-12)
    top = components.vectors[:, 0].numpy()
    assert np.linalg.norm(xtx @ top) == pytest.approx(eig[0], rel=1e-9)
    clean = train(settings("none", seed="1"), tmp_path / "n")
    pca = train(settings("pcamask-0.5-variance", seed="1"), tmp_path / "p")
    assert str(pca["noise"]) == "pcamask-0.5-variance" and not np.array_equal(pca["energy"], clean["energy"])


def test_settings_come_from_wildcards_fig10_and_its_dynamics_overrides():
    config = load(overrides={"fig10": {"epochs": [-1, 2], "dynamics": {"epochs": 5, "train_subset": 500}}})
    s = DenoisingAESettings.from_config(config, {"arch": "mlpae", "depth": "3", "noise": "mask-0.25-patch4", "seed": 1})
    assert s.noise == {"noise": "mask", "ratio": 0.25, "patch": 4} and s.seed == 1
    assert (s.epochs, s.train_subset, s.latent) == (5, 500, 512) and s.probe_epochs == (-1, 2, 4)
    assert s.probe_ridge == 0.01 and s.recipe()["noise"] == s.noise
    default = DenoisingAESettings.from_config(load(), {"arch": "dcae", "depth": "3", "noise": "none", "seed": 0})
    assert default.probe_epochs == (0, 1, 2, 3, 4, 5, 8, 12, 20, 30, 49) and default.noise == {"noise": "none"}
    short = load(overrides={"fig10": {"dynamics": {"epochs": 10}}})  # fig3.epochs below the epochs trained
    wildcards = {"arch": "dcae", "depth": "3", "noise": "none", "seed": 0}
    assert DenoisingAESettings.from_config(short, wildcards).probe_epochs == (0, 1, 2, 3, 4, 5, 8, 9)


@pytest.mark.parametrize(
    "fig10, message",
    [
        ({"noises": [{"noise": "gaussian", "sigma": 1.0}, {"noise": "mask", "ratio": 0.5}]}, r"lacks \{noise: none\}"),
        ({"noises": [{"noise": "none"}, {"noise": "mask", "ratio": 0.5, "patch": 3}]},
         r'^fig10\.noises\[1\] \{"noise": "mask", "ratio": 0\.5, "patch": 3\}: patch 3 does not divide the 32 x 32 '
         r"images of cifar10 \(fig10\.datasets\)"),
        ({"noises": [{"noise": "none"}, {"noise": "gaussian", "sigma": 0.5}, {"noise": "gaussian", "sigma": 0.5}]},
         r"fig10\.noises\[2\] .* repeats fig10\.noises\[1\]"),
        ({"noises": [{"noise": "none"}, {"noise": "mask", "ratio": 0.0, "patch": 2}]}, r"leaves the input clean"),
        ({"seeds": [0, 0]}, r"fig10\.seeds lists a seed twice"),
        ({"epochs": [3, 50]}, r"^fig10\.epochs \[50\] are not below dynamics\.epochs \(50\)"),
        ({"epochs": [3, 8], "dynamics": {"epochs": 5}}, r"fig10\.epochs \[8\] are not below fig10\.dynamics\.epochs"),
        ({"dynamics": {"epoch": 5}}, r"^fig10\.dynamics\.epoch is not a setting; did you mean fig10\.dynamics\.epochs"),
        ({"dynamics": {"lr": -1}}, r"^fig10\.dynamics\.lr is -1, but must be"),
        ({"dynamics": {"jobs_per_gpu": 4}}, r"set it in dynamics"),
        ({"datasets": ["cifar11"]}, r"^fig10\.datasets names unknown dataset 'cifar11'"),
        ({"runs": [{"arch": "unet", "depth": 2}]}, r"^fig10\.runs\[0\]\.arch names unknown model 'unet'"),
    ],
)  # fmt: skip
def test_a_bad_fig10_setting_gets_one_sentence(fig10, message):
    with pytest.raises(LbrError, match=message):
        load(overrides={"fig10": fig10})


def test_a_denoising_job_costs_its_fig3_run_plus_the_probes():
    config = load()
    wc = {"dataset": "cifar10", "arch": "dcae", "depth": "3", "noise": "mask-0.5-patch1", "seed": "0"}
    fig3 = job_cost("train_dynamics", config, wc, ESTIMATES).compute
    fig10 = job_cost("train_denoising", config, wc, ESTIMATES).compute
    assert fig3 < fig10 < 1.5 * fig3
    fewer = job_cost("train_denoising", load(overrides={"fig10": {"epochs": [0]}}), wc, ESTIMATES).compute
    assert fewer < fig10
    half = load(overrides={"fig10": {"dynamics": {"epochs": 25}, "epochs": [0]}})
    assert job_cost("train_denoising", half, wc, ESTIMATES).compute < 0.6 * fewer


# ---- the workflow: a tiny Fig. 10 on built-in data, a paper autoencoder and one of the user's --------------------

TINY = {
    "figures": ["fig10"],
    "datasets": {"synthetic": {"n_train": 160, "n_test": 60, "height": 8, "width": 8, "evidence": 0.3}},
    "models": {"tiny_ae": {"factory": "user_models:TinyAutoencoder", "kwargs": {"hidden": 16}}},
    "closed_form": {"device": "cpu"},
    "noise_check": {"datasets": ["digits"], "k_max": 4},
    "dynamics": {"latent": 8, "epochs": 2, "batch_size": 32, "lr": 0.003, "measure_images": 100, "device": "cpu"},
    "fig3": {"epochs": [0, 1], "bands": 4},
    "fig10": {"datasets": ["synthetic"], "runs": [{"arch": "dcae", "depth": 3}, {"arch": "tiny_ae", "depth": 2}],
              "noises": [{"noise": "none"}, {"noise": "mask", "ratio": 0.5, "patch": 2}], "seeds": [0],
              "epochs": [-1, 0]},
}  # fmt: skip


@pytest.mark.workflow
@pytest.mark.slow
def test_fig10_end_to_end_on_builtin_data(tmp_path):
    repo = copy_workflow(tmp_path / "repo")
    (repo / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    env = {**os.environ, "PYTHONPATH": f"{repo / 'workflow'}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1"}
    args = [
        "figures/fig10.pdf",
        "results/tables/paper_check.csv",
        "-c",
        "2",
        "--configfile",
        "config.yaml",
        "tiny.yaml",
    ]
    args += ["--set-threads", "train_denoising=1", "fig10_theory=1", "alignment_moments=1"]
    done = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=repo, env=env, text=True, timeout=600,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    table = pd.read_csv(repo / "results/tables/fig10.csv")
    for col in ("dataset", "arch", "depth", "noise", "ratio", "patch", "sigma", "seed", "epoch", "probe_acc",
                "latent", "n_train", "trained_epochs", "code_size", "K", "theory_impact_pct"):  # fmt: skip
        assert col in table, col
    assert len(table) == 2 * 2 * 3 and set(table["epoch"]) == {-1, 0, 1}  # the last epoch is always probed
    assert table["probe_acc"].between(0, 1).all() and set(table["arch"]) == {"dcae", "tiny_ae"}
    codes = table.drop_duplicates("arch").set_index("arch")["code_size"]
    assert codes["dcae"] == 8 and codes["tiny_ae"] == 8  # 8 x 1 x 1 and 8 values: K = 8 of rank 192
    theory = table.drop_duplicates("noise_label").set_index("noise_label")["theory_impact_pct"]
    assert theory["none"] == 0 and theory["mask-0.5-patch2"] != 0
    bands = pd.read_csv(repo / "results/tables/fig10_bands.csv")
    assert set(bands["epoch"]) == {-1, 0, 1} and "capture_epoch" in bands
    card = pd.read_csv(repo / "results/tables/paper_check.csv").set_index("id")
    mask = card.loc["fig10-mask-synthetic-dcae3-mask-0.5-patch2"]
    assert mask["status"] == "inconclusive" and mask["df"] == "no interval"  # one seed: no interval
    assert (repo / "figures/fig10.png").stat().st_size > 10_000
    assert not list((repo / "results/denoising").rglob("checkpoint.pt"))
