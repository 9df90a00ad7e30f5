"""The Fig. 4 drawing: one panel per dataset and arch, red top / blue bottom, solid aug / dashed no aug."""

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

from lbr.errors import LbrError
from lbr.figures.accuracy import accuracy_vs_variance
from lbr.tables.accuracy import gap_summary


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


def test_gap_summary_sign():
    gaps = gap_summary(_table())
    assert len(gaps) == 8 and (gaps["bottom_minus_top"] > 0).all()


def test_empty_table_is_refused():
    with pytest.raises(LbrError, match="no rows"):
        accuracy_vs_variance(pd.DataFrame(columns=["dataset", "arch"]))
