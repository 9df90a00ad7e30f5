"""Figures of the closed-form theory (Figs. 2, 7, 8), drawn from their tidy tables only."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from lbr.errors import LbrError
from lbr.figures.style import styled
from lbr.tables.concat import require_columns, require_rows

FIG2_COLUMNS = ["dataset", "K", "K_frac", "alignment", "alignment_code"]
FIG7_COLUMNS = ["dataset", "noise", "ratio", "patch", "sigma", "K", "alignment", "impact_pct"]
FIG8_COLUMNS = ["D", "K", "lam", "step", "loss_gd", "loss_closed_form"]
TINY = 1e-18
# Each alignment measure: the suffix of its table columns (alignment_code, impact_pct_code) and its tag on an axis.
MEASURES = {"code": ("_code", "authors' 100·sqrt, class-weighted"), "paper": ("", "Eq. 7 ratio")}
FIG2_AXIS = {"code": ("task alignment (%)", (0, 100)), "paper": (r"task alignment $\rho(K)$", (0, 1))}


def measure_column(column: str, measure: str) -> tuple[str, str]:
    """The table column holding `column` in `measure` (paper: Eq. 7's ratio; code: the authors' plotted
    variant) and the tag that names the measure on the axis."""
    if measure not in MEASURES:
        raise LbrError(f"fig2/fig7.measure must be one of {sorted(MEASURES)}, not '{measure}'.")
    suffix, tag = MEASURES[measure]
    return column + suffix, tag


@styled
def fig2(table: pd.DataFrame, measure: str = "code", k_max: int = 256):
    """Alignment vs K: (a) K = 1..k_max, (b) K as a percentage of the input dimension. Where a dataset's train
    images span fewer than D directions (N < D), a dotted line and a dot mark K = rank: from there on the K
    directions hold every train image, so the curve is 100% by construction (least squares on them interpolates
    the train labels; on centred pixels, the labels minus their mean)."""
    require_columns(table, FIG2_COLUMNS, "the Fig. 2 table")
    col, tag = measure_column("alignment", measure)
    label, ylim = FIG2_AXIS[measure]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    colors = {}
    for name, part in table.groupby("dataset", sort=False):
        part = part.sort_values("K")
        head = part[part["K"] <= k_max]
        (line,) = axes[0].plot(head["K"], head[col], lw=1.5, label=data_label(name, part))
        axes[1].plot(100 * part["K_frac"], part[col], lw=1.5, color=line.get_color())
        colors[name] = line.get_color()
    marked = False
    for name, part in table.groupby("dataset", sort=False):
        rank, d = _rank_below_d(part)
        if rank is None:
            continue
        at = float(part.loc[part["K"] == rank, col].iloc[0])
        for ax, x in ((axes[0], rank), (axes[1], 100 * rank / d)):
            if ax is axes[0] and rank > k_max:
                continue
            ax.axvline(x, color=colors[name], ls=":", lw=1)
            ax.plot([x], [at], "o", ms=3.5, color=colors[name])
            marked = True
    axes[0].set(xlabel="latent dimension $K$", ylabel=f"{label}\n[{tag}]", ylim=ylim, xlim=(1, k_max), title="(a)")
    axes[1].set(xlabel="latent dimension (% of input dimension)", ylim=ylim, xlim=(0, 100), title="(b)")
    axes[0].legend(ncol=2, frameon=False, fontsize=7)
    if marked:
        exact = "K = rank of the train images (N < D):\nthe least-squares fit is exact from here"
        marker = Line2D([], [], color="0.4", ls=":", marker="o", ms=3.5, label=exact)
        axes[1].legend(handles=[marker], loc="lower right", frameon=False, fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def data_label(name: str, part: pd.DataFrame) -> str:
    """A dataset's legend entry: its name, and N and D when the table has them."""
    if {"n_train", "D"} <= set(part.columns):
        return f"{name} (N={int(part['n_train'].iloc[0])}, D={int(part['D'].iloc[0])})"
    return name


def _rank_below_d(part: pd.DataFrame) -> tuple[int | None, int]:
    """(rank, D) of one dataset's rows when its train images span fewer than D directions, else (None, D)."""
    if not {"rank", "D"} <= set(part.columns):
        return None, 0
    rank, d = int(part["rank"].iloc[0]), int(part["D"].iloc[0])
    return (rank, d) if rank < d else (None, d)


@styled
def fig7(table: pd.DataFrame, measure: str = "code", k_min: int = 32):
    """Impact of masking (rows: patch sizes; curves: mask ratios), of Gaussian noise and, beyond the paper, of
    masking principal components (last rows) on alignment."""
    col, tag = measure_column("impact_pct", measure)
    require_columns(table, [*FIG7_COLUMNS, col], "the Fig. 7 table")
    datasets = list(dict.fromkeys(table["dataset"]))
    mask = table[table["noise"] == "mask"]
    gauss = table[table["noise"] == "gaussian"]
    pca = table[table["noise"] == "pca_mask"]
    patches = sorted(mask["patch"].dropna().unique())
    rows = [("mask", p) for p in patches] + ([("gaussian", None)] if len(gauss) else [])
    rows += [("pca_mask", None)] if len(pca) else []
    fig, axes = plt.subplots(
        len(rows), len(datasets), figsize=(3.6 * len(datasets), 2.3 * len(rows)), squeeze=False, sharex="col"
    )
    ratios = sorted(mask["ratio"].dropna().unique())
    sigmas = sorted(gauss["sigma"].dropna().unique())
    pca_ratios = sorted(pca["ratio"].dropna().unique())
    cool, viridis = matplotlib.colormaps["cool"], matplotlib.colormaps["viridis"]
    for j, name in enumerate(datasets):
        for i, (kind, patch) in enumerate(rows):
            ax = axes[i, j]
            if kind == "mask":
                sel = mask[(mask["dataset"] == name) & (mask["patch"] == patch)]
                levels, key, cmap, fmt = ratios, "ratio", cool, "p={:g}"
                title = f"{name}: masking {int(patch)}x{int(patch)} patches"
            elif kind == "gaussian":
                sel = gauss[gauss["dataset"] == name]
                levels, key, cmap, fmt = sigmas, "sigma", viridis, r"$\sigma$={:g}"
                title = f"{name}: Gaussian noise (Cor. 3.1)"
            else:
                sel = pca[pca["dataset"] == name]
                share = sel["share"].iloc[0] if "share" in sel and len(sel) else "variance"
                levels, key, cmap, fmt = pca_ratios, "ratio", cool, "r={:g}"
                title = f"{name}: masking principal components\n(share of the {share}; beyond the paper)"
            for t, level in enumerate(levels):
                cur = sel[(sel[key] == level) & (sel["K"] >= k_min)].sort_values("K")
                color = cmap(t / max(1, len(levels) - 1))
                ax.plot(cur["K"], cur[col], color=color, lw=1.2, alpha=0.85, label=fmt.format(level))
            ax.axhline(0, color="k", lw=1.5)
            ax.set_title(title)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel(f"impact on sup. perf. (%)\n[{tag}]")
            if i == len(rows) - 1:
                ax.set_xlabel("embedding dim. ($K$)")
            if j == len(datasets) - 1:
                ax.legend(fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


@styled
def fig8(table: pd.DataFrame):
    """Theorem 1 (and Theorem 3) closed form vs gradient descent: the loss gap along training, log scale."""
    require_rows(table, FIG8_COLUMNS, "the Fig. 8 table")
    variant = table["variant"] if "variant" in table else pd.Series("supervised", index=table.index)
    sup = table[variant == "supervised"]
    if "selected" in sup:
        sup = sup[sup["selected"].astype(bool)]
    den = table[variant == "denoising"]
    combos = list(dict.fromkeys(zip(sup["D"], sup["K"])))
    lams = sorted(sup["lam"].unique())
    n_rows = len(combos) + (1 if len(den) else 0)
    n_cols = max(1, len(lams))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.8 * n_cols, 2.2 * n_rows), squeeze=False)
    for i, (d, k) in enumerate(combos):
        for j, lam in enumerate(lams):
            ax = axes[i, j]
            cur = sup[(sup["D"] == d) & (sup["K"] == k) & (sup["lam"] == lam)].sort_values("step")
            gap = (cur["loss_gd"] - cur["loss_closed_form"]).to_numpy()
            ax.semilogy(cur["step"], np.maximum(gap, TINY), lw=1.2)
            best = cur["min_gap"].iloc[0] if "min_gap" in cur and len(cur) else np.nanmin(gap)
            lr = f", lr {cur['lr'].iloc[0]:g}" if "lr" in cur and len(cur) else ""
            ax.set_title(f"D={d}, K={k}, $\\lambda$={lam:g}{lr}\nmin gap {best:.1e}", fontsize=7)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel("loss(t) - loss*")
            if i == n_rows - 1:
                ax.set_xlabel("steps (t)")
    if len(den):
        ax = axes[-1, 0]
        for views, cur in den.groupby("views"):
            cur = cur.sort_values("step")
            ax.semilogy(
                cur["step"],
                np.maximum((cur["loss_gd"] - cur["loss_closed_form"]).abs(), TINY),
                lw=1.2,
                label=f"{int(views)} views",
            )
        first = den.iloc[0]
        ax.set_title(f"denoising, $\\sigma$={first['sigma']:g} (D={first['D']}, K={first['K']})", fontsize=7)
        ax.set(xlabel="sgd steps (t)", ylabel="|loss(t) - loss*|")
        ax.legend(fontsize=6, frameon=False)
        ax.grid(alpha=0.3)
        for ax in axes[-1, 1:]:
            ax.axis("off")
    fig.tight_layout()
    return fig
