"""Theorem 1: the closed-form optimum of the joint supervised + reconstruction linear loss (paper Eq. 3),
its Corollary 1.1 limits, and the gradient-descent runs that Fig. 8 compares it with.

Column-major as in the paper: X is D x N, Y is C x N; encoder V (D x K), head W (K x C), decoder Z (K x D);
    L(W, V, Z) = ||Y - W^T V^T X||_F^2 + lam ||X - Z^T V^T X||_F^2.
With B = X X^T and A = X (Y^T Y + lam X^T X) X^T, the optimal V spans the top-K generalized eigenvectors of
(A, B) and L* = ||Y||^2 + lam ||X||^2 - sum_{k<=K} mu_k. Both routes reduce this to the same r x r symmetric
matrix T T^T + lam diag(s) (r = rank X, T = U_r^T Y^T, s = squared singular values of X):
  'covariance' (D <= N): from the eigendecomposition of the D x D matrix B;
  'gram'       (N < D) : from the N x N Gram matrix X^T X (paper Sec. 6.7), mapped back through X.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lbr.errors import LbrError
from lbr.machine.progress import track
from lbr.spectral.accumulate import eigh_descending
from lbr.theory.denoising import NoiseSpec, generalized_eigh

RANK_RTOL = 1e-12


@dataclass
class Solution:
    """Optimal V, W, Z of Eq. 3, the generalized eigenvalues mu (descending) and the optimal loss.

    loss is Eq. 3 evaluated at (V, W, Z); loss_formula = ||Y||^2 + lam ||X||^2 - sum_{k<=K} mu_k is the same
    number computed from the eigenvalues (it loses digits to cancellation when the optimum is near 0).
    """

    v: torch.Tensor
    w: torch.Tensor
    z: torch.Tensor
    mu: torch.Tensor
    loss: float
    loss_formula: float
    route: str


def _check(x: torch.Tensor, y: torch.Tensor, k: int) -> None:
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise LbrError(f"X must be D x N and Y C x N with the same N, got {tuple(x.shape)} and {tuple(y.shape)}.")
    if not 1 <= k <= x.shape[0]:
        raise LbrError(f"latent dimension K={k} must lie in 1..D={x.shape[0]}.")


def loss(x, y, v, w, z, lam: float) -> float:
    """Eq. 3 evaluated directly."""
    h = v.T @ x
    return float((y - w.T @ h).square().sum() + lam * (x - z.T @ h).square().sum())


def theorem1(
    x: torch.Tensor, y: torch.Tensor, k: int, lam: float, route: str = "auto", rtol: float = RANK_RTOL
) -> Solution:
    """Closed-form minimiser of Eq. 3 (float64)."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    _check(x, y, k)
    if lam < 0:
        raise LbrError(f"lambda must be >= 0, not {lam}.")
    d, n = x.shape
    if route == "auto":
        route = "covariance" if d <= n else "gram"
    if route == "covariance":
        s, p = eigh_descending(x @ x.T)
        r = _rank(s, rtol)
        whiten = p[:, :r] / s[:r].sqrt()  # D x r, whiten^T B whiten = I
        t = whiten.T @ (x @ y.T)  # r x C
    elif route == "gram":
        s, q = eigh_descending(x.T @ x)
        r = _rank(s, rtol)
        whiten = x @ (q[:, :r] / s[:r])  # = P_r diag(s)^{-1/2}
        t = q[:, :r].T @ y.T
    else:
        raise LbrError(f"route must be auto, covariance or gram, not '{route}'.")
    if k > r:
        raise LbrError(f"latent dimension K={k} exceeds the rank {r} of X; drop K to at most {r}.")
    m = t @ t.T + lam * torch.diag(s[:r])
    mu, ph = eigh_descending(m)
    v = whiten @ ph[:, :k]
    h = v.T @ x
    gram_h = h @ h.T
    w = torch.linalg.solve(gram_h, h @ y.T)
    z = torch.linalg.solve(gram_h, h @ x.T)
    formula = float(y.square().sum() + lam * x.square().sum() - mu[:k].sum())
    return Solution(v, w, z, mu, loss(x, y, v, w, z, lam), formula, route)


def _rank(s: torch.Tensor, rtol: float) -> int:
    if not s[0] > 0:
        raise LbrError("X is zero; Theorem 1 needs data.")
    return int((s > rtol * s[0]).sum())


def ols_predictor(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Corollary 1.1, lam -> 0 with K >= C: the least-squares map (X X^T)^+ X Y^T (D x C)."""
    return torch.linalg.lstsq(x.T.to(torch.float64), y.T.to(torch.float64)).solution


def pca_projector(x: torch.Tensor, k: int) -> torch.Tensor:
    """Corollary 1.1, lam -> infinity: V Z tends to the projector on the top-K eigenvectors of X X^T."""
    _check(x, x[:1], k)
    _, p = eigh_descending(x.to(torch.float64) @ x.to(torch.float64).T)
    return p[:, :k] @ p[:, :k].T


def synthetic_problem(d: int, n: int = 256, c: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's Fig. 8 data: X = 1[randn(D, N) > 0], Y = randn(C, D) X / sqrt(D) (float64)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(d, n, generator=g, dtype=torch.float64) > 0).to(torch.float64)
    y = torch.randn(c, d, generator=g, dtype=torch.float64) @ x / math.sqrt(d)
    return x, y


def _adam(params, grads, state, lr, t, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    for i, (p, g) in enumerate(zip(params, grads)):
        m, v = state[i]
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        step = lr / (1 - b1**t)
        p.sub_(step * m / ((v / (1 - b2**t)).sqrt() + eps))


def supervised_gd(
    x: torch.Tensor,
    y: torch.Tensor,
    k: int,
    lams: list[float],
    lrs: list[float],
    steps: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict:
    """Adam with cosine annealing on Eq. 3 / (D N), every (lam, lr) pair as one batch of independent runs.

    Initialisation as the authors' tests: V, Z ~ N(0, 1/D), W ~ N(0, 1), the same draw for every run.
    Returns losses (steps x runs, the loss before each update) and the (lam, lr) of each run.
    """
    d, n = x.shape
    c = y.shape[0]
    _check(x, y, k)
    device = torch.device(device)
    x, y = x.to(device, torch.float64), y.to(device, torch.float64)
    grid = [(lam, lr) for lam in lams for lr in lrs]
    runs = len(grid)
    lam_t = torch.tensor([g[0] for g in grid], dtype=torch.float64, device=device)
    lr0 = torch.tensor([g[1] for g in grid], dtype=torch.float64, device=device)[:, None, None]
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(k, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    w0 = torch.randn(k, c, generator=gen, dtype=torch.float64)
    v0 = torch.randn(d, k, generator=gen, dtype=torch.float64) / math.sqrt(d)
    params = [t.to(device).expand(runs, *t.shape).clone().requires_grad_(True) for t in (w0, v0, z0)]
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    losses = torch.empty(steps, runs, dtype=torch.float64, device=device)
    for step in track(range(steps), f"Adam on Eq. 3, {runs} runs (D={d}, K={k})", steps, "steps"):
        w, v, z = params
        h = v.transpose(1, 2) @ x
        sup = (w.transpose(1, 2) @ h - y).square().sum((1, 2))
        rec = (z.transpose(1, 2) @ h - x).square().sum((1, 2))
        per_run = (sup + lam_t * rec) / (d * n)
        losses[step] = per_run.detach()
        grads = torch.autograd.grad(per_run.sum(), params)
        lr = lr0 * 0.5 * (1 + math.cos(math.pi * step / steps))
        with torch.no_grad():
            _adam(params, grads, state, lr, step + 1)
    return {"losses": losses.cpu().numpy(), "lam": [g[0] for g in grid], "lr": [g[1] for g in grid]}


def supervised_table(d: int, k: int, cfg: dict, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Fig. 8 rows for one (D, K): every (lam, lr) run, the selected lr per lam, and the closed-form loss."""
    x, y = synthetic_problem(d, cfg["n"], cfg["classes"], cfg["seed"])
    run = supervised_gd(x, y, k, cfg["lams"], cfg["lrs"], cfg["steps"], cfg["seed"], device)
    n = x.shape[1]
    last = min(cfg["select_last"], cfg["steps"])
    record = np.unique(np.r_[np.arange(0, cfg["steps"], cfg["record_every"]), cfg["steps"] - 1])
    frames = []
    for lam in cfg["lams"]:
        best_loss = theorem1(x, y, k, lam).loss / (d * n)
        cols = [i for i, g in enumerate(run["lam"]) if g == lam]
        tails = [run["losses"][-last:, i].mean() for i in cols]
        chosen = cols[int(np.nanargmin(tails))]
        for i in cols:
            curve = run["losses"][:, i]
            frames.append(
                pd.DataFrame(
                    {
                        "variant": "supervised",
                        "D": d,
                        "K": k,
                        "lam": lam,
                        "lr": run["lr"][i],
                        "views": np.nan,
                        "sigma": np.nan,
                        "step": record,
                        "loss_gd": curve[record],
                        "loss_closed_form": best_loss,
                        "min_gap": float(np.nanmin(curve - best_loss)),
                        "selected": i == chosen,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def denoising_loss(
    x: torch.Tensor, v: torch.Tensor, z: torch.Tensor, m2: torch.Tensor, m1_scale: float
) -> torch.Tensor:
    """Expected denoising loss E||X - Z^T V^T X~||^2 = ||X||^2 - 2 Tr(Z^T V^T M1 X^T) + Tr(Z^T V^T M2 V Z)."""
    b = x @ x.T
    return x.square().sum() - 2 * m1_scale * (z.T @ (v.T @ b)).trace() + (z.T @ (v.T @ m2 @ v) @ z).trace()


def denoising_closed_form(x: torch.Tensor, k: int, sigma: float) -> float:
    """Theorem 3 optimum of the expected Gaussian denoising loss (no labels): ||X||^2 - sum_{k<=K} mu_k."""
    d, n = x.shape
    b = x @ x.T
    spec = NoiseSpec("gaussian", sigma=sigma)
    m2 = b + n * sigma**2 * torch.eye(d, dtype=torch.float64)
    mu, _ = generalized_eigh(m2, a=spec.m1_scale**2 * (b @ b), jitter=0.0)
    return float(x.square().sum() - mu[:k].sum())


def denoising_sgd(
    x: torch.Tensor, k: int, sigma: float, views: int, cfg: dict, record: np.ndarray, device: torch.device | str = "cpu"
) -> dict:
    """SGD (Nesterov, cosine) on the sampled Gaussian denoising loss / (D N) with `views` noisy copies per step.

    At the steps in `record` returns the sampled loss and the expected loss of the iterate, both per view
    (comparable with the expected loss of one copy).
    """
    device = torch.device(device)
    d, n = x.shape
    x = x.to(device)
    gen = torch.Generator(device=device).manual_seed(cfg["seed"])
    init = torch.Generator().manual_seed(cfg["seed"])
    v = (torch.randn(d, k, generator=init, dtype=torch.float64) / math.sqrt(d)).to(device).requires_grad_(True)
    z = (torch.randn(k, d, generator=init, dtype=torch.float64) / math.sqrt(d)).to(device).requires_grad_(True)
    opt = torch.optim.SGD([v, z], lr=cfg["lr"], momentum=cfg["momentum"], nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg["steps"])
    m2 = x @ x.T + n * sigma**2 * torch.eye(d, dtype=torch.float64, device=device)
    clean = x.repeat(1, views)
    scale = d * n
    wanted = set(int(s) for s in record)
    sampled, expected = [], []
    what = f"SGD on Gaussian denoising, {views} views (D={d}, K={k})"
    for step in track(range(cfg["steps"]), what, cfg["steps"], "steps"):
        noisy = clean + sigma * torch.randn(clean.shape, generator=gen, dtype=torch.float64, device=device)
        batch = (clean - z.T @ (v.T @ noisy)).square().sum() / (views * scale)
        if step in wanted:
            with torch.no_grad():
                expected.append(float(denoising_loss(x, v, z, m2, 1.0)) / scale)
            sampled.append(float(batch.detach()))
        if not math.isfinite(float(batch.detach())):
            raise LbrError(f"denoising SGD diverged at step {step} (lr {cfg['lr']}); lower fig8.denoising.lr.")
        opt.zero_grad()
        batch.backward()
        opt.step()
        sched.step()
    return {"sampled": np.asarray(sampled), "expected": np.asarray(expected)}


def denoising_table(cfg: dict, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Fig. 8 denoising rows: expected and sampled loss of SGD against the Theorem 3 optimum, per number of views."""
    d, k, sigma = cfg["D"], cfg["K"], cfg["sigma"]
    x, _ = synthetic_problem(d, cfg["n"], 2, cfg["seed"])
    if not 1 <= k <= d:
        raise LbrError(f"fig8.denoising.K={k} must lie in 1..D={d}.")
    best = denoising_closed_form(x, k, sigma) / (d * x.shape[1])
    record = np.unique(np.r_[np.arange(0, cfg["steps"], cfg["record_every"]), cfg["steps"] - 1])
    frames = []
    for views in cfg["views"]:
        run = denoising_sgd(x, k, sigma, views, cfg, record, device)
        frames.append(
            pd.DataFrame(
                {
                    "variant": "denoising",
                    "D": d,
                    "K": k,
                    "lam": np.nan,
                    "lr": cfg["lr"],
                    "views": views,
                    "sigma": sigma,
                    "step": record,
                    "loss_gd": run["expected"],
                    "loss_sampled": run["sampled"],
                    "loss_closed_form": best,
                    "min_gap": float(np.min(np.abs(run["expected"] - best))),
                    "selected": True,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
