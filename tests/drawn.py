"""What a matplotlib figure shows, read back for the figure tests: the data of its lines and points, to compare
with the table it was drawn from (the expected values are computed in the tests from the table, with pandas)."""

from __future__ import annotations

import numpy as np


def lines(ax, min_points: int = 3) -> list[np.ndarray]:
    """The (n, 2) data of each line of `ax` with at least `min_points` points (reference lines such as axhline
    have two), in data coordinates."""
    return [np.asarray(line.get_xydata(), float) for line in ax.get_lines() if len(line.get_xdata()) >= min_points]


def same(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9) -> bool:
    """Two curves are the same: equal shape and values (NaN where the other has NaN)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=0, equal_nan=True))


def assert_curves(ax, expected: list[np.ndarray], min_points: int = 3) -> None:
    """The lines of `ax` (those of at least min_points points) are exactly the expected (n, 2) curves, in any order,
    each drawn once."""
    drawn = lines(ax, min_points)
    assert len(drawn) == len(expected), f"{len(drawn)} lines drawn, {len(expected)} expected"
    for want in expected:
        hits = [got for got in drawn if same(got, want)]
        assert len(hits) == 1, f"curve {np.round(want, 4).tolist()} drawn {len(hits)} times; drawn: {drawn}"


def points(ax) -> np.ndarray:
    """Every point drawn on `ax`, as lines' vertices (markers, error-bar centres and caps) or scatter offsets."""
    found = [np.asarray(line.get_xydata(), float).reshape(-1, 2) for line in ax.get_lines()]
    found += [np.asarray(c.get_offsets(), float).reshape(-1, 2) for c in ax.collections if hasattr(c, "get_offsets")]
    return np.concatenate(found) if found else np.zeros((0, 2))


def assert_points(ax, expected: np.ndarray, rtol: float = 1e-9) -> None:
    """Each expected (x, y) point is drawn on `ax`."""
    drawn = points(ax)
    for x, y in np.asarray(expected, float).reshape(-1, 2):
        near = np.isclose(drawn[:, 0], x, rtol=rtol, atol=0) & np.isclose(drawn[:, 1], y, rtol=rtol, atol=0)
        assert near.any(), f"point ({x:.6g}, {y:.6g}) is not drawn"
