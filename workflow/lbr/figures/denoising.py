"""Fig. 10 (beyond the paper): denoising autoencoders, drawn from results/tables/fig10.csv and fig10_bands.csv.

One row of panels per (dataset, autoencoder): the linear-probe test accuracy of the code over epochs, one line per
noise (mean over seeds, the band its 95% interval); the epochs each eigenvalue band needs to be captured, per
noise; and the measured change of the final probe accuracy against no noise beside the change of alignment that
Theorem 3 predicts for a linear autoencoder with a code of the same size."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lbr.figures.dynamics import run_title, select_run
from lbr.figures.style import styled
from lbr.scorecard.stats import t_bound
from lbr.tables.concat import require_rows
from lbr.tables.denoising import final_summary

MAPS = {"gaussian": "Blues", "mask": ["Reds", "Greens", "Purples", "Oranges"], "pca_mask": "YlOrBr"}
MARKERS = {"none": "o", "gaussian": "s", "mask": "^", "pca_mask": "D"}
DODGE = 1.12
"""Each noise's band markers are shifted by this factor along the (log) eigenvalue axis, so equal ones stay visible."""


def noise_styles(table: pd.DataFrame) -> dict[str, dict]:
    """{noise label: line style}: black for none, blues for Gaussian noise (darker = larger sigma), one colour map
    per mask patch size (darker = larger ratio), yellow-browns for PCA masks."""
    noises = table.drop_duplicates("noise_label")
    styles = {"none": {"color": "black", "marker": MARKERS["none"], "label": "none"}}
    gauss = noises[noises["noise"] == "gaussian"].sort_values("sigma")
    for i, (_, n) in enumerate(gauss.iterrows()):
        colour = matplotlib.colormaps[MAPS["gaussian"]](0.45 + 0.5 * (i + 1) / len(gauss))
        styles[n["noise_label"]] = {"color": colour, "marker": "s", "label": f"Gaussian sigma {n['sigma']:g}"}
    masks = noises[noises["noise"] == "mask"]
    for j, (patch, group) in enumerate(masks.groupby("patch")):
        cmap = matplotlib.colormaps[MAPS["mask"][j % len(MAPS["mask"])]]
        group = group.sort_values("ratio")
        for i, (_, n) in enumerate(group.iterrows()):
            label = f"mask {n['ratio']:g}, {int(patch)}x{int(patch)} patches"
            styles[n["noise_label"]] = {"color": cmap(0.45 + 0.5 * (i + 1) / len(group)), "marker": "^", "label": label}
    pca = noises[noises["noise"] == "pca_mask"].sort_values("ratio")
    for i, (_, n) in enumerate(pca.iterrows()):
        colour = matplotlib.colormaps[MAPS["pca_mask"]](0.45 + 0.5 * (i + 1) / len(pca))
        share = n["share"] if "share" in n else "variance"
        label = f"PCA mask {n['ratio']:g} of the {share}"
        styles[n["noise_label"]] = {"color": colour, "marker": MARKERS["pca_mask"], "label": label}
    return styles


def probe_panel(ax, run: pd.DataFrame, styles: dict) -> None:
    """Probe accuracy (%) over epochs trained, per noise: seed mean, band its 95% t interval over the seeds."""
    for label, style in styles.items():
        one = run[run["noise_label"] == label]
        if one.empty:
            continue
        by = one.groupby("epoch")["probe_acc"]
        x = by.mean().index.to_numpy() + 1
        ax.plot(x, 100 * by.mean().to_numpy(), color=style["color"], marker=style["marker"], ms=3, lw=1.2)
        bounds = np.array([t_bound(100 * v.to_numpy(), 0.05) for _, v in by])
        if np.isfinite(bounds).all():
            ax.fill_between(x, bounds[:, 0], bounds[:, 1], color=style["color"], alpha=0.15, linewidth=0)
    ax.set_xlabel("epochs trained (0 = untrained)")
    ax.set_ylabel("linear-probe test accuracy (%)")


def bands_panel(ax, bands: pd.DataFrame, styles: dict) -> None:
    """Epochs until each band is captured vs its eigenvalue, per noise (seed mean; open markers: some seed never;
    each noise's markers shifted slightly sideways)."""
    trained = int(bands["epoch"].max()) + 1
    for i, (label, style) in enumerate(styles.items()):
        one = bands[bands["noise_label"] == label].drop_duplicates(["seed", "band"])
        if one.empty:
            continue
        per = one.groupby("band").agg(lam=("band_eigenvalue", "first"), need=("capture_epoch", "mean"))
        never = one.groupby("band")["capture_epoch"].apply(lambda c: c.isna().any()).to_numpy()
        need = per["need"].to_numpy() + 1
        lam = per["lam"].to_numpy() * DODGE ** (i - (len(styles) - 1) / 2)  # noises side by side, not on top
        ax.plot(lam, np.where(never, np.nan, need), color=style["color"], marker=style["marker"], ms=3, lw=1)
        if never.any():
            ax.scatter(lam[never], np.full(never.sum(), trained * 1.6), marker=style["marker"], facecolors="none",
                       edgecolors=style["color"])  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(0, trained * 2.5)
    ax.axhline(trained, color="0.6", ls=":", lw=1)
    ax.set_xlabel("band eigenvalue (mean variance per direction)")
    ax.set_ylabel("epochs until the band is captured")


def theory_panel(ax, summary: pd.DataFrame, styles: dict) -> None:
    """Measured change of the final probe accuracy (points, seed means, bars: the 95% interval of the change, paired
    by seed) against Theorem 3's change of alignment at K = the code size."""
    for _, row in summary.iterrows():
        style = styles.get(row["noise_label"])
        if style is None:
            continue
        bounds = np.array([row["delta"] - row["delta_lo"], row["delta_hi"] - row["delta"]]) * 100
        err = bounds.reshape(2, 1) if np.isfinite(bounds).all() else None
        ax.errorbar(row["theory_impact_pct"], 100 * row["delta"], yerr=err, color=style["color"],
                    marker=style["marker"], ms=5, capsize=2, lw=1)  # fmt: skip
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axvline(0, color="0.5", lw=0.8)
    first = summary.iloc[0]
    capped = f", capped at the rank {int(first['rank'])}" if bool(first["K_capped"]) else ""
    ax.set_xlabel(f"Theorem 3: change of alignment (%) at K = {int(first['K'])}{capped}")
    ax.set_ylabel("measured change of final probe accuracy (points)")


PROBES, BANDS = "results/tables/fig10.csv", "results/tables/fig10_bands.csv"
PROBE_COLUMNS = "dataset arch depth noise ratio patch sigma noise_label seed epoch probe_acc K K_capped rank".split()
BAND_COLUMNS = "dataset arch depth noise_label seed epoch band band_eigenvalue capture_epoch".split()


@styled
def fig10(table: pd.DataFrame, bands: pd.DataFrame, datasets: list[str], runs: list[dict]):
    """One row per (dataset, run): probe accuracy over epochs, capture epochs per band, measured vs predicted."""
    require_rows(table, PROBE_COLUMNS + ["theory_impact_pct"], PROBES)
    require_rows(bands, BAND_COLUMNS, BANDS)
    rows = [(dataset, r) for dataset in datasets for r in runs]
    fig, axes = plt.subplots(len(rows), 3, figsize=(15, 3.8 * len(rows)), squeeze=False, layout="constrained")
    styles = noise_styles(table)
    summary = final_summary(table)
    for (dataset, r), (a, b, c) in zip(rows, axes):
        title = run_title(dataset, r["arch"], r["depth"])
        run = select_run(table, dataset, r["arch"], r["depth"], PROBES)
        probe_panel(a, run, styles)
        a.set_title(f"{title}: linear probe of the code")
        bands_panel(b, select_run(bands, dataset, r["arch"], r["depth"], BANDS), styles)
        b.set_title(f"{title}: learning time per band")
        theory_panel(c, select_run(summary, dataset, r["arch"], r["depth"]), styles)
        c.set_title(f"{title}: after {int(run['epoch'].max()) + 1} epochs, vs the linear theory")
    handles = [
        matplotlib.lines.Line2D([], [], color=s["color"], marker=s["marker"], label=s["label"]) for s in styles.values()
    ]
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    return fig
