"""Theorem 1: the closed-form optimum of the joint supervised + reconstruction linear loss (paper Eq. 3),
its Corollary 1.1 limits, and the gradient-descent runs that Fig. 8 compares it with.

Column-major as in the paper: X is D x N, Y is C x N; encoder V (D x K), head W (K x C), decoder Z (K x D);
    L(W, V, Z) = ||Y - W^T V^T X||_F^2 + lam ||X - Z^T V^T X||_F^2.
With B = X X^T and A = X (Y^T Y + lam X^T X) X^T, the optimal V spans the top-K generalized eigenvectors of
(A, B) and L* = ||Y||^2 + lam ||X||^2 - sum_{k<=K} mu_k. Both routes reduce this to the same r x r symmetric
matrix T T^T + lam diag(s) (r = rank X, T = U_r^T Y^T, s = squared singular values of X):
  'covariance' (D <= N): from the eigendecomposition of the D x D matrix B;
  'gram'       (N < D) : from the N x N Gram matrix X^T X (paper Sec. 6.7), mapped back through X.

Fig. 8's gradient descent runs every (lam, lr) pair of one (D, K) as one batched program (`_Eq3Batch`: stacked
parameters, exact gradients from X X^T and X Y^T, one Adam with a learning rate per run), and the denoising SGD
every number of views likewise (`_DenoisingBatch`), each run with its own noise draws. Each run follows the
trajectory it would follow alone, up to round-off; Adam near an optimum of round-off size amplifies round-off
into spikes whose timing any change of summation order moves, as it moves that of a single run.
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


RESIDUAL_BELOW = 0.1
"""The reconstruction term of Eq. 3 is evaluated from its residual (not from sufficient statistics) when the best
rank-K reconstruction leaves less than this share of ||X||^2 (see `_Eq3Batch`)."""


def _adam(params, grads, state, lrs, t, betas=(0.9, 0.999), eps=1e-8):
    """One step of torch.optim.Adam's arithmetic on each tensor, with its own (broadcastable) learning rate."""
    b1, b2 = betas
    for p, g, (m, v), lr in zip(params, grads, state, lrs):
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        update = m / (v.sqrt() / math.sqrt(1 - b2**t)).add_(eps)
        p.sub_(update.mul_(lr / (1 - b1**t)))


class _Eq3Batch:
    """Eq. 3 and its exact gradients for R runs at once (float64), without autograd and without the D x N
    reconstruction residual of each run.

    Parameters are stacked: vz (D, 2, R, K) holds V and Z^T of every run side by side (so that G V and G Z^T are
    one D x D by D x 2RK product), w (R, K, C). Column-major as the module; G = X X^T.
      sup = ||E_Y||^2, E_Y = (V W)^T X - Y (C x N, cheap): d/dW = 2 V^T X E_Y^T, d/dV = 2 X E_Y^T W^T.
      rec, from sufficient statistics: ||X||^2 - 2 <Z^T, G V> + <Z Z^T, V^T G V>,
           d/dV = 2 (G V Z Z^T - G Z^T), d/dZ^T = 2 (Z^T V^T G V - G V);
      rec, from a residual: ||E||^2, E = F - F V Z with F^T F = G (F from the QR of X^T, min(D, N) x D),
           d/dV = -2 F^T E Z^T, d/dZ^T = -2 E^T F V.
    The first form of rec loses digits to cancellation when rec is a small share of ||X||^2, and its gradient's
    round-off does not vanish with the residual (Adam, which divides by the gradient's size, then takes visible
    steps away from an optimum of round-off size). Every iterate's rec is at least the best rank-K reconstruction
    error (Eckart-Young), so the sufficient statistics are used only when that leaves RESIDUAL_BELOW of ||X||^2 or
    more (at most about one digit lost), the residual otherwise; the supervised term is always its residual.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, k: int, lam: torch.Tensor):
        d, n = x.shape
        self.x, self.y, self.lam = x, y, lam
        self.xx = float(x.square().sum())
        energy = torch.linalg.eigvalsh(x @ x.T if d <= n else x.T @ x).flip(0).clamp_min(0)
        self.residual = float(energy[k:].sum()) < RESIDUAL_BELOW * self.xx
        self.g = None if self.residual else x @ x.T
        self.f = torch.linalg.qr(x.T, mode="r")[1] if self.residual else None

    def __call__(self, vz: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(Eq. 3 of every run, d/dvz, d/dw), unscaled."""
        d, _, runs, k = vz.shape
        lam = self.lam[:, None]
        v, zt = vz[:, 0], vz[:, 1]
        err = torch.einsum("drk,rkc->rcd", v, w) @ self.x - self.y  # (R, C, N)
        xe = torch.einsum("dn,rcn->drc", self.x, err)  # X E_Y^T
        dw = torch.einsum("drk,drc->rkc", v, xe)
        dv = torch.einsum("drc,rkc->drk", xe, w)
        if self.residual:
            fv = (self.f @ v.reshape(d, -1)).view(-1, runs, k).transpose(0, 1)  # (R, r, K)
            e = torch.baddbmm(self.f, fv, zt.permute(1, 2, 0), alpha=-1)  # (R, r, D)
            rec = e.square().sum((1, 2))
            dv = dv - lam * torch.einsum("ad,rak->drk", self.f, e @ zt.transpose(0, 1))
            dzt = -lam * (e.transpose(1, 2) @ fv).transpose(0, 1)
        else:
            gvz = (self.g @ vz.reshape(d, -1)).view(d, 2, runs, k)
            gv, gz = gvz[:, 0], gvz[:, 1]
            s = torch.einsum("drk,drl->rkl", v, gv)  # V^T G V
            zz = torch.einsum("drk,drl->rkl", zt, zt)  # Z Z^T
            rec = self.xx - 2 * (zt * gv).sum((0, 2)) + (zz * s).sum((1, 2))
            dv = dv + lam * (torch.einsum("drk,rkl->drl", gv, zz) - gz)
            dzt = lam * (torch.einsum("drk,rkl->drl", zt, s) - gv)
        value = err.square().sum((1, 2)) + self.lam * rec
        return value, torch.stack([dv, dzt], 1).mul_(2), 2 * dw


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
    """Adam with cosine annealing on Eq. 3 / (D N), every (lam, lr) pair as one run of one batched program.

    Initialisation as the authors' tests: V, Z ~ N(0, 1/D), W ~ N(0, 1), the same draw for every run. Each run
    follows its own trajectory (its lam, its lr) as if run alone: the batch shares only the data products.
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
    lr0 = torch.tensor([g[1] for g in grid], dtype=torch.float64, device=device)
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(k, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    w0 = torch.randn(k, c, generator=gen, dtype=torch.float64)
    v0 = torch.randn(d, k, generator=gen, dtype=torch.float64) / math.sqrt(d)
    vz = torch.stack([v0, z0.T], 1)[:, :, None, :].expand(d, 2, runs, k).to(device).contiguous()
    w = w0.to(device).expand(runs, k, c).contiguous()
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in (vz, w)]
    eq3 = _Eq3Batch(x, y, k, lam_t)
    losses = torch.empty(steps, runs, dtype=torch.float64, device=device)
    for step in track(range(steps), f"Adam on Eq. 3, {runs} runs (D={d}, K={k})", steps, "steps"):
        value, dvz, dw = eq3(vz, w)
        losses[step] = value / (d * n)
        lr = lr0 * 0.5 * (1 + math.cos(math.pi * step / steps))
        _adam((vz, w), (dvz.div_(d * n), dw.div_(d * n)), state, (lr[:, None], lr[:, None, None]), step + 1)
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
    x: torch.Tensor,
    v: torch.Tensor,
    z: torch.Tensor,
    m2: torch.Tensor,
    m1_scale: float,
    b: torch.Tensor | None = None,
) -> torch.Tensor:
    """Expected denoising loss E||X - Z^T V^T X~||^2 = ||X||^2 - 2 Tr(Z^T V^T M1 X^T) + Tr(Z^T V^T M2 V Z), with
    M1 = m1_scale X; v (..., D, K) and z (..., K, D) may carry a leading batch of runs; b = X X^T if known."""
    b = x @ x.T if b is None else b
    cross = (z.mT * (b @ v)).sum((-2, -1))
    quad = ((v.mT @ m2 @ v) * (z @ z.mT)).sum((-2, -1))
    return x.square().sum() - 2 * m1_scale * cross + quad


def denoising_closed_form(x: torch.Tensor, k: int, sigma: float) -> float:
    """Theorem 3 optimum of the expected Gaussian denoising loss (no labels): ||X||^2 - sum_{k<=K} mu_k."""
    d, n = x.shape
    b = x @ x.T
    spec = NoiseSpec("gaussian", sigma=sigma)
    m2 = b + n * sigma**2 * torch.eye(d, dtype=torch.float64)
    mu, _ = generalized_eigh(m2, a=spec.m1_scale**2 * (b @ b), jitter=0.0)
    return float(x.square().sum() - mu[:k].sum())


class _DenoisingBatch:
    """The sampled Gaussian denoising loss of R runs with views v_r and its exact gradients, from each run's noise.

    Copies X~_c = X + sigma E_c (E_c the c-th D x N block of the run's draw), H_c = V^T X~_c, R_c = X - Z^T H_c:
      loss   = sum_c ||R_c||^2 = v ||X||^2 - 2 <Z X, sum_c H_c> + <Z Z^T, sum_c H_c H_c^T>
      d/dZ   = -2 (sum_c H_c X^T - sum_c H_c H_c^T Z)
      d/dV   = -2 (X sum_c (Z R_c)^T + sigma sum_c E_c (Z R_c)^T),   Z R_c = Z X - Z Z^T H_c  (K x N)
    Only V^T E_c and E_c (Z R_c)^T touch the noise: no noisy copy and no D x v N residual is formed. The expanded
    loss serves the divergence check; `sampled` gives the recorded value from the residuals.
    """

    def __init__(self, x: torch.Tensor, views: list[int], sigma: float):
        self.x, self.views, self.sigma = x, views, sigma
        self.owner = torch.repeat_interleave(
            torch.arange(len(views), device=x.device), torch.tensor(views).to(x.device)
        )
        self.first = np.cumsum([0, *views[:-1]]).tolist()  # each run's first copy
        self.xx = x.square().sum()

    def __call__(self, v: torch.Tensor, z: torch.Tensor, noise: list[torch.Tensor]):
        """(loss of every run, d/dV, d/dZ), unscaled; the copies' H_c are kept for `sampled`."""
        x, owner, k, n = self.x, self.owner, v.shape[-1], self.x.shape[1]
        vte = torch.cat([(v[r].T @ e).view(k, c, n).transpose(0, 1) for r, (e, c) in enumerate(zip(noise, self.views))])
        zz, zx = z @ z.mT, z @ x
        self.h = h = (v.mT @ x)[owner] + self.sigma * vte  # (copies, K, N)
        zr = zx[owner] - zz[owner] @ h
        hsum = torch.zeros_like(zx).index_add_(0, owner, h)
        zrsum = torch.zeros_like(zx).index_add_(0, owner, zr)
        hh = torch.zeros_like(zz).index_add_(0, owner, h @ h.mT)
        ezr = torch.stack(
            [e @ zr[i : i + c].transpose(1, 2).reshape(c * n, k) for e, i, c in zip(noise, self.first, self.views)]
        )
        loss = self.xx * zz.new_tensor(self.views) - 2 * (zx * hsum).sum((1, 2)) + (zz * hh).sum((1, 2))
        return loss, -2 * (x @ zrsum.mT + self.sigma * ezr), -2 * (hsum @ x.T - hh @ z)

    def sampled(self, z: torch.Tensor) -> torch.Tensor:
        """The loss of the last call's copies from their residuals ||X - Z^T H_c||^2 (no cancellation)."""
        residual = (self.x - z[self.owner].mT @ self.h).square().sum((1, 2))
        return torch.zeros(len(self.views), dtype=residual.dtype, device=residual.device).index_add_(
            0, self.owner, residual
        )


def denoising_sgd(
    x: torch.Tensor,
    k: int,
    sigma: float,
    views: int | list[int],
    cfg: dict,
    record: np.ndarray,
    device: torch.device | str = "cpu",
) -> dict:
    """SGD (Nesterov, cosine) on the sampled Gaussian denoising loss / (D N views), with `views` noisy copies of X
    per step; a list of views runs them side by side as one batched program (`_DenoisingBatch`).

    Each run draws its noise as it would alone (its own generator seeded with cfg["seed"], one D x views*N draw per
    step) and starts from the same V, Z ~ N(0, 1/D). At the steps in `record` returns the sampled loss and the
    expected loss of the iterate, per view (comparable with the expected loss of one copy): arrays
    len(record) x runs, or len(record) for a single int `views`.
    """
    single = isinstance(views, int)
    views = [views] if single else [int(c) for c in views]
    device = torch.device(device)
    d, n = x.shape
    runs = len(views)
    x = x.to(device, torch.float64)
    gens = [torch.Generator(device=device).manual_seed(cfg["seed"]) for _ in views]
    init = torch.Generator().manual_seed(cfg["seed"])
    v = (torch.randn(d, k, generator=init, dtype=torch.float64) / math.sqrt(d)).to(device).expand(runs, d, k)
    z = (torch.randn(k, d, generator=init, dtype=torch.float64) / math.sqrt(d)).to(device).expand(runs, k, d)
    v, z = v.contiguous(), z.contiguous()
    momentum = [torch.zeros_like(v), torch.zeros_like(z)]
    scale = torch.tensor(views, dtype=torch.float64, device=device) * (d * n)
    b = x @ x.T
    m2 = b + n * sigma**2 * torch.eye(d, dtype=torch.float64, device=device)
    batch = _DenoisingBatch(x, views, sigma)
    wanted = set(int(s) for s in record)
    sampled, expected = [], []
    steps = cfg["steps"]
    what = f"SGD on Gaussian denoising, views {', '.join(map(str, views))} (D={d}, K={k})"
    for step in track(range(steps), what, steps, "steps"):
        noise = [torch.randn((d, c * n), generator=g, dtype=torch.float64, device=device) for g, c in zip(gens, views)]
        loss, dv, dz = batch(v, z, noise)
        if not bool(torch.isfinite(loss).all()):
            bad = views[int((~torch.isfinite(loss)).nonzero()[0])]
            raise LbrError(
                f"denoising SGD with {bad} views diverged at step {step} (lr {cfg['lr']}); lower fig8.denoising.lr."
            )
        if step in wanted:
            sampled.append((batch.sampled(z) / scale).cpu().numpy())
            expected.append((denoising_loss(x, v, z, m2, 1.0, b) / (d * n)).cpu().numpy())
        lr = cfg["lr"] * 0.5 * (1 + math.cos(math.pi * step / steps))
        for p, g, buf in zip((v, z), (dv, dz), momentum):
            g = g / scale[:, None, None]
            buf.mul_(cfg["momentum"]).add_(g)
            p.sub_(g.add_(buf, alpha=cfg["momentum"]), alpha=lr)
    out = {"sampled": np.asarray(sampled).reshape(-1, runs), "expected": np.asarray(expected).reshape(-1, runs)}
    return {key: val[:, 0] for key, val in out.items()} if single else out


def denoising_table(cfg: dict, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Fig. 8 denoising rows: expected and sampled loss of SGD against the Theorem 3 optimum, per number of views."""
    d, k, sigma = cfg["D"], cfg["K"], cfg["sigma"]
    x, _ = synthetic_problem(d, cfg["n"], 2, cfg["seed"])
    if not 1 <= k <= d:
        raise LbrError(f"fig8.denoising.K={k} must lie in 1..D={d}.")
    best = denoising_closed_form(x, k, sigma) / (d * x.shape[1])
    record = np.unique(np.r_[np.arange(0, cfg["steps"], cfg["record_every"]), cfg["steps"] - 1])
    run = denoising_sgd(x, k, sigma, list(cfg["views"]), cfg, record, device)
    frames = []
    for i, views in enumerate(cfg["views"]):
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
                    "loss_gd": run["expected"][:, i],
                    "loss_sampled": run["sampled"][:, i],
                    "loss_closed_form": best,
                    "min_gap": float(np.min(np.abs(run["expected"][:, i] - best))),
                    "selected": True,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
