"""How much of each eigen-direction of the training images an autoencoder's reconstructions carry (Figs. 1, 3).

The basis is the authors' (DIGEST §5): eigenvectors of the *uncentered* second moment X^T X of the training
pixels in [0, 1], in float64. Unlike the authors' script, eigenvalues and reconstructions are measured on the
same images, so a fully learned direction sits exactly on the data spectrum. Everything is normalised per
image: data_eigenvalue_k = mean_n (c_k^T x_n)^2, energy_k = mean_n (c_k^T xhat_n)^2 (the authors' statistic),
error_k = mean_n (c_k^T (x_n - xhat_n))^2. Directions are indexed by rank, largest eigenvalue first.

Images are N x H x W x C (uint8 in [0, 255] or float in [0, 1]) or N x D floats, on the device, and are
processed in batches: no N x D float copy exists anywhere.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch

from lbr.errors import LbrError


def rows(batch: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Images -> rows in [0, 1] (H x W x C flattening)."""
    x = batch.to(dtype)
    if batch.dtype == torch.uint8:
        x = x / 255.0
    return x.reshape(len(x), -1)


def model_input(batch: torch.Tensor) -> torch.Tensor:
    """Images (N x H x W x C) -> float N x C x H x W in [0, 1], the autoencoders' layout; rows pass through."""
    x = batch.to(torch.float32)
    if batch.dtype == torch.uint8:
        x = x / 255.0
    return x.permute(0, 3, 1, 2) if x.ndim == 4 else x


def output_rows(out: torch.Tensor) -> torch.Tensor:
    """Reconstructions (N x C x H x W) -> float32 rows in the images' H x W x C flattening."""
    out = out.to(torch.float32)
    return out.permute(0, 2, 3, 1).reshape(len(out), -1) if out.ndim == 4 else out.reshape(len(out), -1)


def batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


@contextlib.contextmanager
def full_precision() -> Iterator[None]:
    """Disable TF32 inside the block: bottom eigenvalues are ~1e-6 per pixel, below TF32 round-off."""
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def second_moment(images: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Uncentered X^T X of the image rows, accumulated in float64 batch by batch on the images' device."""
    d = int(np.prod(images.shape[1:]))
    acc = torch.zeros(d, d, dtype=torch.float64, device=images.device)
    for sl in batches(len(images), batch_size):
        r = rows(images[sl], torch.float64)
        acc.addmm_(r.T, r)
    return acc


def eigenbasis(images: torch.Tensor, batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image eigenvalues (float64, descending) and eigenvectors (D x D float32 columns) of X^T X / N."""
    if len(images) < 2:
        raise LbrError("the learning-dynamics eigenbasis needs at least two measurement images.")
    m = second_moment(images, batch_size) / len(images)
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return vals.flip(0).clamp_min(0), vecs.flip(1).to(torch.float32)


def direction_energy(
    reconstruct: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    vectors: torch.Tensor,
    batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image energy and error of the reconstructions along each eigenvector, float64 (length D each).

    `reconstruct(batch)` maps a batch of `images` to reconstructions (any shape `output_rows` flattens).
    Projections run in float32 without TF32 on the images' device and are summed in float64.
    """
    d = vectors.shape[1]
    energy = torch.zeros(d, dtype=torch.float64, device=images.device)
    error = torch.zeros(d, dtype=torch.float64, device=images.device)
    with torch.no_grad(), full_precision():
        for sl in batches(len(images), batch_size):
            batch = images[sl]
            x = rows(batch)
            xhat = output_rows(reconstruct(batch))
            if xhat.shape != x.shape:
                raise LbrError(f"reconstructions have shape {tuple(xhat.shape)} but images {tuple(x.shape)}.")
            p_hat = xhat @ vectors
            energy += p_hat.square().sum(0, dtype=torch.float64)
            error += (x @ vectors - p_hat).square().sum(0, dtype=torch.float64)
    n = len(images)
    return (energy / n).cpu().numpy(), (error / n).cpu().numpy()


# Band statistics ---------------------------------------------------------------------------------------------


def band_edges(d: int, n_bands: int) -> np.ndarray:
    """Rank boundaries of log-spaced bands of eigen-directions: band b holds ranks [edges[b], edges[b+1])."""
    if n_bands < 1:
        raise LbrError(f"the number of eigen-direction bands must be at least 1, not {n_bands}.")
    edges = np.unique(np.round(np.geomspace(1, d + 1, n_bands + 1)).astype(np.int64)) - 1
    edges[0], edges[-1] = 0, d
    return edges


def band_statistics(
    eigenvalues: np.ndarray, energy: np.ndarray, error: np.ndarray, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Per band (and per measured epoch, the leading axis of energy/error): the share of its variance captured.

    captured     = 1 - sum_band error_k / sum_band eigenvalue_k (1 = reconstructed exactly in that band);
    energy_ratio = sum_band energy_k / sum_band eigenvalue_k (the authors' statistic, summed over the band;
                   it can reach 1 with a wrong reconstruction, so `captured` decides when a band is learned).
    """
    energy, error = np.atleast_2d(energy), np.atleast_2d(error)
    lo, hi = edges[:-1], edges[1:]
    variance = np.add.reduceat(eigenvalues, lo)
    safe = np.where(variance > 0, variance, np.nan)
    return {
        "rank_lo": lo,
        "rank_hi": hi,
        "n_directions": hi - lo,
        "band_variance": variance,
        "band_eigenvalue": variance / (hi - lo),
        "captured": 1.0 - np.add.reduceat(error, lo, axis=1) / safe,
        "energy_ratio": np.add.reduceat(energy, lo, axis=1) / safe,
    }


def capture_epochs(captured: np.ndarray, epochs: np.ndarray, threshold: float = 0.9) -> np.ndarray:
    """First measured epoch at which each band's captured share reaches `threshold` (NaN if it never does).

    captured is (epochs x bands) in the order of `epochs`; an epoch of -1 stands for the untrained model.
    """
    order = np.argsort(epochs)
    reached = captured[order] >= threshold
    first = np.argmax(reached, axis=0)
    out = np.asarray(epochs, dtype=np.float64)[order][first]
    out[~reached.any(axis=0)] = np.nan
    return out


# Tidy tables -------------------------------------------------------------------------------------------------


def direction_table(result: dict, epochs: list[int]) -> pd.DataFrame:
    """One row per (epoch, eigen-direction): k is the authors' x-axis (ascending eigenvalue, 0..D-1)."""
    lam = result["eigenvalues"]
    d = len(lam)
    measured = {int(e): i for i, e in enumerate(result["epochs"])}
    missing = [e for e in epochs if e not in measured]
    if missing:
        raise LbrError(f"epochs {missing} were not measured in this run; plot only epochs below dynamics.epochs.")
    rank = np.arange(d)
    frames = [
        pd.DataFrame({
            "epoch": e, "k": d - 1 - rank, "rank": rank + 1, "energy": result["energy"][measured[e]],
            "error": result["error"][measured[e]], "data_eigenvalue": lam,
        })  # fmt: skip
        for e in epochs
    ]
    return pd.concat(frames, ignore_index=True)


def band_table(result: dict, n_bands: int, threshold: float) -> pd.DataFrame:
    """One row per (measured epoch, band) with the band's captured share and the epoch it first reaches `threshold`."""
    lam = result["eigenvalues"]
    edges = band_edges(len(lam), n_bands)
    st = band_statistics(lam, result["energy"], result["error"], edges)
    epochs = np.asarray(result["epochs"])
    first = capture_epochs(st["captured"], epochs, threshold)
    n_b = len(edges) - 1
    frames = [
        pd.DataFrame({
            "epoch": int(e), "band": np.arange(n_b), "rank_lo": st["rank_lo"] + 1, "rank_hi": st["rank_hi"],
            "n_directions": st["n_directions"], "band_eigenvalue": st["band_eigenvalue"],
            "data_eigenvalue": st["band_eigenvalue"], "captured": st["captured"][i],
            "energy_ratio": st["energy_ratio"][i], "threshold": threshold, "capture_epoch": first,
        })  # fmt: skip
        for i, e in enumerate(epochs)
    ]
    return pd.concat(frames, ignore_index=True)
