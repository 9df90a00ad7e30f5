"""Small image datasets with structure for the closed-form tests (no files, seconds to build)."""

from __future__ import annotations

import numpy as np


def images(n: int = 240, h: int = 4, w: int = 4, c: int = 3, classes: int = 3, seed: int = 0, imbalanced: bool = True):
    """uint8 N x H x W x C images whose class shifts a few pixels, plus smooth shared structure."""
    rng = np.random.default_rng(seed)
    p = np.arange(1, classes + 1, dtype=float)
    y = rng.choice(classes, size=n, p=p / p.sum()) if imbalanced else rng.permutation(np.arange(n) % classes)
    base = rng.normal(size=(n, 1, 1, c)) * 30 + rng.normal(size=(n, h, w, c)) * 12
    ramp = np.linspace(-1, 1, h)[None, :, None, None] * rng.normal(size=(n, 1, 1, 1)) * 25
    evidence = rng.normal(size=(classes, h, w, c)) * 10
    x = 128 + base + ramp + evidence[y]
    return np.clip(np.round(x), 0, 255).astype(np.uint8), y.astype(np.int64)


def preprocessed(x: np.ndarray, kind: str) -> np.ndarray:
    """The three preprocessings written out directly in NumPy (independent of lbr)."""
    flat = x.reshape(len(x), -1).astype(np.float64) / 255.0
    if kind == "raw":
        return flat
    if kind == "per_image":
        flat = flat / (flat.std(1, keepdims=True) + 1e-6)
        return flat - flat.mean(0)
    flat = flat - flat.mean(0)
    return flat / flat.std()


def explained(features: np.ndarray, y_onehot: np.ndarray) -> float:
    """||Y||^2 - min_W ||Y - F W||^2 by least squares."""
    w, *_ = np.linalg.lstsq(features, y_onehot, rcond=None)
    return float((y_onehot**2).sum() - ((y_onehot - features @ w) ** 2).sum())


def sampled_moments(draw, n: int, d: int, draws: int = 20000, chunk: int = 2000):
    """Monte Carlo moments of a sampler: `draw(k)` returns k noisy copies of the n rows, as a (k * n, d) array.
    Returns the mean summed second moment E[sum_n v_n v_n^T] (d x d), its standard error per entry, and the mean of
    each row (n x d)."""
    total, total_sq, mean = np.zeros((d, d)), np.zeros((d, d)), np.zeros((n, d))
    for _ in range(draws // chunk):
        views = np.asarray(draw(chunk)).reshape(chunk, n, d)
        outer = np.einsum("tni,tnj->tij", views, views)
        total += outer.sum(0)
        total_sq += (outer**2).sum(0)
        mean += views.sum(0)
    emp = total / draws
    return emp, np.sqrt((total_sq / draws - emp**2) / draws), mean / draws
