"""The paper's pixel preprocessing, written once for NumPy arrays and torch tensors alike (no torch import):
pixels / 255, each image divided by its own std (+ eps), then centred on the train mean.

Images are flattened in H x W x C order (the canonical layout); the flattening order changes no result.
"""

from __future__ import annotations

import numpy as np

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


def row_scale(rows):
    """Each row's std (ddof 0) + eps, as an N x 1 column; NumPy or torch."""
    if isinstance(rows, np.ndarray):
        return rows.std(1, keepdims=True) + STD_EPS
    return rows.std(dim=1, unbiased=False, keepdim=True) + STD_EPS


def standardize(rows):
    """Float rows (N x D, values in [0, 1]) each divided by its own std (ddof 0) + eps; NumPy or torch."""
    return rows / row_scale(rows)


def preprocess_images(images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """uint8 images (N x H x W x C) -> preprocessed float64 rows (N x D), in NumPy (for a handful of images)."""
    rows = images.reshape(len(images), -1).astype(np.float64) / 255.0
    return standardize(rows) - mean


def standardization(images: np.ndarray, chunk_rows: int = 4096) -> tuple[np.ndarray, float]:
    """The frame of the closed forms' `standardize` pixels z = (x - mean) / std of uint8 images N x H x W x C
    (x = pixels / 255): the mean image (H x W x C, float64) and the global std of x - mean over all pixels and
    images (ddof 0), as `lbr.theory.alignment.compute_moments` scales them; float64, chunk by chunk (no N x D
    float copy)."""
    n = len(images)
    flat = images.reshape(n, -1)
    total = np.zeros(flat.shape[1])
    for lo in range(0, n, chunk_rows):
        total += flat[lo : lo + chunk_rows].sum(0, dtype=np.float64) / 255.0
    mean = total / n
    squares = 0.0
    for lo in range(0, n, chunk_rows):
        squares += float(np.square(flat[lo : lo + chunk_rows] / 255.0 - mean).sum())
    return mean.reshape(images.shape[1:]), float(np.sqrt(squares / flat.size))
