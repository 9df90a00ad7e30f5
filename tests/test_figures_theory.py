"""Figs. 2 and 7 plot the alignment measure that config names: the authors' plotted variant by default, Eq. 7's
ratio one key away; the y-axis says which."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from drawn import assert_curves

from lbr.config.load import load
from lbr.errors import LbrError
from lbr.figures.theory import fig2, fig7, fig8

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


def fig8_table() -> pd.DataFrame:
    """Two (D, K) x two lambda gradient-descent runs, the selected learning rate beside one that is not plotted,
    and two denoising runs (1 and 4 views) whose loss crosses below the optimum (their gap is drawn in absolute
    value); one supervised point sits exactly at the optimum (drawn at the floor 1e-18 of the log axis)."""
    steps = np.arange(0, 60, 10)
    rows = []
    for d, k in ((8, 2), (16, 4)):
        for lam in (0.0, 0.1):
            for lr, selected in ((0.05, True), (0.5, False)):
                optimum = 1.0 + d / 100 + lam
                gap = (0.5 + lam) * np.exp(-steps / (10 if selected else 3)) * (1 + k / 10)
                if (d, lam, selected) == (8, 0.1, True):
                    gap[-1] = 0.0
                rows.append(pd.DataFrame({"variant": "supervised", "D": d, "K": k, "lam": lam, "lr": lr,
                                          "selected": selected, "step": steps, "loss_gd": optimum + gap,
                                          "loss_closed_form": optimum, "min_gap": gap.min()}))  # fmt: skip
    for views in (1, 4):
        expected = 2.0 + 0.3 * np.exp(-steps / 20) * np.cos(steps / (5 * views))
        run = {"variant": "denoising", "D": 8, "K": 2, "lam": 0.0, "views": views, "sigma": 0.5, "selected": True}
        rows.append(pd.DataFrame({**run, "step": steps, "loss_gd": expected, "loss_closed_form": 2.0}))
    return pd.concat(rows, ignore_index=True).sample(frac=1, random_state=0)


def test_fig8_draws_each_selected_gap_and_the_denoising_runs():
    table = fig8_table()
    fig = fig8(table)
    axes = np.array(fig.axes).reshape(3, 2)  # rows: the two (D, K) in table order, then denoising; columns: lambda
    titled = {ax.get_title().split("\n")[0]: ax for ax in axes[:2].flat}
    for d, k in ((8, 2), (16, 4)):
        for lam in (0.0, 0.1):
            run = table[(table["variant"] == "supervised") & table["selected"] & (table["D"] == d) & (table["K"] == k)]
            run = run[run["lam"] == lam].sort_values("step")
            gap = np.maximum(run["loss_gd"] - run["loss_closed_form"], 1e-18)
            ax = titled.pop(f"D={d}, K={k}, $\\lambda$={lam:g}, lr 0.05")
            (line,) = ax.get_lines()
            np.testing.assert_allclose(line.get_xydata(), np.column_stack([run["step"], gap]), rtol=1e-12)
            assert ax.get_yscale() == "log" and ax.get_title().endswith(f"min gap {run['min_gap'].iloc[0]:.1e}")
    assert not titled
    den = table[table["variant"] == "denoising"]
    curves = [
        np.column_stack([part["step"], np.abs(part["loss_gd"] - part["loss_closed_form"])])
        for _, part in den.sort_values("step").groupby("views")
    ]
    assert_curves(axes[2, 0], curves, min_points=2)
    assert [t.get_text() for t in axes[2, 0].get_legend().get_texts()] == ["1 views", "4 views"]
    assert "0.5" in axes[2, 0].get_title() and not axes[2, 1].axison


def test_fig8_refuses_a_table_without_its_columns_or_rows():
    with pytest.raises(LbrError, match=r"^the Fig. 8 table lacks columns \['loss_closed_form'\]; rebuild it"):
        fig8(fig8_table().drop(columns="loss_closed_form"))
    with pytest.raises(LbrError, match=r"^the Fig. 8 table has no rows; [^.]*\.$"):
        fig8(fig8_table().iloc[:0])
