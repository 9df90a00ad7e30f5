"""Figs. 2, 7, 8, 11 and the noise check through Snakemake on built-in data, and the `lbr noise-check` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from lbr import cli
from lbr.data import save_split

from repo_copy import snakemake as run_snakemake
from theory_data import images

pytestmark = pytest.mark.workflow

COLUMNS = {
    "fig2": ["dataset", "K", "K_frac", "alignment", "alignment_code"],
    "fig7": ["dataset", "noise", "ratio", "patch", "sigma", "K", "alignment", "impact_pct"],
    "fig8": ["D", "K", "lam", "step", "loss_gd", "loss_closed_form"],
    "noise_check": ["dataset", "noise", "ratio", "patch", "sigma", "max_angle_deg", "verdict"],
    "fig11": ["dataset", "objective", "augmentation", "noise", "K", "alignment", "alignment_low", "resolved", "role"],
}
SMALL = {
    "datasets": {"synthetic": {"n_train": 300, "n_test": 20, "height": 8, "width": 8}},
    "fig2": {"datasets": ["synthetic", "digits"], "k_max": 32},
    "fig7": {
        "datasets": ["synthetic"],
        "ratios": [0.0, 0.5],
        "patches": [1, 4],
        "sigmas": [1.0],
        "k_min": 2,
        "pca_ratios": [0.5],
    },
    "fig11": {
        "datasets": ["synthetic"],
        "mask_ratios": [0.5],
        "mask_patches": [2],
        "pca_ratios": [0.5],
        "crop_pads": [1],
        "small_k": 8,
    },
    "fig8": {
        "dims": [8],
        "latents": [2],
        "lams": [0.0, 1.0],
        "lrs": [0.1],
        "steps": 200,
        "select_last": 20,
        "record_every": 20,
        "denoising": {"D": 8, "K": 2, "views": [1, 2], "steps": 100, "record_every": 20},
    },
    "noise_check": {
        "datasets": ["digits"],
        "k_max": 8,
        "noises": [
            {"noise": "gaussian", "sigma": 1.0},
            {"noise": "mask", "ratio": 0.5, "patch": 2},
            {"noise": "pca_mask", "ratio": 0.5, "share": "components"},
        ],
    },
}


def test_paper_config_plans_every_theory_table(workflow_dir):
    targets = [f"results/tables/{t}.csv" for t in COLUMNS]
    res = run_snakemake(workflow_dir, "-n", *targets, "--quiet", "rules")
    assert res.returncode == 0, res.stdout[-2000:]
    out = res.stdout
    for rule in (
        "alignment_moments",
        "fig2_dataset",
        "fig7_dataset",
        "noise_check_dataset",
        "fig8_supervised",
        "fig8_denoising",
        "fig11_dataset",
    ):
        assert rule in out


def test_small_run_builds_tables_and_figures(workflow_dir):
    (workflow_dir / "small.yaml").write_text(yaml.safe_dump(SMALL))
    targets = ["figures/fig2.pdf", "figures/fig7.pdf", "figures/fig8.pdf", "figures/fig11.pdf"]
    targets += ["results/tables/noise_check.csv"]
    res = run_snakemake(workflow_dir, "--configfile", "small.yaml", "-c2", *targets)
    assert res.returncode == 0, res.stdout[-3000:]
    tables = {t: pd.read_csv(workflow_dir / "results" / "tables" / f"{t}.csv") for t in COLUMNS}
    for name, cols in COLUMNS.items():
        assert list(tables[name].columns[: len(cols)]) == cols or set(cols) <= set(tables[name].columns)
    fig2 = tables["fig2"]
    assert set(fig2["dataset"]) == {"synthetic", "digits"} and len(fig2) == 2 * (192 + 64)  # raw and centred pixels
    assert set(fig2["preprocessing"]) == {"raw", "standardize"}
    assert fig2.groupby("dataset")["alignment"].max().round(12).eq(1).all()
    fig7 = tables["fig7"]
    assert (fig7.loc[fig7["noise"] == "gaussian", "impact_pct"] == 0).all()
    assert fig7.loc[(fig7["noise"] == "mask") & (fig7["ratio"] == 0.5), "impact_pct"].abs().max() > 0.1
    assert fig7.loc[fig7["noise"] == "pca_mask", "share"].eq("variance").all()
    checks = tables["noise_check"].set_index("noise")["verdict"].to_dict()
    assert checks == {"gaussian": "never", "mask": "sometimes", "pca_mask": "never"}  # share components keeps PCA
    fig11 = tables["fig11"]
    assert set(fig11["role"].fillna("")) == {"", "eq7", "best_pixel_mask", "best_pca_mask", "crop_flip"}
    assert len(fig11) == 192 * (2 * 5 - 1)  # none, gaussian, one pixel mask, one PCA mask, crop/flip; no JE for none
    fig8 = tables["fig8"]
    assert {"supervised", "denoising"} == set(fig8["variant"])
    for name in ("fig2", "fig7", "fig8", "fig11"):
        assert (workflow_dir / "figures" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    again = run_snakemake(workflow_dir, "--configfile", "small.yaml", "-n", *targets)
    assert "Nothing to be done" in again.stdout


def test_bad_theory_config_fails_with_one_sentence(workflow_dir):
    (workflow_dir / "bad.yaml").write_text(yaml.safe_dump({"fig8": {"dims": [4], "latents": [8]}}))
    res = run_snakemake(workflow_dir, "--configfile", "bad.yaml", "-n", "results/tables/fig8.csv")
    assert res.returncode != 0 and "K must be <= D" in res.stdout


def test_noise_check_command(tmp_path, capsys):
    x, y = images(n=200, h=4, w=4, c=3)
    data = tmp_path / "train.npz"
    save_split(data, x, y, ["a", "b", "c"])
    angles = tmp_path / "angles.csv"
    rc = cli.main(
        [
            "noise-check",
            "--dataset",
            "toy",
            "--data",
            str(data),
            "--noise",
            "gaussian",
            "--sigma",
            "2",
            "--angles-csv",
            str(angles),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "verdict          never" in out
    assert len(pd.read_csv(angles)) == 48
    rc = cli.main(
        ["noise-check", "--dataset", "toy", "--data", str(data), "--noise", "mask", "--ratio", "0.5", "--patch", "2"]
    )
    assert rc == 0 and "verdict          sometimes" in capsys.readouterr().out
    rc = cli.main(
        ["noise-check", "--dataset", "toy", "--data", str(data), "--noise", "mask", "--ratio", "0.5", "--patch", "3"]
    )
    assert rc == 1 and "does not divide" in capsys.readouterr().err
    for share, verdict in (("components", "never"), ("variance", "sometimes")):
        args = ["--noise", "pca_mask", "--ratio", "0.9", "--share", share]
        rc = cli.main(["noise-check", "--dataset", "toy", "--data", str(data), *args])
        assert rc == 0 and f"verdict          {verdict}" in capsys.readouterr().out
    rc = cli.main(["noise-check", "--dataset", "missing", "--data", str(tmp_path / "nope.npz")])
    assert rc == 1 and "snakemake" in capsys.readouterr().err
    assert np.isfinite(pd.read_csv(angles)["bound_deg"]).all()
