"""The Fig. 4 drawing: one panel per dataset and arch, red top / blue bottom, solid aug / dashed no aug."""

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lbr.errors import LbrError
from lbr.figures.accuracy import accuracy_vs_variance
from lbr.tables.accuracy import accuracy_curve, level_gaps


def _table():
    rows = []
    for dataset, n_classes in (("a", 10), ("b", 100)):
        for arch in ("resnet9", "mlp"):
            for aug in (0, 1):
                for i, v in enumerate((0.1, 0.5, 0.9)):
                    for seed in (0, 1):
                        rows.append(
                            dict(
                                dataset=dataset,
                                arch=arch,
                                side="top",
                                level=f"g{i}",
                                variance_kept=v,
                                aug=aug,
                                seed=seed,
                                test_acc=0.2 + 0.1 * v + 0.01 * seed,
                                n_classes=n_classes,
                            )
                        )
                        rows.append(
                            dict(
                                dataset=dataset,
                                arch=arch,
                                side="bottom",
                                level=f"g{i}",
                                variance_kept=1 - v,
                                aug=aug,
                                seed=seed,
                                test_acc=0.6,
                                n_classes=n_classes,
                            )
                        )
    return pd.DataFrame(rows)


def test_layout_colours_and_styles():
    fig = accuracy_vs_variance(_table())
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_title() for ax in axes[0]] == ["a ResNet9", "b ResNet9"]
    assert [ax.get_title() for ax in axes[1]] == ["a MLP", "b MLP"]
    lines = [ln for ln in axes[0, 0].get_lines() if ln.get_marker() == "o"]
    assert len(lines) == 4
    for ln in lines:
        side, aug = ln.get_label().split(", ")
        assert mcolors.to_hex(ln.get_color()) == {"top": "#d62728", "bottom": "#1f77b4"}[side]
        assert ln.get_linestyle() == ("-" if aug == "aug" else "--")
        assert list(ln.get_xdata()) == sorted(ln.get_xdata())
    top = next(ln for ln in lines if ln.get_label() == "top, aug")
    np.testing.assert_allclose(top.get_ydata(), 100 * (0.205 + 0.1 * np.array([0.1, 0.5, 0.9])))
    chance = [ln for ln in axes[0, 1].get_lines() if ln.get_linestyle() == ":"]
    assert chance and chance[0].get_ydata()[0] == pytest.approx(1.0)


def test_level_gaps_compare_at_equal_variance_or_a_fortiori():
    """By hand: top accuracies 20 + 10 v (+1 for seed 1) at v = 0.1, 0.5, 0.9; bottom 60 at 1 - v. Bottom levels 0.5 and
    0.9 lie on the top curve's range (interpolated at equal variance); none lies below it here. A bottom level at
    5% of the variance, below the top's lowest level (10%), is compared with that level (a fortiori)."""
    table = _table()
    one = table[(table["dataset"] == "a") & (table["arch"] == "mlp") & (table["aug"] == 1)]
    gaps = level_gaps(one)
    expected = {(s, x): 60.0 - (20 + 10 * x / 100 + s) for s in (0, 1) for x in (10.0, 50.0, 90.0)}
    assert len(gaps) == 6 and set(gaps["compared"]) == {"equal variance"}
    for _, g in gaps.iterrows():
        assert g["gap"] == pytest.approx(expected[(g["seed"], round(g["bottom_x"], 6))])
    low = pd.concat([one, one[one["side"] == "bottom"].head(2).assign(level="low", variance_kept=0.05)])
    fortiori = level_gaps(low).query("compared == 'a fortiori'")
    assert len(fortiori) == 2 and (fortiori["top_x"] == 10.0).all()
    assert sorted(fortiori["gap"]) == pytest.approx([60.0 - 22.0, 60.0 - 21.0])


def test_curve_is_the_seed_mean_with_its_t_interval():
    table = _table()
    top = table[(table["dataset"] == "a") & (table["arch"] == "mlp") & (table["aug"] == 1) & (table["side"] == "top")]
    curve = accuracy_curve(top)
    acc = 100 * top[top["level"] == "g1"]["test_acc"].to_numpy()
    half = stats.t.ppf(0.975, 1) * acc.std(ddof=1) / np.sqrt(2)
    row = curve.loc["g1"]
    assert (row["acc"], row["lo"], row["hi"], row["n"]) == pytest.approx(
        (acc.mean(), acc.mean() - half, acc.mean() + half, 2)
    )


def test_substituted_levels_are_drawn_hollow():
    table = _table().assign(substituted=lambda t: (t["side"] == "bottom") & (t["level"] == "g0"))
    fig = accuracy_vs_variance(table)
    hollow = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("substituted")]
    assert hollow and all(ln.get_markerfacecolor() == "white" for ln in hollow)
    np.testing.assert_allclose(hollow[0].get_xdata(), [90.0])


def test_empty_table_is_refused():
    with pytest.raises(LbrError, match="no rows"):
        accuracy_vs_variance(pd.DataFrame(columns=["dataset", "arch"]))
