"""Direction counts of the spectrum and its subspaces, on data with fewer images than pixels (N < D: the centred
images span N - 1 directions) and with more (N > D), checked against NumPy's SVD of the preprocessed images.

What holds: the spectrum file stores D eigenvalues, exactly 0 beyond the rank r, and r; `n_directions` is D;
a top subspace holds only directions with variance, a bottom one also the D - r without (`outside_span`), so top-s
and bottom-(1-s) still split the pixel space; the Gram route (N < D) and the covariance route give the same
subspaces and the same filtered images, test images included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lbr.spectral import basis_file, filtering, subspaces
from lbr.spectral import eigenbasis as spectrum

CPU = torch.device("cpu")
GRID = subspaces.Grid(points=8, bottom_power=0.25)


def images(n: int, h: int = 8, w: int = 8, c: int = 3, seed: int = 0) -> np.ndarray:
    """Correlated uint8 images, so that the spectrum decays."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, h, w, c))
    smooth = base + np.roll(base, 1, axis=1) + np.roll(base, 1, axis=2)
    return np.clip(128 + 30 * smooth, 0, 255).astype(np.uint8)


def reference(x: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """(variances of the preprocessed train images along their principal directions, all D of them; their rank;
    the right singular vectors D x D) from NumPy's SVD, written independently of lbr."""
    f = x.reshape(len(x), -1).astype(np.float64) / 255.0
    f = f / (f.std(axis=1, keepdims=True) + 1e-6)
    f = f - f.mean(axis=0)
    _, s, vt = np.linalg.svd(f, full_matrices=True)
    var = np.zeros(f.shape[1])
    var[: len(s)] = s**2 / len(x)
    return var, int(np.linalg.matrix_rank(f)), vt.T


@pytest.mark.parametrize("method", ["gram", "covariance"])
def test_few_images_span_n_minus_one_directions_and_the_rest_have_no_variance(method):
    x = images(30)  # N = 30 < D = 192
    sp = spectrum.compute(x, CPU, method=method)
    var, rank, _ = reference(x)
    assert rank == 29 and sp["rank"] == 29
    assert len(sp["eigenvalues"]) == 192
    np.testing.assert_allclose(sp["eigenvalues"][:29], var[:29], rtol=1e-8)
    assert np.all(sp["eigenvalues"][29:] == 0)
    assert sp["eigenvectors"].shape[1] == (29 if method == "gram" else 192)


def test_counts_of_top_and_bottom_subspaces_when_n_is_below_d(tmp_path):
    x = images(30)
    basis_file.save(tmp_path / "s.npz", spectrum.compute(x, CPU, method="gram"))
    sp = basis_file.load(tmp_path / "s.npz")
    var, _, _ = reference(x)
    cum = np.cumsum(var) / var.sum()
    top = subspaces.resolve(sp["eigenvalues"], "top", "0.5")
    k = int((cum < 0.5).sum())
    assert (top.dims, top.n_directions, top.rank, top.outside_span) == (k, 192, 29, 0)
    bottom = subspaces.resolve(sp["eigenvalues"], "bottom", "0.5")
    assert (bottom.dims, bottom.outside_span) == (192 - k, 163)
    with_variance = f"{29 - k} of the 29 with train variance"
    assert bottom.describe() == f"{192 - k} of 192 directions: {with_variance} and the 163 without"
    everything = subspaces.resolve(sp["eigenvalues"], "bottom", "1")  # the "bottom-1: 1500 of 1500 directions"
    assert (everything.dims, everything.variance_kept) == (192, 1.0)
    assert everything.describe() == "192 of 192 directions: 29 of the 29 with train variance and the 163 without"
    assert top.describe() == f"{k} of 192 directions"
    # g0 halves the 29 directions the data span, as D / 2 = 96 leading directions with variance do not exist here
    assert subspaces.resolve(sp["eigenvalues"], "top", "g0", GRID).dims == 14
    g0 = subspaces.resolve(sp["eigenvalues"], "bottom", "g0", GRID)
    assert (g0.k_top, g0.dims - g0.outside_span) == (15, 14)
    # the top end of the authors' grid keeps every direction with variance but the last
    assert subspaces.resolve(sp["eigenvalues"], "top", "g8", GRID).dims == 28


def test_counts_when_n_is_above_d():
    x = images(400, h=4, w=4)  # N = 400 > D = 48: full rank, nothing outside the span
    sp = spectrum.compute(x, CPU)
    var, rank, _ = reference(x)
    assert sp["rank"] == rank == 48 and sp["method"] == "covariance"
    np.testing.assert_allclose(sp["eigenvalues"], var, rtol=1e-8)
    for side, level in (("top", "0.5"), ("bottom", "0.3"), ("bottom", "1")):
        sub = subspaces.resolve(sp["eigenvalues"], side, level)
        assert sub.n_directions == 48 and sub.outside_span == 0
        assert sub.describe() == f"{sub.dims} of 48 directions"
    assert subspaces.resolve(sp["eigenvalues"], "top", "g0", GRID).dims == 24  # D / 2, the authors' half


def test_gram_and_covariance_routes_filter_train_and_test_images_alike(tmp_path):
    """The bottom subspace is the complement of the top one in both routes, so a test image's component outside
    the training span lands in the bottom subspace either way."""
    x, test = images(30), images(12, seed=5)
    routes = {m: spectrum.compute(x, CPU, method=m) for m in ("gram", "covariance")}
    for side, level in (("top", "0.6"), ("bottom", "0.4"), ("bottom", "g3")):
        got = {}
        for method, sp in routes.items():
            sub = subspaces.resolve(sp["eigenvalues"], side, level, GRID)
            out = {s: str(tmp_path / f"{method}-{side}-{s}.npy") for s in ("train", "test")}
            out |= {f"{s}_info": str(tmp_path / f"{method}-{side}-{s}.json") for s in ("train", "test")}
            filtering.filter_dataset({"train": x, "test": test}, sp, sub, out, CPU, 7, "small")
            got[method] = (sub, {s: np.load(out[s]).astype(np.float32) for s in ("train", "test")})
        (sub_g, arr_g), (sub_c, arr_c) = got["gram"], got["covariance"]
        counts = [(sub.k_top, sub.dims, sub.rank, sub.outside_span) for sub in (sub_g, sub_c)]
        assert counts[0] == counts[1] and counts[0][2] == 29
        assert abs(sub_g.variance_kept - sub_c.variance_kept) < 1e-10
        for split in ("train", "test"):
            # float16 outputs: within two of their units in the last place (2 x 2^-10 of the largest value)
            np.testing.assert_allclose(arr_g[split], arr_c[split], atol=2e-3 * np.abs(arr_c[split]).max())


def test_a_spectrum_file_from_before_the_rank_is_read_with_it(tmp_path):
    """Files written by earlier versions hold N eigenvalues on the Gram route, the last one round-off."""
    x = images(30)
    sp = spectrum.compute(x, CPU, method="gram")
    old = {k: v for k, v in sp.items() if k != "rank"} | {"eigenvalues": np.r_[sp["eigenvalues"][:29], 1e-19]}
    basis_file.save(tmp_path / "old.npz", old)
    back = basis_file.load(tmp_path / "old.npz")
    assert back["rank"] == 29 and len(back["eigenvalues"]) == 192
    np.testing.assert_array_equal(back["eigenvalues"], sp["eigenvalues"])
