"""Theorem 3 / Eq. 9: masking and Gaussian moments, the generalized eigen solver, Corollary 3.1, angles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from lbr.errors import LbrError
from lbr.theory import alignment as al
from lbr.theory import denoising as dn

from theory_data import explained, images, preprocessed, sampled_moments


def test_patch_layout_is_hwc_with_all_channels_shared():
    shape = (4, 6, 2)
    pid = dn.patch_of_pixel(shape, 2).numpy()
    hh, ww, cc = np.indices(shape)
    np.testing.assert_array_equal(pid, ((hh // 2) * 3 + ww // 2).reshape(-1))
    idx = dn.patch_index(shape, 2)
    assert idx.shape == (6, 8) and sorted(idx.reshape(-1).tolist()) == list(range(48))


@pytest.mark.parametrize(
    "spec", [dn.NoiseSpec("mask", 0.3, 2), dn.NoiseSpec("mask", 0.6, 1), dn.NoiseSpec("gaussian", sigma=0.7)]
)
def test_the_sampler_matches_the_closed_form_moments(spec):
    """Monte Carlo: the mean and second moment of the shared sampler's draws (`NoiseSpec.corrupt`, what the Fig. 10
    trainer draws) agree with Theorem 3's M1 and M2 within 5 standard errors in every entry."""
    rng = np.random.default_rng(1)
    shape, n = (4, 4, 2), 3
    x = torch.as_tensor(rng.normal(size=(n, 32)))
    m2 = dn.second_moment(x.T @ x, spec, shape, n).numpy()
    m1 = dn.first_moment(x, spec).numpy()
    gen = torch.Generator().manual_seed(0)
    emp, se, mean_x = sampled_moments(lambda k: spec.corrupt_rows(x.repeat(k, 1), shape, gen).numpy(), n, 32)
    assert np.all(np.abs(emp - m2) <= 5 * se + 1e-12)
    assert np.abs(emp - m2).max() > 0 and np.abs(m2 - (x.T @ x).numpy()).max() > 0.05
    np.testing.assert_allclose(mean_x, m1, atol=0.05)


def test_the_sampler_masks_whole_patches_of_all_channels_and_draws_gaussian_noise():
    shape, spec = (4, 4, 3), dn.NoiseSpec("mask", 0.5, 2)
    rows = torch.ones(2000, 48, dtype=torch.float64)
    out = spec.corrupt_rows(rows, shape, torch.Generator().manual_seed(0))
    blocks = out.reshape(2000, 2, 2, 2, 2, 3).permute(0, 1, 3, 2, 4, 5).reshape(2000, 4, 12)
    assert torch.all(blocks.amin(2) == blocks.amax(2))
    assert abs(float(out.mean()) - 0.5) < 0.02
    gauss = dn.NoiseSpec("gaussian", sigma=2.0).corrupt_rows(rows, shape, torch.Generator().manual_seed(0))
    assert abs(float((gauss - rows).std()) - 2.0) < 0.02
    images = out.reshape(2000, 4, 4, 3)
    assert dn.NoiseSpec("none").corrupt(images, None, channels_first=False) is images  # no draw, no copy


def test_the_sampler_in_pixel_space_is_the_standardized_noise_in_its_frame():
    """x = mean + std z: corrupting x in the frame (mean, std) gives mean + std * (z corrupted), for the same draws,
    and channels-first batches get the same masks as channels-last ones (Gaussian draws fill the tensor in its own
    order, so only their distribution is layout-free)."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(5, 8, 4, 3, generator=g, dtype=torch.float64)  # N x H x W x C, standardized
    mean, std = torch.rand(1, 8, 4, 3, generator=g, dtype=torch.float64), 0.3
    for spec in (dn.NoiseSpec("mask", 0.5, 2), dn.NoiseSpec("gaussian", sigma=0.8)):
        noisy_z = spec.corrupt(z, torch.Generator().manual_seed(7), channels_first=False)
        noisy_x = spec.corrupt(mean + std * z, torch.Generator().manual_seed(7), mean, std, channels_first=False)
        torch.testing.assert_close(noisy_x, mean + std * noisy_z)
        if spec.kind == "gaussian":
            continue
        nchw = spec.corrupt(
            (mean + std * z).permute(0, 3, 1, 2), torch.Generator().manual_seed(7), mean.permute(0, 3, 1, 2), std
        )
        torch.testing.assert_close(nchw.permute(0, 2, 3, 1), noisy_x)
    masked = dn.NoiseSpec("mask", 0.5, 2).corrupt(mean + std * z, torch.Generator().manual_seed(7), mean, std, False)
    filled = (masked == mean.expand_as(masked)).all(-1)  # masked pixels hold the mean image in every channel
    assert 0.2 < float(filled.double().mean()) < 0.8


def test_noise_labels_are_the_path_form_and_read_back():
    for spec in (dn.NoiseSpec("none"), dn.NoiseSpec("gaussian", sigma=0.5), dn.NoiseSpec("mask", 0.25, 4)):
        assert dn.NoiseSpec.from_label(spec.label) == spec
    assert dn.NoiseSpec("gaussian", sigma=1.0).label == "gaussian-1"
    for bad in ("salt", "mask-0.5", "gaussian-e"):
        with pytest.raises(LbrError, match="noise label"):
            dn.NoiseSpec.from_label(bad)


@pytest.mark.parametrize(
    "spec", [dn.NoiseSpec("mask", 0.5, 2), dn.NoiseSpec("mask", 0.9, 1), dn.NoiseSpec("gaussian", sigma=1.5)]
)
def test_noise_sweep_equals_per_k_least_squares(spec):
    x, y = images()
    m = al.compute_moments(x, y, 3)
    basis = al.pca_basis(m)
    got = dn.alignment_under_noise(basis, dn.feature_basis(basis, m.xtx, spec, m.shape, m.n))["alignment"]
    f = preprocessed(x, "standardize")
    yo = np.eye(3)[y]
    b = f.T @ f
    m2 = dn.second_moment(torch.as_tensor(b), spec, m.shape, m.n).numpy()
    delta = dn.DEFAULT_JITTER * np.trace(m2) / len(m2)
    _, v = sl.eigh(spec.m1_scale**2 * b @ b, m2 + delta * np.eye(len(m2)))
    v = v[:, ::-1]
    full = explained(f, yo)
    ref = np.array([explained(f @ v[:, :k], yo) / full for k in range(1, basis.rank + 1)])
    np.testing.assert_allclose(got, ref, atol=1e-8)


def predictor(f, yo, v):
    """The least-squares head on features f v, as a D x C linear map."""
    h = f @ v
    return v @ np.linalg.solve(h.T @ h, h.T @ yo)


def test_corollary_3_1_gaussian_noise_leaves_the_predictor_unchanged_masking_does_not():
    x, y = images()
    f = preprocessed(x, "standardize")
    yo = np.eye(3)[y]
    b = torch.as_tensor(f.T @ f)
    shape, n = (4, 4, 3), len(x)
    for k in (3, 10):
        ref = predictor(f, yo, dn.optimal_encoder(b, dn.NoiseSpec("none"), shape, n, k).numpy())
        for sigma in (0.1, 1.0, 10.0):
            got = predictor(f, yo, dn.optimal_encoder(b, dn.NoiseSpec("gaussian", sigma=sigma), shape, n, k).numpy())
            assert np.abs(got - ref).max() <= 1e-10 * np.abs(ref).max()
        masked = predictor(f, yo, dn.optimal_encoder(b, dn.NoiseSpec("mask", 0.5, 2), shape, n, k).numpy())
        assert np.abs(masked - ref).max() > 1e-3 * np.abs(ref).max()


def test_noise_check_verdicts():
    x, y = images()
    m = al.compute_moments(x, y, 3)
    basis = al.pca_basis(m)
    gauss, table = dn.noise_check(basis, m.xtx, dn.NoiseSpec("gaussian", sigma=3.0), m.shape, m.n, k_max="all")
    assert gauss["verdict"] == "never" and gauss["max_angle_deg"] == 0 and len(table) == basis.rank
    mask, _ = dn.noise_check(basis, m.xtx, dn.NoiseSpec("mask", 0.5, 2), m.shape, m.n, k_max=10)
    assert mask["verdict"] == "sometimes" and mask["max_angle_deg"] > 1 and mask["k_max"] == 10


def test_principal_angles_match_scipy():
    q, _ = torch.linalg.qr(torch.randn(12, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    ang = dn.principal_angles(q, k_max=None)
    eye = np.eye(12)
    for k in range(1, 12):
        ref = np.rad2deg(sl.subspace_angles(q[:, :k].numpy(), eye[:, :k]))
        assert ang["max_angle_deg"][k - 1] == pytest.approx(ref.max(), abs=1e-7)
        assert ang["sin2_sum"][k - 1] == pytest.approx(np.sum(np.sin(np.deg2rad(ref)) ** 2), abs=1e-10)
        assert ang["bound_deg"][k - 1] >= ref.max() - 1e-7


def test_generalized_eigh_solves_the_pencil():
    g = torch.Generator().manual_seed(0)
    a0 = torch.randn(6, 6, generator=g, dtype=torch.float64)
    b0 = torch.randn(6, 6, generator=g, dtype=torch.float64)
    a, b = a0 @ a0.T, b0 @ b0.T + torch.eye(6, dtype=torch.float64)
    mu, v = dn.generalized_eigh(b, a=a, jitter=0.0)
    ref = sl.eigh(a.numpy(), b.numpy(), eigvals_only=True)[::-1]
    np.testing.assert_allclose(mu.numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose((a @ v).numpy(), (b @ v * mu).numpy(), atol=1e-9)


def test_bad_noise_specs_and_shapes_fail_clearly():
    for kwargs in ({"ratio": 1.0}, {"ratio": -0.1}, {"ratio": 1.5}):
        with pytest.raises(LbrError, match="ratio"):
            dn.NoiseSpec("mask", **kwargs)
    with pytest.raises(LbrError, match="sigma"):
        dn.NoiseSpec("gaussian", sigma=-1.0)
    with pytest.raises(LbrError, match="noise must be"):
        dn.NoiseSpec("salt")
    with pytest.raises(LbrError, match="does not divide"):
        dn.NoiseSpec("mask", 0.5, 3).check_shape((4, 4, 3))
    with pytest.raises(LbrError, match="does not divide"):
        dn.second_moment(torch.eye(48, dtype=torch.float64), dn.NoiseSpec("mask", 0.5, 3), (4, 4, 3), 10)
    with pytest.raises(LbrError, match="K=49"):
        dn.optimal_encoder(torch.eye(48, dtype=torch.float64), dn.NoiseSpec("none"), (4, 4, 3), 10, 49)
    x, y = images(n=30)
    m = al.compute_moments(x, y, 3, method="gram")
    with pytest.raises(LbrError, match="covariance"):
        dn.feature_basis(al.pca_basis(m), torch.eye(48, dtype=torch.float64), dn.NoiseSpec("none"), m.shape, m.n)
