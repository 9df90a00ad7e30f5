"""The paper's pixel preprocessing: per-image std normalisation, then centring on the train mean.

Images are flattened in H x W x C order (the canonical layout); the flattening order changes no result.
"""

from __future__ import annotations

import numpy as np
import torch

STD_EPS = 1e-6


def record() -> dict:
    """What was done to the pixels, stored next to every eigenbasis."""
    return {
        "scale": "pixels / 255",
        "per_image_std": "divide each image by (std over all its H*W*C values, ddof=0) + 1e-6",
        "center": "subtract the train-set mean image of the std-normalised train images",
        "layout": "HWC",
        "statistics_from": "train split only",
    }


def normalize_images(x: np.ndarray | torch.Tensor, device: torch.device, dtype=torch.float64) -> torch.Tensor:
    """uint8 (N, H, W, C) or (N, D) -> (N, D) tensor, each row divided by its own std (+ eps)."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    t = t.reshape(t.shape[0], -1).to(device=device, dtype=dtype) / 255.0
    return t / (t.std(dim=1, unbiased=False, keepdim=True) + STD_EPS)


def chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


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
