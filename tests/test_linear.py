"""Theorem 1 against gradient descent and a generic generalized eigensolver; Corollary 1.1 limits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from lbr.errors import LbrError
from lbr.theory import linear as ln


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
