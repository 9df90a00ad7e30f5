"""Learning-dynamics figures: paper Fig. 3 (energy per eigen-direction over epochs, plus our page of learning
time per band) and the spectrum panel Fig. 1 reuses, drawn from results/tables/fig3.csv and fig3_bands.csv."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lbr.errors import LbrError
from lbr.figures.style import styled
from lbr.tables.concat import require_rows

ARCH_LABEL = {"dcae": "DC", "mlpae": "MLP"}
DIRECTIONS, BANDS = "results/tables/fig3.csv", "results/tables/fig3_bands.csv"
BAND_COLUMNS = "dataset arch depth epoch band band_eigenvalue captured threshold capture_epoch".split()
DATASET_LABEL = {"cifar10": "CIFAR", "cifar100": "CIFAR100", "tinyimagenet": "TinyImagenet", "imagenette": "Imagenette"}


def run_title(dataset: str, arch: str, depth: int) -> str:
    """The paper's panel names, e.g. CIFAR-DC-depth3."""
    return f"{DATASET_LABEL.get(dataset, dataset)}-{ARCH_LABEL.get(arch, arch)}-depth{depth}"


def select_run(df: pd.DataFrame, dataset: str, arch: str, depth: int, table: str = "the table") -> pd.DataFrame:
    """The rows of one run; `table` names the table in the sentence that refuses a run it lacks."""
    sub = df[(df["dataset"] == dataset) & (df["arch"] == arch) & (df["depth"] == int(depth))]
    if sub.empty:
        raise LbrError(f"{table} has no rows for {dataset} {arch} depth {depth}; rebuild it.")
    return sub


def epoch_colors(n: int) -> list:
    """The authors' colours: coolwarm(1 - t), t = linspace(0.1, 0.9): first epoch red, last blue."""
    cmap = matplotlib.colormaps["coolwarm"]
    return [cmap(1 - t) for t in np.linspace(0.1, 0.9, n)]


def spectrum_panel(ax, run: pd.DataFrame, title: str, inset: bool = True) -> list:
    """Energy of the reconstructions per eigen-direction k (ascending eigenvalue) at each epoch vs the data."""
    epochs = sorted(run["epoch"].unique())
    handles, lines = [], []
    for e, color in zip(epochs, epoch_colors(len(epochs))):
        one = run[run["epoch"] == e].sort_values("k")
        lines.append((one["k"].to_numpy(), one["energy"].to_numpy(), dict(color=color, lw=0.8)))
        handles.append(matplotlib.lines.Line2D([], [], color=color, lw=1.5, label=f"epoch {e}"))
    data = run[run["epoch"] == epochs[0]].sort_values("k")
    k, lam = data["k"].to_numpy(), data["data_eigenvalue"].to_numpy()
    lines.append((k, lam, dict(color="k", lw=2.2)))
    handles.append(matplotlib.lines.Line2D([], [], color="k", lw=2.2, label="data"))
    for x, y, kw in lines:
        ax.semilogy(x, y, **kw)
    d = len(k)
    ax.set_xlim(0, d)
    resolved = lam[lam > lam.max() * 1e-10]
    if len(resolved):
        lowest = min(np.min(y[y > 0], initial=np.inf) for _, y, _ in lines)
        ax.set_ylim(bottom=max(resolved.min() * 1e-2, lowest))
    ax.set_xlabel("k (eigen-direction, ascending eigenvalue)")
    ax.set_ylabel("energy per image (log-scale)")
    ax.set_title(title)
    if inset and d >= 10:
        lo, hi = int(0.8 * d), d
        ins = ax.inset_axes([0.05, 0.46, 0.4, 0.5], xlim=(lo, hi), ylim=(lam[int(0.7 * d)], lam[d - 3]))
        for x, y, kw in lines:
            ins.semilogy(x, y, **kw)
        ins.set_xlim(lo, hi)
        ins.set_ylim(lam[int(0.7 * d)], lam[d - 3])
        ins.set_xticks([])
        ins.set_yticks([], minor=True)
        ins.set_yticks([])
        ax.indicate_inset_zoom(ins, edgecolor="black")
    return handles


@styled
def fig3_spectra(directions: pd.DataFrame, dataset: str, runs: list[dict]):
    """Page 1: one spectrum panel per run (the paper's Fig. 3)."""
    n = len(runs)
    cols = 2 if n > 1 else 1
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    handles = []
    for ax, r in zip(axes.flat, runs):
        run = select_run(directions, dataset, r["arch"], r["depth"], DIRECTIONS)
        handles = spectrum_panel(ax, run, run_title(dataset, r["arch"], r["depth"]))
    for ax in axes.flat[n:]:
        ax.axis("off")
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Reconstruction energy per eigen-direction of the training images, over epochs (red \u2192 blue)")
    fig.tight_layout()
    return fig


@styled
def fig3_bands(bands: pd.DataFrame, dataset: str, runs: list[dict]):
    """Page 2: epochs a band needs to reach the capture threshold vs its eigenvalue, and the capture curves."""
    require_rows(bands, BAND_COLUMNS, BANDS)
    fig = plt.figure(figsize=(13, 7), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1, 1])
    main = fig.add_subplot(grid[:, 0])
    small = [fig.add_subplot(grid[i // 2, 1 + i % 2]) for i in range(min(4, len(runs)))]
    threshold = float(bands["threshold"].iloc[0])
    markers = "osD^v<>p"
    trained = int(bands["epoch"].max()) + 1
    for i, r in enumerate(runs):
        run = select_run(bands, dataset, r["arch"], r["depth"], BANDS)
        per_band = run.drop_duplicates("band").sort_values("band")
        lam = per_band["band_eigenvalue"].to_numpy()
        needed = per_band["capture_epoch"].to_numpy() + 1
        line = main.plot(lam, needed, marker=markers[i % 8], label=run_title(dataset, r["arch"], r["depth"]))[0]
        never = np.isnan(needed)
        if never.any():
            main.scatter(
                lam[never],
                np.full(never.sum(), trained * 1.6),
                marker=markers[i % 8],
                facecolors="none",
                edgecolors=line.get_color(),
            )
    main.set_xscale("log")
    main.set_yscale("symlog", linthresh=1)
    main.set_ylim(0, trained * 2.5)
    main.axhline(trained, color="0.6", ls=":", lw=1)
    main.set_xlabel("band eigenvalue (mean variance per direction)")
    main.set_ylabel(f"epochs until {100 * threshold:.0f}% of the band's variance is captured (0 = at init)")
    main.set_title(f"Learning time vs eigenvalue (open: not reached in {trained} epochs)")
    main.legend(fontsize=7)
    cmap = matplotlib.colormaps["viridis"]
    for ax, r in zip(small, runs):
        run = select_run(bands, dataset, r["arch"], r["depth"], BANDS)
        n_b = run["band"].nunique()
        for b, one in run.groupby("band"):
            one = one.sort_values("epoch")
            ax.plot(one["epoch"] + 1, one["captured"], color=cmap(b / max(1, n_b - 1)), lw=1)
        ax.axhline(threshold, color="k", ls="--", lw=0.8)
        ax.set_ylim(-0.1, 1.05)
        ax.set_title(run_title(dataset, r["arch"], r["depth"]))
        ax.set_xlabel("epochs trained")
        ax.set_ylabel("share of band variance captured")
    if small:
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, 1))
        bar = fig.colorbar(sm, ax=small, shrink=0.6, ticks=[0, 1])
        bar.ax.set_yticklabels(["top band", "bottom band"])
    return fig
