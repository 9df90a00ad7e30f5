"""Theorem 3 in the span of N < D images (lbr.theory.span) against the D x D computation and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from lbr.errors import LbrError
from lbr.theory import alignment as al
from lbr.theory import denoising as dn
from lbr.theory import span

from theory_data import explained, images, preprocessed

SHAPE = (8, 8, 3)  # D = 192 pixels, 30 images


@pytest.fixture(scope="module")
def small():
    x, y = images(n=30, h=8, w=8, c=3)
    m = al.compute_moments(x, y, 3, need_covariance=True)
    return x, y, m, span.span_basis(m, al.RANK_RTOL)


def projector(a: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(a)
    return q @ q.T


def test_the_span_basis_is_the_pca_basis_of_the_images(small):
    x, _, m, basis = small
    f = preprocessed(x, "standardize")
    s, p = np.linalg.eigh(f.T @ f)
    s, p = s[::-1], p[:, ::-1]
    r = basis.rank
    assert r == 29 and basis.p.shape == (192, 29) and basis.s.shape == (192,) and not basis.s[r:].any()
    np.testing.assert_allclose(basis.s[:r].numpy(), s[:r], rtol=1e-10)
    np.testing.assert_allclose(projector(basis.p.numpy()), projector(p[:, :r]), atol=1e-10)
    full = al.pca_basis(m)
    np.testing.assert_allclose(np.abs(basis.e.numpy()), np.abs(full.e.numpy()), atol=1e-10)


SPECS = [
    dn.NoiseSpec("gaussian", sigma=0.7),
    dn.NoiseSpec("mask", 0.5, 2),
    dn.NoiseSpec("mask", 0.9, 1),
    dn.NoiseSpec("mask", 0.3, 4),
    dn.NoiseSpec("mask", 0.6, 8),
]


@pytest.mark.parametrize("spec", SPECS, ids=[s.label for s in SPECS])
def test_span_route_equals_the_d_by_d_generalized_eigensolve(small, spec):
    """For every K, the span route's denoising-optimal features span what SciPy's D x D generalized eigenvectors
    of (M1 X^T X M1^T, M2 + delta I) give, and Eq. 9's alignment equals per-K least squares on them."""
    x, y, m, basis = small
    f = preprocessed(x, "standardize")
    b = f.T @ f
    m2 = dn.second_moment(torch.as_tensor(b), spec, SHAPE, len(x)).numpy()
    delta = dn.DEFAULT_JITTER * np.trace(m2) / len(m2)
    _, v = sl.eigh(spec.m1_scale**2 * b @ b, m2 + delta * np.eye(len(m2)))
    v = v[:, ::-1]
    q = dn.feature_basis(basis, m.xtx, spec, SHAPE, m.n).numpy()  # auto: the span route
    u = f @ basis.p.numpy() / np.sqrt(basis.s[: basis.rank].numpy())  # the PCA features U_r
    for k in range(1, basis.rank):
        np.testing.assert_allclose(projector(u @ q[:, :k]), projector(f @ v[:, :k]), atol=1e-7, err_msg=f"K={k}")
    got = dn.alignment_under_noise(basis, torch.as_tensor(q))["alignment"]
    yo = np.eye(3)[y]
    ref = np.array([explained(f @ v[:, :k], yo) for k in range(1, basis.rank + 1)]) / explained(f, yo)
    np.testing.assert_allclose(got, ref, atol=1e-8)


def test_span_metric_is_the_inverse_second_moment_seen_from_the_span(small):
    """W = U^T X (M2 + delta I)^{-1} X^T U: the Woodbury form against the D x D inverse of the closed-form M2, and
    against the inverse of a Monte Carlo M2 of the sampler's own masks (4000 draws)."""
    x, _, m, basis = small
    f = torch.as_tensor(preprocessed(x, "standardize"))
    r, n = basis.rank, len(x)
    root = basis.s[:r].sqrt()
    side = basis.p * root  # P S^{1/2}: X^T U
    for spec in (dn.NoiseSpec("mask", 0.5, 2), dn.NoiseSpec("mask", 0.8, 1), dn.NoiseSpec("gaussian", sigma=0.5)):
        w = span.span_metric(basis, m.xtx, spec, SHAPE, n, dn.DEFAULT_JITTER)
        m2 = dn.second_moment(f.T @ f, spec, SHAPE, n)
        delta = dn.DEFAULT_JITTER * float(m2.trace()) / len(m2)
        exact = side.T @ torch.linalg.solve(m2 + delta * torch.eye(len(m2), dtype=m2.dtype), side)
        torch.testing.assert_close(w, exact, rtol=1e-9, atol=1e-9)
        if spec.kind != "mask":
            continue
        gen, draws, mc = torch.Generator().manual_seed(0), 4000, torch.zeros_like(m2)
        for _ in range(draws // 500):
            noisy = spec.corrupt_rows(f.repeat(500, 1), SHAPE, gen)
            mc += noisy.T @ noisy
        mc /= draws
        sampled = side.T @ torch.linalg.solve(mc + delta * torch.eye(len(mc), dtype=mc.dtype), side)
        assert float((sampled - w).norm() / w.norm()) < 0.03
        assert float((side.T @ torch.linalg.solve(f.T @ f + delta * torch.eye(192), side) - w).norm() / w.norm()) > 0.1


def test_noise_inputs_take_the_span_route_below_d_pixels(small):
    x, y, m, _ = small
    specs = [dn.NoiseSpec("gaussian", sigma=1.0), dn.NoiseSpec("mask", 0.5, 2)]
    basis, xtx = dn.noise_inputs(m, specs, al.RANK_RTOL, torch.device("cpu"))
    assert basis.p.shape == (192, 29)
    table = dn.impact_table(basis, xtx, specs, SHAPE, m.n)
    full = al.pca_basis(m)
    ref = dn.impact_table(full, xtx, specs, SHAPE, m.n)  # full basis: the D x D route
    np.testing.assert_allclose(table["alignment"], ref["alignment"], atol=1e-10)
    assert (table.loc[table["noise"] == "gaussian", "impact_pct"] == 0).all()
    gauss, _ = dn.noise_check(basis, xtx, specs[0], SHAPE, m.n, k_max="all")
    mask, _ = dn.noise_check(basis, xtx, specs[1], SHAPE, m.n, k_max=10)
    assert gauss["verdict"] == "never" and gauss["max_angle_deg"] == 0 and mask["verdict"] == "sometimes"


def test_a_singular_second_moment_without_jitter_fails_clearly(small):
    _, _, m, basis = small  # 8 x 8 patches of 3 channels: 192 pixels per patch, 30 images
    with pytest.raises(LbrError, match="not positive definite even with jitter 0; raise the jitter"):
        span.span_feature_basis(basis, m.xtx, dn.NoiseSpec("mask", 0.5, 8), SHAPE, m.n, jitter=0.0)
    with pytest.raises(LbrError, match="route must be auto, span or full"):
        dn.feature_basis(basis, m.xtx, dn.NoiseSpec("mask", 0.5, 2), SHAPE, m.n, route="gram")
