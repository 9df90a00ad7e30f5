"""The closed forms on a dataset with fewer images than pixels: closed_form.method auto picks, per dataset, the D x D
covariance where Theorem 3 reads the statistics (Fig. 7, the noise check) and the N x N Gram matrix where only the
alignment sweep does; an explicit gram that cannot serve stops the planning with one sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from test_directions import images

from lbr.config.load import load
from lbr.errors import LbrError
from lbr.theory.method import choose_method, covariance_consumers

from repo_copy import copy_workflow, snakemake

GRAM_FOR_FIG7 = (
    "closed_form.method is gram, but fig7 and noise_check read the statistics of small (standardize pixels) and "
    "solve Theorem 3, which needs the D x D covariance; set closed_form.method to auto (the covariance for the "
    "datasets that need it, the Gram matrix otherwise) or to covariance."
)


def config(method: str = "auto") -> dict:
    small = {"format": "npz", "train": "data/train.npz", "test": "data/test.npz"}
    section = {"datasets": ["small"]}
    noises = [{"noise": "gaussian", "sigma": 1.0}, {"noise": "mask", "ratio": 0.5, "patch": 2}]
    return {
        "custom_datasets": {"small": small},
        "closed_form": {"method": method, "device": "cpu"},
        "fig2": section | {"k_max": 64},
        "fig7": section | {"ratios": [0.0, 0.5], "patches": [2], "sigmas": [1.0], "k_min": 1},
        "noise_check": section | {"noises": noises},
        "figures": ["fig2", "fig7"],
    }  # fmt: skip


def test_auto_takes_the_covariance_when_n_reaches_d_or_theorem_3_needs_it():
    assert choose_method("auto", 40, 192) == "gram"
    assert choose_method("auto", 40, 192, need_covariance=True) == "covariance"
    assert choose_method("auto", 500, 192) == "covariance"
    assert choose_method("covariance", 40, 192) == "covariance" and choose_method("gram", 500, 192) == "gram"
    with pytest.raises(LbrError, match="closed_form.method is gram, but these statistics feed Theorem 3"):
        choose_method("gram", 40, 192, need_covariance=True)


def test_the_consumers_of_each_statistics_file():
    cfg = load(overrides=config(), checked=False)
    assert covariance_consumers(cfg, "small", "standardize") == ["fig7", "noise_check"]
    assert covariance_consumers(cfg, "small", "raw") == []  # Fig. 2 reads raw pixels: the Gram matrix serves
    with pytest.raises(LbrError) as err:
        covariance_consumers(load(overrides=config("gram"), checked=False), "small", "standardize")
    assert str(err.value) == GRAM_FOR_FIG7
    fig10 = load(overrides=config() | {"fig10": {"datasets": ["small"]}}, checked=False)  # its trainer's pixels
    assert covariance_consumers(fig10, "small", "standardize") == ["fig7", "noise_check", "fig10"]
    assert covariance_consumers(fig10, "small", "raw") == []


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = copy_workflow(tmp_path_factory.mktemp("small") / "repo")
    (repo / "data").mkdir()
    for split, n, seed in (("train", 40, 0), ("test", 12, 1)):  # 40 images of 8 x 8 x 3 = 192 pixels
        np.savez(repo / f"data/{split}.npz", x=images(n, seed=seed), y=np.arange(n) % 3)
    for name, method in (("auto", "auto"), ("gram", "gram")):
        (repo / f"{name}.yaml").write_text(yaml.safe_dump(config(method)))
    return repo


@pytest.mark.workflow
def test_an_explicit_gram_that_fig7_cannot_use_stops_the_plan(repo):
    result = snakemake(repo, "-n", "results/tables/noise_check.csv", "--configfile", "gram.yaml")
    assert result.returncode != 0 and GRAM_FOR_FIG7 in result.stdout
    # Fig. 2 on raw pixels alone can use the Gram route; its check on centred pixels (fig2.check_preprocessing)
    # reads the centred statistics Fig. 7 and the noise check share, and stops the plan the same way
    (repo / "raw_only.yaml").write_text(yaml.safe_dump({"fig2": {"check_preprocessing": None}}))
    raw = snakemake(repo, "-n", "results/tables/fig2.csv", "--configfile", "gram.yaml", "raw_only.yaml")
    assert raw.returncode == 0, raw.stdout[-3000:]
    both = snakemake(repo, "-n", "results/tables/fig2.csv", "--configfile", "gram.yaml")
    assert both.returncode != 0 and GRAM_FOR_FIG7 in both.stdout


@pytest.mark.workflow
@pytest.mark.slow
def test_noise_check_fig7_and_fig2_run_on_a_dataset_with_fewer_images_than_pixels(repo):
    targets = ["results/tables/noise_check.csv", "figures/fig7.pdf", "figures/fig2.pdf"]
    result = snakemake(repo, "-c2", *targets, "--configfile", "auto.yaml")
    assert result.returncode == 0, result.stdout[-4000:]
    logs = repo / "logs/alignment/small"
    chosen = {prep: (logs / f"moments-{prep}.log").read_text() for prep in ("standardize", "raw")}
    sizes = "statistics for N=40 images of D=192 pixels"
    assert f"covariance {sizes} (method auto: Theorem 3 needs it)" in chosen["standardize"]
    assert f"gram {sizes} (method auto: N < D)" in chosen["raw"]
    check = pd.read_csv(repo / "results/tables/noise_check.csv").set_index("noise")
    assert check.loc["gaussian", "verdict"] == "never" and check.loc["mask", "verdict"] == "sometimes"
    assert (check["rank"] == 39).all()  # centred pixels: N - 1 directions
    both = pd.read_csv(repo / "results/tables/fig2.csv")
    assert (both.loc[both["preprocessing"] == "standardize", "rank"] == 39).all()  # the scorecard's centred check
    fig2 = both[both["preprocessing"] == "raw"]
    assert (fig2["rank"] == 40).all() and (fig2["n_train"] == 40).all()  # raw pixels are not centred: rank N
    at_rank = fig2[fig2["K"] >= 40]
    assert np.allclose(at_rank["alignment"], 1.0) and fig2.loc[fig2["K"] == 39, "alignment"].iloc[0] < 1.0
