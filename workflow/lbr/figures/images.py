"""Image figures: Fig. 9 (originals, bottom and top subspace) and the example images of Fig. 1 (middle)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lbr.errors import LbrError
from lbr.figures.style import styled
from lbr.spectral.pixels import preprocess_images
from lbr.spectral.subspaces import Subspace, project

# How projected images are shown (config fig1/fig9.display), as a figure title names it.
DISPLAYS = {"with_mean": "projection + train mean", "without_mean": "projection alone"}


def minmax(images: np.ndarray) -> np.ndarray:
    """Scale each image to [0, 1] on its own (torchvision make_grid(normalize=True, scale_each=True))."""
    flat = images.reshape(len(images), -1)
    lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
    return ((flat - lo) / np.where(hi > lo, hi - lo, 1)).reshape(images.shape)


def tile(images: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
    """Arrange N x H x W x C images in a grid with white gutters."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    grid = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), images.dtype)
    for i, im in enumerate(images):
        r, k = divmod(i, columns)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = im
    return grid


def show(ax, grid: np.ndarray) -> None:
    """Draw an H x W x C image in [0, 1] (grey when C is 1), pixel for pixel."""
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")


def projected_views(images: np.ndarray, spectrum: dict, subs: list[Subspace], display: str) -> list[np.ndarray]:
    """Each image projected onto each subspace, min-max scaled per image. The eigenbasis is of centred
    (per-image-std-normalised) pixels; display 'with_mean' adds back the train mean they were centred on, as the
    authors' pca_figure.py does, 'without_mean' shows the projection alone (see DISPLAYS)."""
    if display not in DISPLAYS:
        raise LbrError(f"fig1/fig9.display must be one of {sorted(DISPLAYS)}, not '{display}'.")
    rows = preprocess_images(images, spectrum["mean"]).astype(np.float32)
    vectors = np.asarray(spectrum["eigenvectors"], dtype=np.float32)
    shift = np.asarray(spectrum["mean"], dtype=np.float32) if display == "with_mean" else 0
    return [minmax((project(rows, vectors, sub) + shift).reshape(images.shape)) for sub in subs]


def example_images(x: np.ndarray, spectrum: dict, subs: list[Subspace], indices: list[int], display: str) -> np.ndarray:
    """Rows of [original, projection on each subspace] for the chosen images (Fig. 1, middle)."""
    bad = [i for i in indices if not 0 <= i < len(x)]
    if bad:
        raise LbrError(f"fig1.image_indices {bad} are outside the {len(x)} training images; pick smaller indices.")
    chosen = x[np.asarray(indices)]
    tiles = [chosen.astype(np.float32) / 255.0] + projected_views(chosen, spectrum, subs, display)
    return np.stack(tiles, axis=1).reshape(-1, *chosen.shape[1:])


@styled
def subspace_gallery(
    x: np.ndarray,
    spectrum: dict,
    subs: list[Subspace],
    n_images: int,
    columns: int,
    seed: int,
    dataset: str,
    display: str,
):
    """Paper Fig. 9: random originals, then their projection onto each given subspace, min-max scaled."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(x), size=min(n_images, len(x)), replace=False))
    chosen = x[idx]
    blocks = [("original", chosen.astype(np.float32) / 255.0)]
    for sub, view in zip(subs, projected_views(chosen, spectrum, subs, display)):
        kept = f"{100 * sub.variance_kept:.1f}% of the variance, {sub.describe()}"
        label = f"{sub.side} subspace: {kept}"
        blocks.append((label, view))
    cols = min(columns, len(chosen))
    h, w = chosen.shape[1:3]
    rows_per_block = -(-len(chosen) // cols)
    fig_w = min(12.0, max(4.0, cols * 1.0))
    fig_h = fig_w * (rows_per_block * h) / (cols * w) * len(blocks) + 0.35 * len(blocks)
    fig, axes = plt.subplots(len(blocks), 1, figsize=(fig_w, fig_h), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], blocks):
        show(ax, tile(imgs, cols))
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(f"{dataset}: original / bottom / top principal subspace ({DISPLAYS[display]})", y=1.0)
    fig.tight_layout()
    return fig
