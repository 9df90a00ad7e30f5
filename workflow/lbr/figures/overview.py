"""Paper Fig. 1, the overview: the accuracy panel of Fig. 4, example images as in Fig. 9, and one Fig. 3
spectrum panel, stacked on one page."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lbr.errors import LbrError
from lbr.figures.accuracy import accuracy_panel
from lbr.figures.dynamics import DATASET_LABEL, run_title, select_run, spectrum_panel
from lbr.figures.images import show, tile
from lbr.figures.style import styled
from lbr.spectral.subspaces import Subspace


def top_rows(acc: pd.DataFrame, dataset: str, arch: str, aug: bool) -> pd.DataFrame:
    """The rows of the Fig. 4 table that Fig. 1 (top) plots: one dataset, architecture and augmentation."""
    rows = acc[(acc["dataset"] == dataset) & (acc["arch"] == arch)]
    if "aug" in rows:
        rows = rows[rows["aug"].astype(bool) == bool(aug)]
    if rows.empty:
        raise LbrError(f"results/tables/fig4.csv has no rows for {dataset} {arch} aug={aug}; run its training sweep.")
    return rows


@styled
def fig1(acc: pd.DataFrame, top: dict, images: np.ndarray, subs: list[Subspace], dyn: pd.DataFrame, run: dict):
    """Accuracy top vs bottom subspace; example images; per-direction learning over epochs."""
    fig = plt.figure(figsize=(6.4, 11))
    grid = fig.add_gridspec(3, 1, height_ratios=[1.0, 0.8, 1.1], hspace=0.45)
    name = DATASET_LABEL.get(top["dataset"], top["dataset"])
    title = f"{name} {top['arch']}: test accuracy from the top vs the bottom subspace"
    accuracy_panel(fig.add_subplot(grid[0]), top_rows(acc, top["dataset"], top["arch"], top["aug"]), title, legend=True)
    ax = fig.add_subplot(grid[1])
    show(ax, tile(images, 1 + len(subs)))
    ax.set_title("original  |  " + "  |  ".join(f"{s.side} {100 * s.variance_kept:.0f}% of the variance" for s in subs))
    ax.axis("off")
    ax = fig.add_subplot(grid[2])
    title = "Reconstruction energy per eigen-direction over epochs: " + run_title(
        run["dataset"], run["arch"], run["depth"]
    )
    handles = spectrum_panel(
        ax, select_run(dyn, run["dataset"], run["arch"], run["depth"], "results/tables/fig1_dynamics.csv"), title
    )
    ax.legend(handles=handles, fontsize=6, ncol=2, loc="lower right")
    return fig
