"""Chunk sizes are runtime keys (`lbr.config.settings.CHUNKS`): they bound memory and change results by round-off only.

Each result is computed with chunks far smaller than the data and with one chunk holding it all, and compared
within a stated tolerance:
- spectrum eigenvalues: relative 1e-10 (float64 sums in another order);
- spectrum eigenvectors, up to sign: |cos| between the two runs' vectors >= 1 - 1e-5 (they are stored in float32);
- filtered arrays: within one float16 unit in the last place (2^-10 of the largest value);
- closed-form statistics (X^T X, X^T Y, X X^T, the global scale): relative 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_directions import images

from lbr.spectral import eigenbasis as spectrum
from lbr.spectral import filtering, subspaces
from lbr.theory import alignment

CPU = torch.device("cpu")
SMALL, WHOLE = {"chunk_rows": 7, "chunk_cols": 5}, {"chunk_rows": 100_000, "chunk_cols": 100_000}


def same_vectors(a: np.ndarray, b: np.ndarray, k: int) -> None:
    """The first k columns of a and b are the same unit vectors up to sign."""
    cos = np.abs(np.sum(a[:, :k].astype(np.float64) * b[:, :k].astype(np.float64), axis=0))
    np.testing.assert_allclose(cos, 1.0, atol=1e-5)


@pytest.mark.parametrize("method, n", [("covariance", 300), ("gram", 30)])
def test_spectrum_is_the_same_for_any_chunk_size(method, n):
    x = images(n, h=6, w=6)  # D = 108: N = 300 > D for the covariance, N = 30 < D for the Gram route
    small, whole = (spectrum.compute(x, CPU, method=method, **chunks) for chunks in (SMALL, WHOLE))
    assert small["rank"] == whole["rank"]
    np.testing.assert_allclose(small["eigenvalues"], whole["eigenvalues"], rtol=1e-10, atol=0)
    np.testing.assert_allclose(small["mean"], whole["mean"], rtol=1e-12, atol=1e-15)
    same_vectors(small["eigenvectors"], whole["eigenvectors"], int(whole["rank"]))


@pytest.mark.parametrize("side, level", [("top", "0.7"), ("bottom", "0.2")])
def test_filtered_arrays_are_the_same_for_any_chunk_size(tmp_path, side, level):
    x, test = images(120, h=6, w=6), images(20, h=6, w=6, seed=3)
    sp = spectrum.compute(x, CPU)
    sub = subspaces.resolve(sp["eigenvalues"], side, level)
    got = {}
    for rows in (3, 2048):
        out = {s: str(tmp_path / f"{rows}-{s}.npy") for s in ("train", "test")}
        out |= {f"{s}_info": str(tmp_path / f"{rows}-{s}.json") for s in ("train", "test")}
        filtering.filter_dataset({"train": x, "test": test}, sp, sub, out, CPU, rows, "small")
        got[rows] = {s: np.load(out[s]).astype(np.float32) for s in ("train", "test")}
    for split in ("train", "test"):
        ulp = 2.0**-10 * np.abs(got[2048][split]).max()
        np.testing.assert_allclose(got[3][split], got[2048][split], atol=ulp, rtol=0)


@pytest.mark.parametrize("method, n", [("covariance", 300), ("gram", 30)])
def test_closed_form_statistics_are_the_same_for_any_chunk_size(method, n):
    x = images(n, h=6, w=6)
    y = np.arange(n) % 4
    small, whole = (alignment.compute_moments(x, y, 4, "standardize", method, CPU, **c) for c in (SMALL, WHOLE))
    assert small.scale == pytest.approx(whole.scale, rel=1e-12)
    for key in ("xtx", "xty") if method == "covariance" else ("gram",):
        np.testing.assert_allclose(getattr(small, key).numpy(), getattr(whole, key).numpy(), rtol=1e-12, atol=1e-12)
