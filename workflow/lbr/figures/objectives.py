"""Fig. 11 (beyond the paper): alignment vs K of the reconstruction and the joint-embedding optimum under the same
augmentations, one panel per dataset, drawn from its tidy table only (`lbr.tables.objectives`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lbr.figures.style import styled
from lbr.figures.theory import FIG2_AXIS, data_label, measure_column
from lbr.tables.concat import require_columns

FIG11_COLUMNS = [
    "dataset",
    "objective",
    "augmentation",
    "noise",
    "K",
    "alignment",
    "alignment_code",
    "alignment_low",
    "alignment_high",
    "alignment_code_low",
    "alignment_code_high",
    "resolved",
    "role",
]
# role -> (colour, what it is); reconstruction solid, joint embedding dashed
CURVES = {
    "eq7": ("k", "no augmentation (Eq. 7)"),
    "best_pixel_mask": ("tab:blue", "best pixel mask"),
    "best_pca_mask": ("tab:green", "best PCA mask"),
    "crop_flip": ("tab:orange", "crop + flip"),
}
STYLES = {"reconstruction": ("-", "reconstruction"), "joint_embedding": ("--", "joint embedding")}


@styled
def fig11(table: pd.DataFrame, measure: str = "paper"):
    """One panel per dataset: K on a log axis up to the rank; for each role's augmentation the reconstruction
    optimum (solid) and the joint-embedding optimum (dashed); where the optimum is not determined (tied
    eigenvalues), the range of the alignment over the tied choices is shaded instead of a line."""
    require_columns(table, FIG11_COLUMNS, "the Fig. 11 table")
    col, tag = measure_column("alignment", measure)
    label, ylim = FIG2_AXIS[measure]
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.8), squeeze=False)
    resolved = table["resolved"].astype(str).str.lower().isin(["true", "1"])
    for ax, name in zip(axes[0], datasets):
        part = table[table["dataset"] == name].assign(resolved=resolved)
        for role, (color, what) in CURVES.items():
            for objective, (ls, obj_name) in STYLES.items():
                cur = part[(part["role"] == role) & (part["objective"] == objective)].sort_values("K")
                if cur.empty:
                    continue
                aug = cur["augmentation"].iloc[0]
                shown = f"{obj_name}, {what}" + ("" if role == "eq7" else f" ({aug})")
                line = np.where(cur["resolved"], cur[col], np.nan)
                width, order = (2.6, 1) if role == "eq7" else (1.3, 2)  # Eq. 7 shows around curves equal to it
                ax.plot(cur["K"], line, ls=ls, color=color, lw=width, zorder=order, label=shown)
                if not cur["resolved"].all():
                    ax.fill_between(
                        cur["K"], cur[f"{col}_low"], cur[f"{col}_high"], where=~cur["resolved"].to_numpy(),
                        color=color, alpha=0.15, lw=0, step="mid",
                    )  # fmt: skip
        ax.set_xscale("log")
        ax.set(xlabel="latent dimension $K$", ylim=ylim, title=data_label(name, part))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5.5, frameon=False, loc="upper left")
    axes[0, 0].set_ylabel(f"{label}\n[{tag}]")
    fig.tight_layout()
    return fig
