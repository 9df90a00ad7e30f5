"""Training subsets: a fixed, seeded, class-balanced draw of a training split, and its record.

`train_subset: null` (the default, the paper) trains on the whole split; an integer trains on that many images,
the same ones on every machine and every rerun, so a reduced-scale run is reproducible and comparable. The test
split is never subsetted. No torch: the rule is plain numpy.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from lbr.errors import LbrError

log = logging.getLogger(__name__)

_REMAINDER, _WITHIN = 0, 1  # spawn keys of the seed's two independent streams


def class_quotas(counts: np.ndarray, size: int, extra: np.ndarray) -> np.ndarray:
    """Images drawn per class: the largest level t with sum(min(count, t)) <= size, each class min(count, t),
    then one more for the first `size - sum` classes of `extra` (an order of the classes) that have more
    than t images. A class below the level gives all it has; what it lacks goes to the others."""
    lo, hi = 0, int(counts.max())
    while lo < hi:  # largest t with sum(min(counts, t)) <= size
        t = (lo + hi + 1) // 2
        lo, hi = (t, hi) if np.minimum(counts, t).sum() <= size else (lo, t - 1)
    quotas = np.minimum(counts, lo)
    left = size - int(quotas.sum())
    open_ = [c for c in extra if counts[c] > lo][:left]
    quotas[open_] += 1
    return quotas


def balanced_subset(labels: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced subset of `size` images of a split labelled `labels`.

    The rule: each of the C classes present gets size // C images; the remainder goes one image each to
    classes chosen at random by the seed; a class with fewer images than its share gives all of them and
    the shortfall is shared the same way among the others, so per-class counts differ by at most one except
    for classes that gave everything. Within a class, the images taken are the first of a permutation of
    that class's images drawn from (seed, class label) alone: the same seed gives the same images whatever
    the order or number of other classes' images. `size` None or >= N: every index.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if size is None or size >= n:
        return np.arange(n, dtype=np.int64)
    if size < 1:
        raise LbrError(f"a training subset must hold at least one image, not {size}.")
    present, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    root = np.random.SeedSequence(int(seed))
    remainder_order = np.random.default_rng(_child(root, _REMAINDER)).permutation(len(present))
    quotas = class_quotas(counts, int(size), remainder_order)
    chosen = []
    for c, label in enumerate(present):
        members = np.flatnonzero(inverse == c)
        if quotas[c] == len(members):
            chosen.append(members)
            continue
        rng = np.random.default_rng(_child(root, _WITHIN, int(label)))
        chosen.append(members[rng.permutation(len(members))[: quotas[c]]])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _child(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """An independent stream of the seed for one purpose (and one class)."""
    return np.random.SeedSequence(root.entropy, spawn_key=key)


def indices_sha(indices: np.ndarray) -> str:
    """A short fingerprint of an index array: sha256 of its little-endian int64 bytes, 12 hex digits."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype="<i8").tobytes()).hexdigest()[:12]


@dataclass(frozen=True)
class TrainSubset:
    """The training images a job trains on, as drawn from its settings, and what the run records of them."""

    indices: np.ndarray
    setting: int | None
    seed: int
    total: int

    @property
    def whole(self) -> bool:
        return len(self.indices) == self.total

    @property
    def sha(self) -> str:
        return indices_sha(self.indices)

    @property
    def data_key(self) -> str:
        """What a checkpoint must agree on (`LoopConfig.data`): the sha of a subset, empty for the whole split."""
        return "" if self.whole else self.sha

    def rows(self, x: np.ndarray) -> np.ndarray:
        """The subset's rows of `x` (one gather; a memmapped x reads only them), `x` itself for the whole split."""
        return x if self.whole else x[self.indices]

    def record(self) -> dict:
        """train_subset (the setting), subset_seed, n_train (images trained on), subset_sha."""
        return {
            "train_subset": self.setting,
            "subset_seed": self.seed,
            "n_train": len(self.indices),
            "subset_sha": self.sha,
        }


def draw_subset(labels: np.ndarray, size: int | None, seed: int, key: str) -> TrainSubset:
    """The subset `size` (config key `key`, e.g. fig4.train_subset) of a training split, checked and logged."""
    labels = np.asarray(labels)
    n_classes = len(np.unique(labels))
    if size is not None and size < n_classes:
        raise LbrError(
            f"{key} is {size}, fewer than the {n_classes} classes of the training split; set it to at least "
            f"{n_classes} (or null for the whole split)."
        )
    subset = TrainSubset(balanced_subset(labels, size, seed), size, int(seed), len(labels))
    if subset.whole:
        log.info(f"training on the whole split: {subset.total} images ({key}: {size})")
    else:
        per_class = np.bincount(np.unique(labels, return_inverse=True)[1][subset.indices], minlength=n_classes)
        log.info(
            f"training subset {key}={size} seed {seed}: {len(subset.indices)} of {subset.total} images, "
            f"{per_class.min()}-{per_class.max()} per class, sha {subset.sha}"
        )
    return subset
