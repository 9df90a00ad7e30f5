"""Figs. 2 and 7 plot the alignment measure that config names: the authors' plotted variant by default, Eq. 7's
ratio one key away; the y-axis says which."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lbr.config.load import load
from lbr.errors import LbrError
from lbr.figures.theory import fig2, fig7

D = 16


def fig2_table() -> pd.DataFrame:
    """Two datasets whose paper and code curves differ everywhere but at full K."""
    k = np.arange(1, D + 1)
    return pd.concat(
        [
            pd.DataFrame(
                {"dataset": name, "K": k, "K_frac": k / D, "alignment": (k / D) ** p, "alignment_code": 100 * (k / D)}
            )
            for name, p in (("a", 2.0), ("b", 3.0))
        ]
    )


def fig7_table() -> pd.DataFrame:
    """One dataset: masking (two patches, two ratios) and one Gaussian std, impacts that differ by measure."""
    rows = []
    k = np.arange(1, D + 1)
    for noise, patch, ratio, sigma in [("mask", 1, 0.5, None), ("mask", 2, 0.5, None), ("gaussian", None, None, 1.0)]:
        for r in (0.0, ratio) if noise == "mask" else (None,):
            scale = 0.0 if r == 0.0 or noise == "gaussian" else 1.0
            rows.append(
                pd.DataFrame(
                    {
                        "dataset": "a",
                        "noise": noise,
                        "ratio": r,
                        "patch": patch,
                        "sigma": sigma,
                        "K": k,
                        "alignment": k / D,
                        "impact_pct": scale * -k,
                        "impact_pct_code": scale * 10.0 * np.sin(k),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_published_variants_are_the_defaults():
    config = load()
    assert (config["fig2"]["measure"], config["fig2"]["preprocessing"]) == ("code", "raw")
    assert (config["fig7"]["measure"], config["fig7"]["preprocessing"]) == ("code", "standardize")


@pytest.mark.parametrize("measure, column", [("code", "alignment_code"), ("paper", "alignment")])
def test_fig2_plots_the_measure_config_names(measure, column):
    table = fig2_table()
    fig = fig2(table, measure=measure, k_max=8)
    left, right = fig.axes[:2]
    for line, (name, part) in zip(left.lines, table.groupby("dataset", sort=False)):
        assert line.get_label() == name
        np.testing.assert_array_equal(line.get_ydata(), part.loc[part["K"] <= 8, column])
    for line, (_, part) in zip(right.lines, table.groupby("dataset", sort=False)):
        np.testing.assert_array_equal(line.get_xdata(), 100 * part["K_frac"])
        np.testing.assert_array_equal(line.get_ydata(), part[column])
    label = left.get_ylabel()
    assert ("authors'" in label and "(%)" in label) if measure == "code" else ("Eq. 7" in label and "%" not in label)


@pytest.mark.parametrize("measure, column", [("code", "impact_pct_code"), ("paper", "impact_pct")])
def test_fig7_plots_the_measure_config_names(measure, column):
    table = fig7_table()
    fig = fig7(table, measure=measure, k_min=3)
    panels = [("mask", 1), ("mask", 2), ("gaussian", None)]
    for ax, (noise, patch) in zip(fig.axes, panels):
        sel = table[(table["noise"] == noise) & (table["K"] >= 3)]
        if patch is not None:
            sel = sel[sel["patch"] == patch]
        curves = [g[column].to_numpy() for _, g in sel.groupby(["ratio", "sigma"], dropna=False, sort=True)]
        plotted = [line.get_ydata() for line in ax.lines if len(line.get_xdata()) > 2]  # not the zero line
        assert len(plotted) == len(curves)
        for got, want in zip(plotted, curves):
            np.testing.assert_array_equal(got, want)
    tag = "authors'" if measure == "code" else "Eq. 7"
    assert tag in fig.axes[0].get_ylabel()


def test_an_unknown_measure_is_one_clear_sentence():
    with pytest.raises(LbrError, match="fig2/fig7.measure must be one of"):
        fig2(fig2_table(), measure="sqrt")
