"""Fig. 11's table: for one dataset, the Eq. 7 alignment of the reconstruction and the joint-embedding optimum
under every augmentation of the grid, for every K, and which pixel mask and which PCA mask are the best ones.

Rows: one per (objective, augmentation, K = 1..rank). `role` marks the curves Fig. 11 draws: `eq7` (reconstruction
without augmentation: Eq. 7 itself), `best_pixel_mask` and `best_pca_mask` (both objectives, under the mask whose
reconstruction optimum has the largest `small_k_mean`: the mean alignment, Eq. 7's ratio, over K = 1..small_k,
midpoint of the range where tied), `crop_flip` (both objectives). Joint embedding without augmentation is left out:
every whitened encoder then has zero loss.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lbr.machine.progress import heartbeat, track
from lbr.theory.alignment import Basis, Moments
from lbr.theory.augmentations import OBJECTIVES, Augmentation, CropFlip, augmentation_columns, view_moments
from lbr.theory.joint_embedding import alignment_curves
from lbr.theory.noise import NoiseSpec

ROLES = ("eq7", "best_pixel_mask", "best_pca_mask", "crop_flip")


def augmentations(grid: dict, draws: int) -> list[Augmentation]:
    """The grid of config `fig11`: no augmentation, Gaussian noise (sigmas), pixel masks (mask_ratios x
    mask_patches), PCA masks (pca_ratios, of pca_share) and crop/flip (crop_pads)."""
    augs: list[Augmentation] = [NoiseSpec("none")]
    augs += [NoiseSpec("gaussian", sigma=float(s)) for s in grid["sigmas"]]
    augs += [NoiseSpec("mask", float(r), int(p)) for p in grid["mask_patches"] for r in grid["mask_ratios"]]
    augs += [NoiseSpec("pca_mask", float(r), share=grid["pca_share"], draws=int(draws)) for r in grid["pca_ratios"]]
    augs += [CropFlip(int(pad)) for pad in grid["crop_pads"]]
    return augs


def dataset_table(
    basis: Basis, xtx, moments: Moments, augs: list[Augmentation], jitter: float, small_k: int
) -> pd.DataFrame:
    """The rows of one dataset (without its name), roles marked."""
    frames = []
    for aug in track(augs, f"objectives under {len(augs)} augmentations", len(augs), "augmentations"):
        with heartbeat(f"{aug.label}: moments of the views (D={basis.d})"):
            views = view_moments(basis, xtx, aug, moments.shape, moments.n)
        for objective in OBJECTIVES if not _is_none(aug) else ("reconstruction",):
            with heartbeat(f"{aug.label}: {objective} optimum and its alignment for K = 1..{basis.rank}"):
                out = alignment_curves(basis, views, objective, jitter)
            frames.append(
                pd.DataFrame(
                    {
                        "objective": objective,
                        "augmentation": aug.label,
                        **augmentation_columns(aug),
                        "K": np.arange(1, basis.rank + 1),
                        "K_frac": np.arange(1, basis.rank + 1) / basis.d,
                        **out,
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    table = mark_roles(table, min(int(small_k), basis.rank))
    table["D"], table["rank"], table["n_train"] = basis.d, basis.rank, moments.n
    table["preprocessing"] = moments.preprocessing
    return table.astype({"patch": "Int64", "pad": "Int64"})


def _is_none(aug: Augmentation) -> bool:
    return isinstance(aug, NoiseSpec) and aug.kind == "none"


def mark_roles(table: pd.DataFrame, small_k: int) -> pd.DataFrame:
    """Add small_k, small_k_mean (per objective and augmentation) and role (ROLES, or empty)."""
    table = table.copy()
    table["small_k"] = small_k
    mid = (table["alignment_low"] + table["alignment_high"]) / 2
    head = table[table["K"] <= small_k].assign(mid=mid)
    means = head.groupby(["objective", "augmentation"])["mid"].mean().rename("small_k_mean")
    table = table.join(means, on=["objective", "augmentation"])
    table["role"] = ""
    rc = table["objective"] == "reconstruction"
    table.loc[rc & (table["noise"] == "none"), "role"] = "eq7"
    for noise, role in (("mask", "best_pixel_mask"), ("pca_mask", "best_pca_mask")):
        best = best_augmentation(table, noise)
        if best is not None:
            table.loc[table["augmentation"] == best, "role"] = role
    table.loc[table["noise"] == "crop_flip", "role"] = "crop_flip"
    return table


def best_augmentation(table: pd.DataFrame, noise: str) -> str | None:
    """The augmentation of kind `noise` whose reconstruction optimum has the largest small_k_mean (first on ties)."""
    rows = table[(table["objective"] == "reconstruction") & (table["noise"] == noise)]
    if rows.empty:
        return None
    means = rows.groupby("augmentation", sort=False)["small_k_mean"].first()
    return str(means.idxmax())
