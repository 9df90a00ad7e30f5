"""Eigenbasis of the preprocessed train pixels, with bounded memory.

N >= D: the D x D covariance is accumulated in float64 over row chunks (memory: D x D plus one chunk).
N < D: the Gram trick (paper Sec. 6.7): eigenpairs of the N x N Gram matrix, accumulated over column chunks,
mapped back to pixel space as X^T u / sqrt(s). Decompositions run on the GPU when one is visible.

Both routes give the same spectrum file: D eigenvalues (train variances, descending), exactly 0 beyond the
data's rank r (the centred N x D train images span r <= min(D, N - 1) directions; eigenvalues below RANK_RTOL
of the largest are round-off of directions they do not span), and `rank` = r. The covariance route stores all
D eigenvectors; the Gram route the leading min(r, max_vectors), as the directions without variance need no
vector: a bottom subspace is the complement of a top one (`subspaces.project`).
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.spectral import preprocess as pp
from lbr.spectral.accumulate import SymmetricSum, chunks, eigh_descending, tracked_chunks
from lbr.spectral.basis_file import RANK_RTOL
from lbr.spectral.pixels import record, row_scale

log = logging.getLogger("lbr.spectrum")


def covariance(x: np.ndarray, mean: torch.Tensor, chunk_rows: int = 4096) -> torch.Tensor:
    """Sum over images of (x - mean)(x - mean)^T for preprocessed rows, float64, accumulated chunk by chunk."""
    acc = SymmetricSum(mean.numel(), mean.device)
    for sl in tracked_chunks(len(x), chunk_rows, f"covariance of {len(x)} images (D={mean.numel()})", "images"):
        acc.add_rows(pp.preprocess(x[sl], mean))
    return acc.result(chunk_rows)


def gram(x: np.ndarray, mean: torch.Tensor, chunk_cols: int = 8192) -> torch.Tensor:
    """N x N Gram matrix of the preprocessed rows, accumulated over pixel (column) chunks."""
    flat = x.reshape(len(x), -1)
    std = torch.cat([_row_std(flat[sl], mean.device) for sl in chunks(len(flat), 4096)])
    acc = SymmetricSum(len(flat), mean.device)
    for cols in tracked_chunks(flat.shape[1], chunk_cols, f"Gram matrix of {len(flat)} images", "pixels"):
        acc.add_cols(_columns(flat, cols, std, mean))
    return acc.result()


def _row_std(rows: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(rows).to(device=device, dtype=torch.float64) / 255.0
    return row_scale(t)[:, 0]


def _columns(flat: np.ndarray, cols: slice, std: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    block = torch.as_tensor(np.ascontiguousarray(flat[:, cols])).to(device=mean.device, dtype=torch.float64)
    return block / 255.0 / std[:, None] - mean[cols]


def compute(
    x: np.ndarray,
    device: torch.device,
    chunk_rows: int = 4096,
    chunk_cols: int = 8192,
    max_vectors: int | None = None,
    method: str = "auto",
) -> dict:
    """Eigenvalues (variances, descending), eigenvectors (D x r) and train mean of preprocessed images."""
    n, d = len(x), int(np.prod(x.shape[1:]))
    if n < 2:
        raise LbrError("an eigenbasis needs at least two training images.")
    if method == "auto":
        method = "covariance" if n >= d else "gram"
    t0 = time.time()
    mean = pp.train_mean(x, device, chunk_rows)
    if method == "covariance":
        cov = covariance(x, mean, chunk_rows)
        log.info("covariance %dx%d from %d images in %.1f s", d, d, n, time.time() - t0)
        vals, vecs = eigh_descending(cov, "eigenbasis")
        del cov
    elif method == "gram":
        g = gram(x, mean, chunk_cols)
        log.info("Gram %dx%d (D=%d) in %.1f s", n, n, d, time.time() - t0)
        vals, u = eigh_descending(g, "eigenbasis (Gram route)")
        del g
        keep = data_rank(vals)
        if max_vectors:
            keep = min(keep, int(max_vectors))
        vecs = _gram_vectors(x, mean, u[:, :keep], vals[:keep], chunk_cols)
        vals = torch.cat([vals[:d], vals.new_zeros(max(0, d - n))])
    else:
        raise LbrError(f"spectrum.method must be auto, covariance or gram, not '{method}'.")
    rank = data_rank(vals)
    vals = vals.clamp_min(0) / n
    vals[rank:] = 0
    log.info(
        "eigendecomposition done in %.1f s total (%s): rank %d of D=%d (N=%d), %d vectors kept",
        time.time() - t0,
        method,
        rank,
        d,
        n,
        vecs.shape[1],
    )
    return {
        "eigenvalues": vals.cpu().numpy(),
        "rank": np.int64(rank),
        "eigenvectors": vecs.to(torch.float32).cpu().numpy(),
        "mean": mean.cpu().numpy(),
        "shape": np.asarray(x.shape[1:], dtype=np.int64),
        "n_train": np.int64(n),
        "method": np.asarray(method),
        "preprocessing": np.asarray(json.dumps(record())),
    }


def data_rank(eigenvalues: torch.Tensor | np.ndarray) -> int:
    """Directions with train variance: eigenvalues (descending) above RANK_RTOL times the largest."""
    top = float(eigenvalues[0])
    return int((eigenvalues > RANK_RTOL * top).sum()) if top > 0 else 0


def _gram_vectors(x: np.ndarray, mean: torch.Tensor, u: torch.Tensor, s: torch.Tensor, chunk_cols: int):
    """Pixel-space eigenvectors X^T u / sqrt(s), built one column block at a time."""
    flat = x.reshape(len(x), -1)
    std = torch.cat([_row_std(flat[sl], mean.device) for sl in chunks(len(flat), 4096)])
    scale = u / s.sqrt()[None, :]
    out = torch.empty(flat.shape[1], u.shape[1], dtype=torch.float64, device=mean.device)
    for cols in tracked_chunks(flat.shape[1], chunk_cols, f"{u.shape[1]} eigenvectors in pixel space", "pixels"):
        out[cols] = _columns(flat, cols, std, mean).T @ scale
    return out
