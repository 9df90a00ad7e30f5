"""Accuracy against the share of variance kept, top (red) vs bottom (blue) subspace: paper Figs. 1-top and 4.

Both figures draw the seed mean of each level with its 95% t interval over seeds, from the tidy table of
results/tables/fig4.csv (columns dataset, arch, side, variance_kept, aug, seed, test_acc, ...); `accuracy_panel`
draws one dataset x arch on a given axis, so Fig. 1 can reuse it on a subset of the table.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from lbr.errors import LbrError
from lbr.figures.style import styled
from lbr.tables.accuracy import accuracy_curve

SIDE_COLORS = {"top": "#d62728", "bottom": "#1f77b4"}
AUG_STYLES = {1: "-", 0: "--"}
ARCH_NAMES = {"resnet9": "ResNet9", "mlp": "MLP"}


def accuracy_panel(ax, rows: pd.DataFrame, title: str | None = None, legend: bool = False) -> None:
    """One panel: a line per (side, aug) through the seed means, their 95% t interval over seeds shaded, levels that
    were substituted by the nearest one that exists drawn hollow, and chance as a grey dotted line."""
    for (side, aug), part in rows.groupby(["side", "aug"], sort=True):
        c = accuracy_curve(part)
        label = f"{side}, {'aug' if aug else 'no aug'}"
        subs = c[c["substituted"]]
        if len(subs):
            ax.plot(subs["x"], subs["acc"], "o", ms=7, mfc="white", mec=SIDE_COLORS.get(side, "k"), zorder=3,
                    label="substituted level (nearest that exists)")  # fmt: skip
        ax.plot(
            c["x"],
            c["acc"],
            AUG_STYLES.get(int(aug), "-"),
            color=SIDE_COLORS.get(side, "k"),
            marker="o",
            markersize=3,
            linewidth=1.3,
            label=label,
        )
        if (c["hi"] > c["lo"]).any():
            ax.fill_between(c["x"], c["lo"], c["hi"], color=SIDE_COLORS.get(side, "k"), alpha=0.15, linewidth=0)
    if "n_classes" in rows and rows["n_classes"].notna().any():
        ax.axhline(100.0 / float(rows["n_classes"].dropna().iloc[0]), color="0.6", linestyle=":", linewidth=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel("variance kept (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3, linewidth=0.5)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(frameon=False, loc="best")


@styled
def accuracy_vs_variance(table: pd.DataFrame, datasets: list[str] | None = None, archs: list[str] | None = None):
    """Paper Fig. 4: one column per dataset, one row per architecture."""
    if table.empty:
        raise LbrError("the accuracy table has no rows; run the training jobs first.")
    datasets = datasets or list(dict.fromkeys(table["dataset"]))
    archs = archs or [a for a in ("resnet9", "mlp") if a in set(table["arch"])] + sorted(
        set(table["arch"]) - {"resnet9", "mlp"}
    )
    fig, axes = plt.subplots(
        len(archs), len(datasets), figsize=(2.6 * len(datasets), 2.3 * len(archs)), squeeze=False, sharex=True
    )
    for i, arch in enumerate(archs):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            rows = table[(table["arch"] == arch) & (table["dataset"] == dataset)]
            if rows.empty:
                ax.set_axis_off()
                continue
            accuracy_panel(ax, rows, f"{dataset} {ARCH_NAMES.get(arch, arch)}")
            if j:
                ax.set_ylabel("")
            if i < len(archs) - 1:
                ax.set_xlabel("")
    fig.tight_layout()
    handles = {}
    for ax in fig.axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    order = sorted(handles, key=lambda k: (k.split(",")[0] != "top", "no aug" in k))
    fig.legend(
        [handles[k] for k in order],
        order,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(order),
        frameon=False,
    )
    return fig
