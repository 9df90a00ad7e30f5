"""Top and bottom principal subspaces for a share of variance, and exact projections onto them (no torch
import: `project` works on NumPy arrays and torch tensors alike).

A subspace is named `{side}-{level}`: side is `top` or `bottom`; level is a variance share such as `0.25`,
or `g{i}` for point i of the authors' grid (g0 = half of the directions, g1..g8 their variance grid).
`top-s` keeps the largest set of leading directions whose cumulative share stays below s (the authors'
`explained < pct`); `bottom-s` is the orthogonal complement of `top-(1-s)`, so top-s and bottom-(1-s)
projectors sum to the identity.

Directions are those of the whole pixel space, D of them (`n_directions`), in descending order of train
variance. The centred train images span at most min(D, N - 1) of them (`rank`); the others carry no train
variance (eigenvalue 0, last in the order), so they are never in a top subspace and always in a bottom one: a
train image has no component there, a test image may. `dims` counts every direction of the subspace,
`outside_span` those of them outside the data's span.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from lbr.errors import LbrError

LEVEL_RE = re.compile(r"^(?:g(\d+)|(0(?:\.\d+)?|1(?:\.0+)?|\.\d+))$")


@dataclass(frozen=True)
class Grid:
    """The authors' variance grid: `points` cut-offs, linear for top, t**bottom_power-spaced for bottom."""

    points: int
    bottom_power: float

    @classmethod
    def from_config(cls, config: dict) -> Grid:
        return cls(int(config["filter"]["grid_points"]), float(config["filter"]["bottom_power"]))


@dataclass(frozen=True)
class Subspace:
    side: str
    level: str
    k_top: int
    dims: int
    pct: float
    share: float
    variance_kept: float
    n_directions: int
    rank: int | None = None  # directions with train variance; None: all n_directions

    @property
    def outside_span(self) -> int:
        """Directions of this subspace that carry no train variance (outside the data's span)."""
        span = self.n_directions if self.rank is None else self.rank
        return self.n_directions - span if self.side == "bottom" else 0

    def describe(self) -> str:
        """How many directions it keeps, e.g. '120 of 3072 directions' or, for a bottom subspace of data that
        span fewer than D: '1430 of 3072 directions: 357 of the 1499 with train variance and the 1073 without'."""
        text = f"{self.dims} of {self.n_directions} directions"
        if self.outside_span:
            text += (
                f": {self.dims - self.outside_span} of the {self.rank} with train variance and the "
                f"{self.outside_span} without"
            )
        return text


def cumulative_share(eigenvalues: np.ndarray) -> np.ndarray:
    """cum[k-1] = share of the variance held by the top k directions (eigenvalues in descending order); exactly
    1 from the last direction with variance on."""
    cum = np.cumsum(np.clip(np.asarray(eigenvalues, dtype=np.float64), 0, None))
    return cum / cum[-1]


def authors_grid(eigenvalues: np.ndarray, side: str, grid: Grid) -> np.ndarray:
    """The authors' variance cut-offs: linear for top, t**power-spaced for bottom, between the top-2 share
    and 1 - (smallest direction's share)."""
    cum = cumulative_share(eigenvalues)
    if len(cum) < 3:
        raise LbrError("the variance grid needs at least three directions.")
    b0, b1 = cum[1], cum[-2]
    t = np.linspace(0, 1, grid.points)
    return b0 + (b1 - b0) * (t if side == "top" else t**grid.bottom_power)


def resolve(eigenvalues: np.ndarray, side: str, level: str, grid: Grid | None = None) -> Subspace:
    """Turn a side and a level into the number of leading directions that splits top from bottom (a grid
    point needs the grid). `eigenvalues` are D train variances, 0 for directions without variance. g0 splits the
    D directions in half, as the authors' code, when the leading half all have variance; when the data span
    fewer (N < D / 2), it splits the directions they span in half instead."""
    if side not in ("top", "bottom"):
        raise LbrError(f"subspace side must be 'top' or 'bottom', not '{side}'.")
    m = LEVEL_RE.match(str(level))
    if not m:
        raise LbrError(f"subspace level '{level}' is neither a variance share in [0, 1] nor a grid point g<i>.")
    cum = cumulative_share(eigenvalues)
    n_dir = len(cum)
    rank = int((np.asarray(eigenvalues) > 0).sum())
    if m.group(1) is not None:
        i = int(m.group(1))
        if grid is None:
            raise LbrError(f"grid point {level} needs the authors' grid (filter.grid_points, filter.bottom_power).")
        if i > grid.points:
            raise LbrError(f"grid point g{i} does not exist: the grid has g0 (half the dimensions) to g{grid.points}.")
        if i == 0:
            k_top = n_dir // 2 if side == "top" else n_dir - n_dir // 2
            if k_top > rank:
                k_top = rank // 2 if side == "top" else rank - rank // 2
            pct, share = float("nan"), float("nan")
        else:
            pct = float(authors_grid(eigenvalues, side, grid)[i - 1])
            k_top = int((cum < pct).sum())
            share = pct if side == "top" else 1.0 - pct
    else:
        share = float(level)
        pct = share if side == "top" else 1.0 - share
        k_top = int((cum < pct).sum())
    dims = k_top if side == "top" else n_dir - k_top
    if dims == 0:
        first = 100 * cum[0]
        raise LbrError(
            f"{side}-{level} keeps no direction (the first direction alone holds {first:.2f}% of the variance); "
            "pick a share that leaves at least one direction on that side."
        )
    kept_top = float(cum[k_top - 1]) if k_top > 0 else 0.0
    kept = kept_top if side == "top" else 1.0 - kept_top
    return Subspace(side, str(level), k_top, dims, pct, share, kept, n_dir, rank)


def resolve_sides(eigenvalues: np.ndarray, levels: dict, grid: Grid) -> list[Subspace]:
    """The bottom and top subspaces a figure shows ({bottom: level, top: level}, e.g. config fig9), in that order."""
    return [resolve(eigenvalues, side, levels[side], grid) for side in ("bottom", "top")]


def project(rows, vectors, sub: Subspace):
    """Project preprocessed rows (N x D) onto the subspace; uses the cheaper of P and I - P (NumPy or torch)."""
    d, r = vectors.shape
    full = r == d
    if sub.k_top > r:
        raise LbrError(
            f"{sub.side}-{sub.level} needs the top {sub.k_top} eigenvectors but only {r} were stored; "
            "raise spectrum.max_vectors and rebuild the spectrum."
        )
    if sub.side == "top":
        v = vectors[:, : sub.k_top]
        return (rows @ v) @ v.T
    if full and d - sub.k_top < sub.k_top:
        v = vectors[:, sub.k_top :]
        return (rows @ v) @ v.T
    v = vectors[:, : sub.k_top]
    return rows - (rows @ v) @ v.T


def subspace_dict(sub: Subspace) -> dict:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(sub).items()}
