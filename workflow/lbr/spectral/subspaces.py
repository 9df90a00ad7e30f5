"""Top and bottom principal subspaces for a share of variance, and exact projections onto them (no torch
import: `project` works on NumPy arrays and torch tensors alike).

A subspace is named `{side}-{level}`: side is `top` or `bottom`; level is a variance share such as `0.25`,
or `g{i}` for point i of the authors' grid (g0 = half of the directions, g1..g8 their variance grid; g1 splits
off the first direction: top-g1 is it alone, bottom-g1 everything but it). `top-s` keeps the largest set of leading
directions whose cumulative share stays below s (the authors' `explained < pct`); `bottom-s` is the orthogonal
complement of `top-(1-s)`, so top-s and bottom-(1-s) projectors sum to the identity. `"1"` keeps every direction
(the unfiltered data) on either side.

A level exists on a dataset when its side keeps at least one direction and not all of them. Only the first
direction can make a share fail, the same way on both sides: a top share at or below the first direction's share
of the variance would keep nothing, a bottom share at or above one minus it would keep everything. Such a level is
replaced by the nearest subspace that exists (the first direction alone on top, everything but it at the bottom),
marked `substituted`, with its actual `variance_kept` and `dims`; never a silent "everything"
(`feasible_shares` says the range in one sentence). Levels that keep the same directions are one subspace
(`distinct_levels`), trained once.

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

ANNOUNCED: dict[str, set] = {}
"""What the workflow already said about the levels in this process (its Snakefile may be read more than once)."""
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
    substituted: bool = False  # the level kept no direction or every one; this is the nearest subspace that exists

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
        if share <= 0:
            raise LbrError(f"{side}-{level} keeps no direction; give a share of the variance in (0, 1].")
        pct = share if side == "top" else 1.0 - share
        k_top = int((cum < pct).sum())
    if m.group(1) is None and share == 1.0:  # "1": every direction, the unfiltered data, on either side
        k_top = n_dir if side == "top" else 0
        substituted = False
    else:  # the top keeps the first direction at least, the bottom leaves it out at least
        substituted = not 1 <= k_top <= n_dir - 1
        k_top = min(max(k_top, 1), n_dir - 1)
    dims = k_top if side == "top" else n_dir - k_top
    if dims == 0:
        raise LbrError(f"{side}-{level} keeps no direction: the data have {n_dir} direction(s).")
    kept_top = float(cum[k_top - 1]) if k_top > 0 else 0.0
    kept = kept_top if side == "top" else 1.0 - kept_top
    return Subspace(side, str(level), k_top, dims, pct, share, kept, n_dir, rank, substituted)


def feasible_shares(eigenvalues: np.ndarray) -> str:
    """One sentence: the shares of the variance that keep at least one direction and not all on each side."""
    first = 100 * float(cumulative_share(eigenvalues)[0])
    return (
        f"the first direction alone holds {first:.2f}% of the variance, so top shares above {first:.2f}% and bottom "
        f"shares below {100 - first:.2f}% exist; a top share at or below it keeps the first direction alone and a "
        "bottom share at or above the other keeps everything but the first direction"
    )


def substitution(sub: Subspace) -> str:
    """What replaced a level that does not exist on this dataset, in words ('' when it exists)."""
    if not sub.substituted:
        return ""
    what = "the first direction alone" if sub.side == "top" else "every direction but the first"
    return (
        f"{sub.side}-{sub.level} does not exist here; it keeps {what} ({100 * sub.variance_kept:.2f}% of the variance)"
    )


def distinct_levels(
    eigenvalues: np.ndarray, side: str, levels: list[str], grid: Grid | None = None
) -> list[tuple[Subspace, list[str]]]:
    """The subspaces `levels` of one side resolve to, each once, in the order first requested: (the subspace of a
    level that resolves to it, not substituted where one is, and every requested level that does)."""
    out: dict[int, tuple[Subspace, list[str]]] = {}
    for level in levels:
        sub = resolve(eigenvalues, side, str(level), grid)
        if sub.k_top not in out:
            out[sub.k_top] = (sub, [str(level)])
            continue
        kept, requested = out[sub.k_top]
        out[sub.k_top] = (sub if kept.substituted and not sub.substituted else kept, [*requested, str(level)])
    return list(out.values())


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
