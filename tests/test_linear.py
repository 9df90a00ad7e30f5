"""Theorem 1 against gradient descent and a generic generalized eigensolver; Corollary 1.1 limits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from lbr.errors import LbrError
from lbr.theory import linear as ln
from lbr.theory.noise import NoiseSpec, second_moment


def small_problem(d=6, n=40, c=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(d, n, generator=g, dtype=torch.float64) * torch.linspace(2, 0.5, d, dtype=torch.float64)[:, None]
    y = torch.randn(c, d, generator=g, dtype=torch.float64) @ x + 0.3 * torch.randn(
        c, n, generator=g, dtype=torch.float64
    )
    return x, y


def plain_adam(x, y, k, lam, lr, steps, seed):
    """Independent full-batch Adam on Eq. 3 with torch.optim (no lbr code)."""
    g = torch.Generator().manual_seed(seed)
    d, c = x.shape[0], y.shape[0]
    v = torch.randn(d, k, generator=g, dtype=torch.float64).requires_grad_(True)
    w = torch.randn(k, c, generator=g, dtype=torch.float64).requires_grad_(True)
    z = torch.randn(k, d, generator=g, dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.Adam([v, w, z], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        h = v.T @ x
        loss = (y - w.T @ h).square().sum() + lam * (x - z.T @ h).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        return ln.loss(x, y, v, w, z, lam)


@pytest.mark.parametrize("lam", [0.1, 1.0])
def test_closed_form_equals_best_of_several_gradient_descent_runs(lam):
    x, y = small_problem()
    best = ln.theorem1(x, y, 2, lam).loss
    runs = [plain_adam(x, y, 2, lam, lr, 1500, seed) for lr in (0.03, 0.01) for seed in (0, 1)]
    assert min(runs) >= best * (1 - 1e-9)
    assert min(runs) == pytest.approx(best, rel=1e-6)


def test_loss_is_the_generalized_eigenvalue_formula():
    x, y = small_problem(d=8, n=50, c=3)
    b = (x @ x.T).numpy()
    for lam in (0.0, 0.1, 10.0):
        a = (x @ (y.T @ y + lam * x.T @ x) @ x.T).numpy()
        mu = sl.eigh(a, b, eigvals_only=True)[::-1]
        for k in (1, 3, 8):
            sol = ln.theorem1(x, y, k, lam)
            ref = float((y**2).sum() + lam * (x**2).sum() - mu[:k].sum())
            assert sol.loss == pytest.approx(ref, rel=1e-9, abs=1e-9)
            assert sol.loss_formula == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_both_routes_agree_and_the_gram_route_handles_n_below_d():
    x, y = small_problem(d=30, n=12, c=2)
    for lam in (0.0, 0.5, 5.0):
        gram = ln.theorem1(x, y, 4, lam)
        cov = ln.theorem1(x, y, 4, lam, route="covariance")
        assert gram.route == "gram" and cov.route == "covariance"
        assert gram.loss == pytest.approx(cov.loss, rel=1e-9, abs=1e-9)
        m = (y.T @ y + lam * x.T @ x).numpy()  # Theorem 2: top-K eigenvalues of Y^T Y + lam X^T X when N < D
        top = np.linalg.eigvalsh(m)[::-1][:4].sum()
        assert gram.loss == pytest.approx(float((y**2).sum() + lam * (x**2).sum()) - top, rel=1e-9, abs=1e-8)
    xs, ys = small_problem(d=6, n=40)
    assert ln.theorem1(xs, ys, 3, 1.0, route="gram").loss == pytest.approx(ln.theorem1(xs, ys, 3, 1.0).loss, rel=1e-10)


def test_corollary_1_1_limits():
    x, y = small_problem(d=7, n=60, c=2)
    ols = ln.ols_predictor(x, y)
    small = ln.theorem1(x, y, 3, 1e-9)
    assert torch.allclose(small.v @ small.w, ols, atol=1e-6)
    big = ln.theorem1(x, y, 3, 1e8)
    assert torch.allclose(big.v @ big.z, ln.pca_projector(x, 3), atol=1e-6)
    assert not torch.allclose(
        ln.theorem1(x, y, 3, 1.0).v @ ln.theorem1(x, y, 3, 1.0).z, ln.pca_projector(x, 3), atol=1e-3
    )


def test_batched_adam_reaches_the_closed_form_on_the_paper_problem():
    x, y = ln.synthetic_problem(16)
    run = ln.supervised_gd(x, y, 3, [0.0, 1.0], [0.1, 0.01], 1500)
    for i, lam in enumerate(run["lam"]):
        best = ln.theorem1(x, y, 3, lam).loss / (16 * 256)
        assert run["losses"][:, i].min() >= best - 1e-12
    assert run["losses"][-1, 0] - ln.theorem1(x, y, 3, 0.0).loss / 4096 < 1e-12


def test_adam_ends_at_the_theorem_1_optimum_for_lambda_1_and_10():
    """The optimum is not 0 here, so a run stuck 1% (or 1e-6) above it fails: relative tolerance 1e-9."""
    x, y = ln.synthetic_problem(16)
    run = ln.supervised_gd(x, y, 3, [1.0, 10.0], [0.1], 3000)
    for i, lam in enumerate(run["lam"]):
        best = ln.theorem1(x, y, 3, lam).loss / (16 * 256)
        curve = run["losses"][:, i]
        assert best > 0.1
        assert abs(curve[-1] - best) <= 1e-9 * best, (lam, curve[-1] / best - 1)
        assert curve.min() >= best * (1 - 1e-12)  # never below the optimum beyond round-off


def per_run_adam(x, y, k, lam, lr, steps, seed=0):
    """One run alone: autograd on Eq. 3 / (D N), torch.optim.Adam, torch's cosine schedule; the init draws of
    `supervised_gd` (Z, W, V in that order). Returns the loss before every step."""
    d, n = x.shape
    g = torch.Generator().manual_seed(seed)
    z = (torch.randn(k, d, generator=g, dtype=torch.float64) / d**0.5).requires_grad_(True)
    w = torch.randn(k, y.shape[0], generator=g, dtype=torch.float64).requires_grad_(True)
    v = (torch.randn(d, k, generator=g, dtype=torch.float64) / d**0.5).requires_grad_(True)
    opt = torch.optim.Adam([v, w, z], lr=lr)

    def loss(_):
        h = v.T @ x
        return ((y - w.T @ h).square().sum() + lam * (x - z.T @ h).square().sum()) / (d * n)

    return descend(opt, steps, loss, range(steps))


def descend(opt, steps: int, loss, record) -> np.ndarray:
    """Autograd steps of `opt` under torch's cosine schedule over `steps`: loss(step) before each, recorded at the
    steps of `record`, stopping after the last of them."""
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    out = []
    for step in range(max(record) + 1):
        value = loss(step)
        if step in record:
            out.append(value.item())
        opt.zero_grad()
        value.backward()
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize(
    "d, n, k, residual",
    [(8, 40, 2, False), (6, 40, 6, True), (20, 10, 10, True)],
    ids=["statistics", "residual", "residual-n-below-d"],
)
def test_the_batched_program_follows_each_run_as_if_alone(d, n, k, residual):
    """Every (lam, lr) run of the batch has the loss curve of an independent autograd + torch.optim.Adam run, to
    round-off, with the reconstruction term from sufficient statistics or from its residual (K near the rank)."""
    x, y = small_problem(d=d, n=n, c=2, seed=3)
    assert ln._Eq3Batch(x, y, k, torch.zeros(1, dtype=torch.float64)).residual is residual
    lams, lrs, steps = [0.0, 0.5, 4.0], [0.01, 0.003], 300
    run = ln.supervised_gd(x, y, k, lams, lrs, steps)
    for i, (lam, lr) in enumerate(zip(run["lam"], run["lr"])):
        alone = per_run_adam(x, y, k, lam, lr, steps)
        np.testing.assert_allclose(run["losses"][:, i], alone, rtol=1e-9, atol=1e-14 * alone[0])
    assert np.ptp(run["losses"][-1]) > 1e-3  # the runs did differ


def test_denoising_loss_is_the_average_over_noise_draws():
    """Theorem 3's expected loss (from M1, M2) against a Monte Carlo average of ||X - Z^T V^T X~||^2 over draws of
    the noise itself (Gaussian; a pixel mask through the shared sampler), within 5 standard errors."""
    g = torch.Generator().manual_seed(4)
    d, n, k, draws = 6, 10, 2, 20000
    x = torch.randn(d, n, generator=g, dtype=torch.float64)
    v = torch.randn(d, k, generator=g, dtype=torch.float64)
    z = torch.randn(k, d, generator=g, dtype=torch.float64)
    shape, b = (2, 3, 1), x @ x.T
    for spec in (NoiseSpec("gaussian", sigma=0.7), NoiseSpec("mask", 0.4, 1)):
        expected = float(ln.denoising_loss(x, v, z, second_moment(b, spec, shape, n), spec.m1_scale))
        rows = x.T.repeat(draws, 1)  # N x D rows, `draws` copies
        noisy = spec.corrupt_rows(rows, shape, torch.Generator().manual_seed(5)).reshape(draws, n, d)
        losses = (x.T - noisy @ v @ z).square().sum((1, 2)).numpy()
        se = losses.std() / draws**0.5
        assert abs(losses.mean() - expected) <= 5 * se, (spec.label, losses.mean(), expected, se)
        assert se < 0.01 * expected  # precise enough that a wrong term (e.g. M1 taken twice) would show


def expected_gaussian_loss(x, v, z, sigma):
    """E||X - Z^T V^T (X + sigma E)||^2 written out directly: ||(I - A) X||^2 + sigma^2 N ||A||_F^2, A = Z^T V^T."""
    a = z.T @ v.T
    return (x - a @ x).square().sum() + sigma**2 * x.shape[1] * a.square().sum()


def test_theorem_3_closed_form_is_the_minimum_of_the_expected_loss():
    """L-BFGS on the expected loss written out independently reaches the closed form from every start and never
    goes below it; random perturbations of the minimiser only raise the loss; a Monte Carlo average of the sampled
    loss at the minimiser agrees with the closed form."""
    x, _ = ln.synthetic_problem(8, n=30, seed=2)
    x = x - x.mean(1, keepdim=True)
    k, sigma = 3, 0.4
    best = ln.denoising_closed_form(x, k, sigma)
    found = []
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        v = torch.randn(8, k, generator=g, dtype=torch.float64).requires_grad_(True)
        z = torch.randn(k, 8, generator=g, dtype=torch.float64).requires_grad_(True)
        opt = torch.optim.LBFGS(
            [v, z], max_iter=400, tolerance_grad=1e-13, tolerance_change=1e-18, line_search_fn="strong_wolfe"
        )

        def closure(v=v, z=z, opt=opt):
            opt.zero_grad()
            loss = expected_gaussian_loss(x, v, z, sigma)
            loss.backward()
            return loss

        opt.step(closure)
        found.append((expected_gaussian_loss(x, v, z, sigma).item(), v.detach(), z.detach()))
    for loss, _, _ in found:
        assert best * (1 - 1e-12) <= loss <= best * (1 + 1e-8), loss / best - 1
    _, v, z = min(found, key=lambda f: f[0])
    g = torch.Generator().manual_seed(9)
    for _ in range(20):
        dv, dz = (1e-3 * torch.randn(t.shape, generator=g, dtype=torch.float64) for t in (v, z))
        assert float(expected_gaussian_loss(x, v + dv, z + dz, sigma)) > best
    draws = 20000
    noisy = x.T.repeat(draws, 1).reshape(draws, 30, 8) + sigma * torch.randn(
        draws, 30, 8, generator=g, dtype=torch.float64
    )
    losses = (x.T - noisy @ v @ z).square().sum((1, 2)).numpy()
    assert abs(losses.mean() - best) <= 5 * losses.std() / draws**0.5


def per_views_sgd(x, k, sigma, views, cfg, record):
    """One number of views alone: autograd on the sampled loss of noisy copies drawn as `denoising_sgd` draws them,
    torch.optim.SGD (Nesterov) and torch's cosine schedule over cfg["steps"]. Returns the sampled losses at
    `record`, stopping after the last of them."""
    d, n = x.shape
    gen = torch.Generator().manual_seed(cfg["seed"])
    init = torch.Generator().manual_seed(cfg["seed"])
    v = (torch.randn(d, k, generator=init, dtype=torch.float64) / d**0.5).requires_grad_(True)
    z = (torch.randn(k, d, generator=init, dtype=torch.float64) / d**0.5).requires_grad_(True)
    opt = torch.optim.SGD([v, z], lr=cfg["lr"], momentum=cfg["momentum"], nesterov=True)
    clean = x.repeat(1, views)

    def loss(_):
        noisy = clean + sigma * torch.randn(clean.shape, generator=gen, dtype=torch.float64)
        return (clean - z.T @ (v.T @ noisy)).square().sum() / (views * d * n)

    return descend(opt, cfg["steps"], loss, set(record))


def test_denoising_sgd_runs_every_views_as_if_alone_and_reaches_the_closed_form():
    x, _ = ln.synthetic_problem(8, n=64)
    k, sigma = 2, 0.3
    cfg = {"lr": 0.5, "momentum": 0.9, "steps": 2000, "seed": 0}
    record = np.array([0, 10, 500, 1999])
    run = ln.denoising_sgd(x, k, sigma, [1, 3, 8], cfg, record)
    for i, views in enumerate([1, 3, 8]):
        alone = per_views_sgd(x, k, sigma, views, cfg, set(record[:3].tolist()))
        np.testing.assert_allclose(run["sampled"][:3, i], alone, rtol=1e-9)
    best = ln.denoising_closed_form(x, k, sigma) / (8 * 64)
    gap = (run["expected"][-1] - best) / best
    assert np.all(gap >= -1e-12) and np.all(gap <= 2e-4), gap  # 1e-5 (8 views) to 6e-5 (1 view) measured
    assert np.all(run["expected"][0] > 2 * best)


def test_bad_inputs_fail_clearly():
    x, y = small_problem()
    with pytest.raises(LbrError, match="K=7"):
        ln.theorem1(x, y, 7, 1.0)
    with pytest.raises(LbrError, match="lambda"):
        ln.theorem1(x, y, 2, -1.0)
    with pytest.raises(LbrError, match="same N"):
        ln.theorem1(x, y[:, :-1], 2, 1.0)
    x[3:] = 0
    with pytest.raises(LbrError, match="rank"):
        ln.theorem1(x, y, 4, 1.0)
