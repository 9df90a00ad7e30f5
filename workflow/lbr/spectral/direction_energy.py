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

from collections.abc import Callable

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.machine.device import float32_math
from lbr.spectral.accumulate import SymmetricSum, chunks, eigh_descending


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


def second_moment(images: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Uncentered X^T X of the image rows, accumulated in float64 batch by batch on the images' device."""
    acc = SymmetricSum(int(np.prod(images.shape[1:])), images.device)
    for sl in chunks(len(images), batch_size):
        acc.add_rows(rows(images[sl], torch.float64))
    return acc.result(batch_size)


def eigenbasis(images: torch.Tensor, batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image eigenvalues (float64, descending) and eigenvectors (D x D float32 columns) of X^T X / N."""
    if len(images) < 2:
        raise LbrError("the learning-dynamics eigenbasis needs at least two measurement images.")
    vals, vecs = eigh_descending(second_moment(images, batch_size) / len(images))
    return vals.clamp_min(0), vecs.to(torch.float32)


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
    with torch.no_grad(), float32_math(tf32=False):  # bottom eigenvalues ~1e-6 < TF32 round-off
        for sl in chunks(len(images), batch_size):
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
