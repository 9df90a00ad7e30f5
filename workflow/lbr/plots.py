"""Figure drawing shared by the figure rules: consistent style, PDF + PNG written atomically."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
logging.getLogger("fontTools").setLevel(logging.WARNING)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lbr import preprocess as pp  # noqa: E402
from lbr.io import atomic_path  # noqa: E402
from lbr.subspace import Subspace, project  # noqa: E402

STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
}
plt.rcParams.update(STYLE)


def save_figure(fig, pdf_path: str, png_path: str | None = None, dpi: int = 150) -> None:
    """Save a figure as PDF (and PNG) without ever leaving a half-written file."""
    with atomic_path(pdf_path) as tmp:
        fig.savefig(tmp, format="pdf")
    if png_path:
        with atomic_path(png_path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)


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


def projected_views(images: np.ndarray, spectrum: dict, subs: list[Subspace]) -> list[np.ndarray]:
    """Each image projected onto each subspace (paper preprocessing), min-max scaled for display."""
    mean = torch.as_tensor(spectrum["mean"])
    vectors = torch.as_tensor(spectrum["eigenvectors"], dtype=torch.float32)
    rows = pp.preprocess(images, mean).to(torch.float32)
    return [minmax(project(rows, vectors, sub).numpy().reshape(images.shape)) for sub in subs]


def subspace_gallery(
    x: np.ndarray,
    spectrum: dict,
    subs: list[Subspace],
    n_images: int,
    columns: int,
    seed: int,
    dataset: str,
):
    """Paper Fig. 9: random originals, then their projection onto each given subspace, min-max scaled."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(x), size=min(n_images, len(x)), replace=False))
    chosen = x[idx]
    blocks = [("original", chosen.astype(np.float32) / 255.0)]
    for sub, view in zip(subs, projected_views(chosen, spectrum, subs)):
        label = f"{sub.side} subspace: {100 * sub.variance_kept:.1f}% of the variance, {sub.dims} of {sub.n_directions} dims"
        blocks.append((label, view))
    cols = min(columns, len(chosen))
    h, w = chosen.shape[1:3]
    rows_per_block = -(-len(chosen) // cols)
    fig_w = min(12.0, max(4.0, cols * 1.0))
    fig_h = fig_w * (rows_per_block * h) / (cols * w) * len(blocks) + 0.35 * len(blocks)
    fig, axes = plt.subplots(len(blocks), 1, figsize=(fig_w, fig_h), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], blocks):
        grid = tile(imgs, cols)
        ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(f"{dataset}: original / bottom / top principal subspace", y=1.0)
    fig.tight_layout()
    return fig
