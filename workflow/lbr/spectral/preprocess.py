"""The paper's pixel preprocessing on the device, for whole datasets streamed in chunks (see `pixels`)."""

from __future__ import annotations

import numpy as np
import torch

from lbr.spectral.accumulate import chunks
from lbr.spectral.pixels import standardize


def normalize_images(x: np.ndarray | torch.Tensor, device: torch.device, dtype=torch.float64) -> torch.Tensor:
    """uint8 (N, H, W, C) or (N, D) -> (N, D) tensor, each row divided by its own std (+ eps)."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    return standardize(t.reshape(t.shape[0], -1).to(device=device, dtype=dtype) / 255.0)


def train_mean(x: np.ndarray, device: torch.device, chunk_rows: int = 4096) -> torch.Tensor:
    """Mean image (length D, float64) of the std-normalised train images, accumulated over chunks."""
    total = None
    for sl in chunks(len(x), chunk_rows):
        part = normalize_images(x[sl], device).sum(dim=0)
        total = part if total is None else total + part
    return total / len(x)


def preprocess(x: np.ndarray, mean: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    """uint8 images -> normalised, centred (N, D) rows on mean's device."""
    return normalize_images(x, mean.device, dtype) - mean.to(dtype)
