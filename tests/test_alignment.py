"""Eq. 7 sweep: every K at once equals a least-squares fit per K, for each preprocessing and both routes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lbr.errors import LbrError
from lbr.theory import alignment as al

from theory_data import explained, images, preprocessed


def brute_force_curve(x, y, classes, kind):
    """rho(K) by refitting the classifier on the top-K PCA features for each K (paper Eq. 7 definition)."""
    f = preprocessed(x, kind)
    yo = np.eye(classes)[y]
    _, s, vt = np.linalg.svd(f, full_matrices=False)
    r = int((s**2 > 1e-11 * s[0] ** 2).sum())
    full = explained(f, yo)
    return np.array([explained(f @ vt[:k].T, yo) / full for k in range(1, r + 1)])


@pytest.mark.parametrize("kind", ["standardize", "raw", "per_image"])
def test_sweep_equals_per_k_least_squares(kind):
    x, y = images()
    sweep = al.sweep_images(x, y, 3, preprocessing=kind)
    ref = brute_force_curve(x, y, 3, kind)
    assert sweep["K"][-1] == 48 and len(ref) <= 48
    np.testing.assert_allclose(sweep["alignment"][: len(ref)], ref, atol=1e-9)
    assert np.all(np.diff(sweep["alignment"]) >= -1e-12) and sweep["alignment"][-1] == pytest.approx(1.0)


def test_gram_route_equals_covariance_route_when_n_below_d():
    x, y = images(n=30, h=4, w=4, c=3)  # N = 30 < D = 48
    cov = al.sweep(al.pca_basis(al.compute_moments(x, y, 3, method="covariance")))
    gram = al.sweep(al.pca_basis(al.compute_moments(x, y, 3, method="gram", chunk_cols=7)))
    ref = brute_force_curve(x, y, 3, "standardize")
    assert al.compute_moments(x, y, 3).method == "gram"
    np.testing.assert_allclose(gram["alignment"][: len(ref)], ref, atol=1e-9)
    np.testing.assert_allclose(gram["alignment"], cov["alignment"], atol=1e-8)
    np.testing.assert_allclose(gram["alignment_code"], cov["alignment_code"], atol=1e-6)


def test_code_variant_matches_the_authors_recipe():
    """QR of the data mapped on all eigenvectors, Y^T Y-weighted energy, cumsum, sqrt (DIGEST Sec. 6.8)."""
    x, y = images(imbalanced=True)
    f = preprocessed(x, "standardize")
    yo = np.eye(3)[y]
    _, vecs = np.linalg.eigh(f.T @ f)
    q = np.linalg.qr(f @ vecs[:, ::-1])[0]
    numer = np.square(yo @ (yo.T @ q) / len(y)).sum(0).cumsum()
    ref = 100 * np.sqrt(numer / numer[-1])
    got = al.sweep_images(x, y, 3)["alignment_code"]
    np.testing.assert_allclose(got, ref, atol=1e-6)
    xb, yb = images(imbalanced=False, n=300)
    balanced = al.sweep_images(xb, yb, 3)
    np.testing.assert_allclose(balanced["alignment_code"], 100 * np.sqrt(balanced["alignment"]), atol=1e-9)
    imbalanced = al.sweep_images(x, y, 3)
    assert np.abs(imbalanced["alignment_code"] - 100 * np.sqrt(imbalanced["alignment"])).max() > 1e-3


def test_chunking_and_global_scale_do_not_change_moments():
    x, y = images()
    a = al.compute_moments(x, y, 3, chunk_rows=7)
    b = al.compute_moments(x, y, 3, chunk_rows=4096)
    np.testing.assert_allclose(a.xtx.numpy(), b.xtx.numpy(), rtol=1e-12, atol=1e-9)
    f = preprocessed(x, "standardize")
    np.testing.assert_allclose(a.xtx.numpy(), f.T @ f, rtol=1e-10, atol=1e-8)
    assert a.scale == pytest.approx((x.reshape(len(x), -1) / 255.0 - (x.reshape(len(x), -1) / 255.0).mean(0)).std())


def test_constant_pixels_are_dropped_and_alignment_reaches_one_at_the_rank():
    x, y = images()
    x[:, 0, 0, :] = 17  # three pixels never vary
    basis = al.pca_basis(al.compute_moments(x, y, 3))
    sweep = al.sweep(basis)
    assert basis.rank == 45
    assert np.all(sweep["alignment"][44:] == pytest.approx(1.0)) and sweep["alignment"][43] < 1


def test_moments_round_trip(tmp_path):
    x, y = images()
    m = al.compute_moments(x, y, 3)
    al.save_moments(tmp_path / "m.npz", m)
    back = al.load_moments(tmp_path / "m.npz")
    assert back.shape == (4, 4, 3) and back.n == len(x) and back.method == "covariance"
    assert torch.equal(back.xtx, m.xtx) and torch.equal(back.counts, m.counts)


def test_bad_inputs_fail_clearly():
    x, y = images()
    basis = al.pca_basis(al.compute_moments(x, y, 3))
    with pytest.raises(LbrError, match="K=49"):
        al.alignment_at(basis, 49)
    with pytest.raises(LbrError, match="preprocessing"):
        al.compute_moments(x, y, 3, preprocessing="whiten")
    with pytest.raises(LbrError, match="labels"):
        al.compute_moments(x, y[:-1], 3)
    assert 0 < al.alignment_at(basis, 3) < al.alignment_at(basis, 48) == pytest.approx(1.0)
