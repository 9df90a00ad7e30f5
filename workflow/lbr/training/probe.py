"""A closed-form linear probe of frozen features (Fig. 10): ridge regression onto one-hot labels, the class of
largest score wins. Cheap, deterministic and free of settings besides its ridge, so probe accuracies of different
runs compare the features alone.

With features f standardised on the training images (z = (f - mean) / std, per feature, ddof 0; a feature that
is constant there gets weight 0) and one-hot targets Y, the probe solves

    min_W  (1/n) ||Y - ybar - Z W||^2 + ridge ||W||^2          scores(f) = z W + ybar

(ybar = the class frequencies: the intercept of centred features). As every standardised feature has unit
variance, `ridge` is relative to it. In float64: the primal normal equations (Z^T Z / n + ridge I) W = Z^T Y / n
from d x d sums accumulated batch by batch when d <= n, else the dual W = Z^T (Z Z^T / n + ridge I)^{-1} Y / n
from the n x n Gram matrix. sklearn's RidgeClassifier (alpha = n ridge, fit_intercept) on the same standardised
features gives the same decisions (tests/test_probe.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from lbr.errors import LbrError

DEAD = 1e-12
"""A feature whose variance is below DEAD x the largest feature variance counts as constant."""


@dataclass(frozen=True)
class RidgeProbe:
    mean: torch.Tensor  # (d,) float64
    scale: torch.Tensor  # (d,) float64, 1 for constant features
    weights: torch.Tensor  # (d, C) float64, 0 for constant features
    bias: torch.Tensor  # (C,) float64

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """N x C scores of float features N x d."""
        z = (features.to(torch.float64) - self.mean) / self.scale
        return z @ self.weights + self.bias

    def accuracy(self, batches: Iterable[torch.Tensor], labels: torch.Tensor) -> float:
        """Share of the images whose largest score is their label; `batches` are their features in order."""
        right, seen = 0, 0
        for f in batches:
            y = labels[seen : seen + len(f)]
            right += int((self.scores(f).argmax(1) == y).sum())
            seen += len(f)
        if seen != len(labels):
            raise LbrError(f"the probe scored {seen} images but {len(labels)} labels were given.")
        return right / seen


def fit(batches: Iterable[torch.Tensor], labels: torch.Tensor, n_classes: int, ridge: float) -> RidgeProbe:
    """The ridge probe of features given batch by batch (float N_b x d, in the order of `labels`, int64 N)."""
    if not ridge > 0:
        raise LbrError(f"the probe's ridge must be positive, not {ridge}.")
    labels = labels.to(torch.int64)
    n = len(labels)
    one_hot = torch.nn.functional.one_hot(labels, n_classes).to(torch.float64)
    ybar = one_hot.mean(0)
    it = iter(batches)
    first = next(it, None)
    if first is None or n < 2:
        raise LbrError("the probe needs the features of at least two training images.")
    d = first.shape[1]
    if d <= n:
        return _primal(first, it, one_hot, ybar, ridge)
    return _dual(torch.cat([first, *it]), one_hot, ybar, ridge)


def _standardising(mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, alive): per-feature std, 1 where the feature is constant, and which features vary."""
    var = var.clamp_min(0)
    alive = var > DEAD * var.max()
    return torch.where(alive, var.sqrt(), torch.ones_like(var)), alive


def _primal(
    first: torch.Tensor, rest: Iterator[torch.Tensor], one_hot: torch.Tensor, ybar: torch.Tensor, ridge: float
) -> RidgeProbe:
    d, dev = first.shape[1], first.device
    one_hot, ybar = one_hot.to(dev), ybar.to(dev)
    total = torch.zeros(d, dtype=torch.float64, device=dev)
    gram = torch.zeros(d, d, dtype=torch.float64, device=dev)
    cross = torch.zeros(d, one_hot.shape[1], dtype=torch.float64, device=dev)
    seen = 0
    for f in itertools.chain([first], rest):
        f = f.to(torch.float64)
        total += f.sum(0)
        gram.addmm_(f.T, f)
        cross.addmm_(f.T, one_hot[seen : seen + len(f)])
        seen += len(f)
    n = len(one_hot)
    if seen != n:
        raise LbrError(f"the probe got the features of {seen} images but {n} labels.")
    mean = total / n
    cov = gram / n - torch.outer(mean, mean)
    scale, alive = _standardising(mean, cov.diagonal().clone())
    keep = alive.to(torch.float64)
    cov = cov / torch.outer(scale, scale) * torch.outer(keep, keep)
    rhs = (cross / n - torch.outer(mean, ybar)) / scale[:, None] * keep[:, None]
    cov.diagonal().add_(ridge)
    weights = torch.linalg.solve(cov, rhs)
    return RidgeProbe(mean, scale, weights, ybar)


def _dual(features: torch.Tensor, one_hot: torch.Tensor, ybar: torch.Tensor, ridge: float) -> RidgeProbe:
    n = len(features)
    one_hot, ybar = one_hot.to(features.device), ybar.to(features.device)
    if len(one_hot) != n:
        raise LbrError(f"the probe got the features of {n} images but {len(one_hot)} labels.")
    f = features.to(torch.float64)
    mean = f.mean(0)
    scale, alive = _standardising(mean, f.var(0, unbiased=False))
    z = (f - mean) / scale * alive
    gram = z @ z.T / n
    gram.diagonal().add_(ridge)
    alpha = torch.linalg.solve(gram, (one_hot - ybar) / n)
    return RidgeProbe(mean, scale, z.T @ alpha, ybar)
