"""Figs. 5-6 drawn from the tidy tables (and, for Fig. 5's image panel, the saved reconstructions)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lbr.config.settings import format_guidance
from lbr.figures.images import show, tile
from lbr.figures.style import styled
from lbr.scorecard.stats import t_bound
from lbr.tables.concat import require_rows

HEADS = (("acc_linear", "linear probe"), ("acc_mlp", "MLP probe"))
COLUMNS = ["latent", "guidance", "epoch", "split", "recon_loss", "acc_linear", "acc_mlp"]


def _colours(weights) -> dict:
    cmap = plt.get_cmap("tab10")
    return {w: cmap(i % 10) for i, w in enumerate(sorted(weights))}


def _label(weight: float) -> str:
    return "no guidance" if weight == 0 else f"guidance {format_guidance(weight)}"


@styled
def fig5(curves: pd.DataFrame, recon: list[dict], image_latent: int, n_images: int):
    """Per latent: train/valid reconstruction loss (overlapping) and valid accuracy (diverging); then images.

    Lines average over seeds. Linear probe solid, MLP probe dotted; train loss dashed, validation solid.
    """
    require_rows(curves, COLUMNS, "results/tables/fig5.csv")
    latents = sorted(curves["latent"].unique())
    colours = _colours(curves["guidance"].unique())
    mean = curves.groupby(["latent", "guidance", "split", "epoch"], as_index=False).mean(numeric_only=True)
    n = len(latents)
    width = max(6.0, 2.4 * n)
    shown = min(n_images, len(recon[0]["x"])) if recon else 1
    image_height = min(0.8 * width * (1 + len(recon)) / shown, 6.0) if recon else 0.1
    fig = plt.figure(figsize=(width, 4.4 + image_height))
    grid = fig.add_gridspec(3, n, height_ratios=[2.2, 2.2, image_height])
    for col, latent in enumerate(latents):
        ax_loss = fig.add_subplot(grid[0, col])
        ax_acc = fig.add_subplot(grid[1, col], sharex=ax_loss)
        for (weight, split), part in mean[mean["latent"] == latent].groupby(["guidance", "split"]):
            style = "--" if split == "train" else "-"
            ax_loss.plot(
                part["epoch"],
                part["recon_loss"],
                style,
                color=colours[weight],
                lw=1.2,
                label=f"{_label(weight)}, {split}",
            )
            if split == "valid":
                for (column, head), style in zip(HEADS, ("-", ":"), strict=True):
                    label = f"{_label(weight)}, {head.split()[0]}"
                    ax_acc.plot(part["epoch"], 100 * part[column], style, color=colours[weight], lw=1.2, label=label)
        ax_loss.set_title(f"latent {latent}")
        ax_loss.set_yscale("log")
        ax_acc.set_xlabel("epoch")
        if col == 0:
            ax_loss.set_ylabel("reconstruction MSE")
            ax_acc.set_ylabel("validation accuracy (%)")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    h2, l2 = fig.axes[1].get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="lower center", ncol=4, frameon=False, bbox_to_anchor=(0.5, 1.0))
    ax_img = fig.add_subplot(grid[2, :])
    _image_panel(ax_img, recon, image_latent, n_images)
    fig.tight_layout()
    return fig


def _image_panel(ax, recon: list[dict], latent: int, n_images: int) -> None:
    """Rows: validation inputs, then each guidance weight's reconstructions of them."""
    if not recon:
        ax.axis("off")
        return
    k = min(n_images, len(recon[0]["x"]))
    rows = [("input", recon[0]["x"][:k])] + [(_label(r["guidance"]), r["recon"][:k]) for r in recon]
    blocks = [tile(imgs.astype(np.float32) / 255.0, k) for _, imgs in rows]
    show(ax, np.concatenate(blocks, axis=0))
    step = blocks[0].shape[0]
    ax.set_yticks([step * (i + 0.5) for i in range(len(rows))], [name for name, _ in rows])
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"validation reconstructions, latent {latent}")


def seed_means(final: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per (latent, guidance): the seed means of the validation MSE and of `column` (percent) with their 95% t
    intervals over seeds (the mean itself with one seed)."""
    out = []
    for (latent, weight), part in final.groupby(["latent", "guidance"]):
        recon, acc = part["recon_loss"].to_numpy(float), 100 * part[column].to_numpy(float)
        (r_lo, r_hi), (a_lo, a_hi) = (t_bound(v, 0.05) if len(v) > 1 else (v.mean(), v.mean()) for v in (recon, acc))
        out.append({"latent": latent, "guidance": weight, "recon": recon.mean(), "recon_lo": r_lo, "recon_hi": r_hi,
                    "acc": acc.mean(), "acc_lo": a_lo, "acc_hi": a_hi, "n": len(part)})  # fmt: skip
    return pd.DataFrame(out)


@styled
def fig6(final: pd.DataFrame):
    """Validation accuracy vs validation reconstruction error, one point per (latent, guidance): the seed means,
    bars their 95% t intervals over seeds.

    Left: the linear probe (the paper's 'linear classifier'); right: the MLP probe. Points of the same
    latent size are joined, so equal reconstruction with different accuracy reads as a near-vertical segment.
    """
    require_rows(final, COLUMNS, "results/tables/fig6.csv")
    colours = _colours(final["guidance"].unique())
    seeds = final["seed"].nunique() if "seed" in final else 1
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8), sharex=True, sharey=True)
    for ax, (column, name) in zip(axes, HEADS):
        means = seed_means(final, column)
        for _, part in means.groupby("latent"):
            part = part.sort_values("guidance")
            ax.plot(part["recon"], part["acc"], "-", color="0.75", lw=0.8, zorder=1)
        for weight, part in means.groupby("guidance"):
            xerr = np.vstack([part["recon"] - part["recon_lo"], part["recon_hi"] - part["recon"]])
            yerr = np.vstack([part["acc"] - part["acc_lo"], part["acc_hi"] - part["acc"]])
            ax.errorbar(part["recon"], part["acc"], xerr=xerr, yerr=yerr, fmt="o", ms=5, color=colours[weight],
                        capsize=2, lw=1, zorder=2, label=_label(weight))  # fmt: skip
            for _, r in part.iterrows():
                ax.annotate(f"{int(r['latent'])}", (r["recon"], r["acc"]), textcoords="offset points", xytext=(4, 3),
                            fontsize=6.5, color=colours[weight])  # fmt: skip
        ax.set_title(name)
        ax.set_xlabel("validation reconstruction MSE")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation top-1 accuracy (%)")
    axes[0].legend(frameon=False)
    fig.suptitle(
        f"Probe accuracy against reconstruction error, guided vs unguided: means over {seeds} seed"
        f"{'s' if seeds != 1 else ''}, bars 95% intervals (numbers: latent size)"
    )
    fig.tight_layout()
    return fig
