"""Masking principal components (lbr.theory.pca_mask): the sampler, its keep probabilities and Theorem 3's moments
against Monte Carlo draws of the same sampler, the pixel frame, labels and errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lbr.errors import LbrError
from lbr.theory import denoising as dn
from lbr.theory import pca_mask as pm
from lbr.theory.noise import NoiseSpec

from theory_data import sampled_moments


def white(shares, n: int = 60, seed: int = 0) -> torch.Tensor:
    """n x D rows, centred, whose X^T X has eigenvalues proportional to `shares` in a random basis."""
    rng = np.random.default_rng(seed)
    d = len(shares)
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    z = rng.normal(size=(n, d))
    z = np.linalg.qr(z - z.mean(0))[0] * np.sqrt(n)
    return torch.as_tensor((z * np.sqrt(np.asarray(shares) * d)) @ basis.T)


SHARES = [0.45, 0.2, 0.12, 0.09, 0.06, 0.04, 0.025, 0.015]


def frequencies(v: torch.Tensor, spec: NoiseSpec, draws: int, seed: int = 5) -> torch.Tensor:
    """How often the sampler keeps each component, counted directly."""
    gen, kept = torch.Generator().manual_seed(seed), torch.zeros_like(v)
    for _ in range(draws // 10000):
        kept += pm.draw_keep(v, spec, 10000, gen).to(v.dtype).sum(0)
    return kept / draws


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.8])
def test_keep_probabilities_match_the_sampler(ratio):
    """The arrival-time estimate of q (each component's own position integrated) agrees with the sampler's counted
    frequencies within 5 combined standard errors, and a view masks about the ratio of the variance."""
    v = torch.tensor(SHARES, dtype=torch.float64)
    spec = NoiseSpec("pca_mask", ratio, draws=16384)
    q, se = pm.keep_probability(v * 7.0, spec)  # any scale: only the shares matter
    draws = 100_000
    freq = frequencies(v, spec, draws)
    combined = np.sqrt(se.numpy() ** 2 + freq.numpy() * (1 - freq.numpy()) / draws)
    assert np.all(np.abs(q.numpy() - freq.numpy()) <= 5 * combined + 1e-12)
    assert abs(pm.expected_masked_share(v, spec) - ratio) < max(SHARES) / 2
    if ratio == 0.8:  # the top component (0.45) is masked whenever the others before it hold < 0.575 = all of them
        assert q[0] == 0 and se[0] == 0


def test_keep_probabilities_match_every_order_of_four_components():
    """Brute force: with D = 4 the 24 orders are equally likely; counting in how many each component is kept gives q
    exactly (1/2, 1/2, 2/3, 2/3 here), which the estimate matches within 5 of its standard errors."""
    v = np.array([0.448, 0.424, 0.102, 0.026])
    kept = np.zeros(4)
    for order in itertools.permutations(range(4)):
        before = 0.0
        for i in order:
            kept[i] += not before + v[i] / 2 < 0.4
            before += v[i]
    q, se = pm.keep_probability(torch.as_tensor(v), NoiseSpec("pca_mask", 0.4, draws=16384))
    np.testing.assert_allclose(kept / 24, [0.5, 0.5, 2 / 3, 2 / 3])
    assert np.all(np.abs(q.numpy() - kept / 24) <= 5 * se.numpy() + 1e-12)


def test_components_share_masks_each_component_independently():
    v = torch.tensor(SHARES, dtype=torch.float64)
    spec = NoiseSpec("pca_mask", 0.3, share="components")
    q, se = pm.keep_probability(v, spec)
    assert torch.all(q == 0.7) and torch.all(se == 0)
    np.testing.assert_allclose(frequencies(v, spec, 50000).numpy(), 0.7, atol=0.01)


@pytest.mark.parametrize(
    "spec", [NoiseSpec("pca_mask", 0.8, draws=32768), NoiseSpec("pca_mask", 0.4, share="components")]
)
def test_the_sampler_matches_the_closed_form_moments(spec):
    """Monte Carlo: the mean and the summed second moment of the sampler's views (`NoiseSpec.corrupt_rows` with the
    components of the rows' own X^T X) agree with M1 = X P diag(q) P^T and M2 = P diag(q s) P^T within 5 standard
    errors (plus the error of the estimated q) in every entry, and differ from the clean moments."""
    shape, x = (2, 2, 2), white(SHARES, n=12, seed=3)
    b = x.T @ x
    s, p = pm.basis_of(b)
    components = pm.Components(p, pm.shares_of(s))
    m2 = dn.second_moment(b, spec, shape, len(x)).numpy()
    m1 = dn.first_moment(x, spec, b).numpy()
    _, q_se = pm.keep_probability(s, spec)
    m2_se = np.abs(p.numpy()) @ np.diag((q_se * s).numpy()) @ np.abs(p.numpy()).T  # error of the estimated q
    gen = torch.Generator().manual_seed(0)
    emp, se, mean = sampled_moments(lambda k: spec.corrupt_rows(x.repeat(k, 1), shape, gen, components).numpy(), 12, 8)
    assert np.all(np.abs(emp - m2) <= 5 * se + 5 * m2_se + 1e-9)
    assert np.abs(m2 - b.numpy()).max() > 1.0
    np.testing.assert_allclose(mean, m1, atol=0.1)


def test_components_share_keeps_the_pca_subspace_and_variance_share_moves_it():
    """Share components: q = 1 - r for every component, so M2 = (1 - r) B and Theorem 3 keeps PCA's order
    (verdict never, like Gaussian noise); share variance masks the dominant component at r = 0.8 and moves it."""
    from lbr.theory import alignment as al

    x = white(SHARES, n=40, seed=1)
    b = x.T @ x
    np.testing.assert_allclose(
        dn.second_moment(b, NoiseSpec("pca_mask", 0.3, share="components"), (2, 2, 2), 40).numpy(),
        0.7 * b.numpy(),
        atol=1e-9,
    )
    m = al.Moments("covariance", "standardize", (2, 2, 2), 40, torch.tensor([20, 20]), 1.0, xtx=b, xty=x.T @ x[:, :2])
    basis = al.pca_basis(m)
    never, _ = dn.noise_check(basis, b, NoiseSpec("pca_mask", 0.3, share="components"), m.shape, m.n, k_max="all")
    moved, _ = dn.noise_check(basis, b, NoiseSpec("pca_mask", 0.8), m.shape, m.n, k_max="all")
    assert never["verdict"] == "never" and moved["verdict"] == "sometimes" and moved["max_angle_deg"] > 80


def test_the_sampler_in_pixel_space_is_the_standardized_draw():
    """Images x = mean + std z corrupt to mean + std z~ with the same draws, in either layout."""
    rng = np.random.default_rng(2)
    shape, spec = (2, 3, 2), NoiseSpec("pca_mask", 0.5)
    z = torch.as_tensor(rng.normal(size=(30, 12)))
    s, p = pm.basis_of(z.T @ z)
    components = pm.Components(p, pm.shares_of(s))
    mean, std = torch.as_tensor(rng.normal(size=(1, *shape))), 0.37
    rows = spec.corrupt_rows(z, shape, torch.Generator().manual_seed(4), components)
    images = mean + std * z.reshape(30, *shape)
    pixel = spec.corrupt(images, torch.Generator().manual_seed(4), mean, std, False, components)
    torch.testing.assert_close(pixel, mean + std * rows.reshape(30, *shape))
    first = spec.corrupt(
        images.permute(0, 3, 1, 2), torch.Generator().manual_seed(4), mean.permute(0, 3, 1, 2), std, True, components
    )
    torch.testing.assert_close(first.permute(0, 2, 3, 1), pixel)
    assert not torch.allclose(rows, z)


def test_labels_round_trip_and_bad_settings_say_what_to_do():
    for spec in (NoiseSpec("pca_mask", 0.2), NoiseSpec("pca_mask", 0.5, share="components")):
        assert NoiseSpec.from_label(spec.label) == spec
        assert NoiseSpec.from_dict({"noise": "pca_mask", "ratio": spec.ratio, "share": spec.share}) == spec
    assert NoiseSpec("pca_mask", 0.2).label == "pcamask-0.2-variance"
    assert NoiseSpec("pca_mask", 0.2).columns()["share"] == "variance"
    with pytest.raises(LbrError, match="0 <= ratio < 1"):
        NoiseSpec("pca_mask", 1.0)
    with pytest.raises(LbrError, match="share must be one of variance, components"):
        NoiseSpec("pca_mask", 0.5, share="pixels")
    with pytest.raises(LbrError, match="pass their components"):
        NoiseSpec("pca_mask", 0.5).corrupt_rows(torch.zeros(3, 8), (2, 2, 2), torch.Generator())
    with pytest.raises(LbrError, match="m1_operator"):
        _ = NoiseSpec("pca_mask", 0.5).m1_scale
