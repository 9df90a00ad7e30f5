"""Fig. 8's gradient descent: the batched programs of lbr.theory.linear against the code they replaced, measured in
the same run, at the sizes the laptop profile runs (the schema's fig8 defaults; the laptop's denoising views).

supervised: for each (D, K) of --dims x --latents, the 16 (lam, lr) Adam runs of the paper's protocol (--steps,
            default 10,000): the former loop (autograd on the D x N residuals of every run, below, verbatim) and
            `linear.supervised_gd`. Prints both times, their ratio, and the largest difference of the loss curves
            relative to the initial loss: round-off, except where Adam amplifies round-off into a spike; then the
            batched runs differ as much from themselves under a one-ulp change of Y (printed, unless --no-ulp).
denoising:  SGD on Gaussian denoising with --views noisy copies (laptop: 1 and 4), --denoising-steps steps: the
            former one-run-per-views loop (autograd on the noisy copies, verbatim below) and the batched
            `linear.denoising_sgd`, with the same noise draws; prints the times, ratio and largest difference of
            the recorded losses. Both are bound below by drawing the noise (float64 normals, timed apart).
usage: python bench/bench_fig8.py [--part supervised|denoising|both] [--steps 10000] [--dims 16 512]
       [--latents 3 16] [--views 1 4] [--denoising-steps 10000] [--threads 1] [--no-ulp]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

LAMS = [0.0, 0.1, 1.0, 10.0]  # schema fig8.lams
LRS = [0.1, 0.01, 0.001, 0.0001]  # schema fig8.lrs


def former_adam(params, grads, state, lr, t, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    for i, (p, g) in enumerate(zip(params, grads)):
        m, v = state[i]
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        step = lr / (1 - b1**t)
        p.sub_(step * m / ((v / (1 - b2**t)).sqrt() + eps))


def former_supervised_gd(x, y, k, lams, lrs, steps, seed=0):
    """lbr.theory.linear.supervised_gd before the batched program (autograd, every run's D x N residual)."""
    import torch

    d, n = x.shape
    c = y.shape[0]
    grid = [(lam, lr) for lam in lams for lr in lrs]
    runs = len(grid)
    lam_t = torch.tensor([g[0] for g in grid], dtype=torch.float64)
    lr0 = torch.tensor([g[1] for g in grid], dtype=torch.float64)[:, None, None]
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(k, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    w0 = torch.randn(k, c, generator=gen, dtype=torch.float64)
    v0 = torch.randn(d, k, generator=gen, dtype=torch.float64) / math.sqrt(d)
    params = [t.expand(runs, *t.shape).clone().requires_grad_(True) for t in (w0, v0, z0)]
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    losses = torch.empty(steps, runs, dtype=torch.float64)
    for step in range(steps):
        w, v, z = params
        h = v.transpose(1, 2) @ x
        sup = (w.transpose(1, 2) @ h - y).square().sum((1, 2))
        rec = (z.transpose(1, 2) @ h - x).square().sum((1, 2))
        per_run = (sup + lam_t * rec) / (d * n)
        losses[step] = per_run.detach()
        grads = torch.autograd.grad(per_run.sum(), params)
        lr = lr0 * 0.5 * (1 + math.cos(math.pi * step / steps))
        with torch.no_grad():
            former_adam(params, grads, state, lr, step + 1)
    return losses.numpy()


def former_denoising_sgd(x, k, sigma, views, cfg, record):
    """lbr.theory.linear.denoising_sgd before the batched program (one views value, autograd on noisy copies)."""
    import torch

    from lbr.theory.linear import denoising_loss

    d, n = x.shape
    gen = torch.Generator().manual_seed(cfg["seed"])
    init = torch.Generator().manual_seed(cfg["seed"])
    v = (torch.randn(d, k, generator=init, dtype=torch.float64) / math.sqrt(d)).requires_grad_(True)
    z = (torch.randn(k, d, generator=init, dtype=torch.float64) / math.sqrt(d)).requires_grad_(True)
    opt = torch.optim.SGD([v, z], lr=cfg["lr"], momentum=cfg["momentum"], nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg["steps"])
    m2 = x @ x.T + n * sigma**2 * torch.eye(d, dtype=torch.float64)
    clean = x.repeat(1, views)
    scale = d * n
    wanted = set(int(s) for s in record)
    sampled, expected = [], []
    for step in range(cfg["steps"]):
        noisy = clean + sigma * torch.randn(clean.shape, generator=gen, dtype=torch.float64)
        batch = (clean - z.T @ (v.T @ noisy)).square().sum() / (views * scale)
        if step in wanted:
            with torch.no_grad():
                expected.append(float(denoising_loss(x, v, z, m2, 1.0)) / scale)
            sampled.append(float(batch.detach()))
        if not math.isfinite(float(batch.detach())):
            raise RuntimeError(f"diverged at step {step}")
        opt.zero_grad()
        batch.backward()
        opt.step()
        sched.step()
    return {"sampled": np.asarray(sampled), "expected": np.asarray(expected)}


def bench_supervised(args) -> tuple[float, float]:
    from lbr.theory import linear

    print(f"== Fig. 8, Theorem 1 vs Adam: {len(LAMS)} lambdas x {len(LRS)} lrs, {args.steps} steps, N=256, C=2")
    total_old = total_new = 0.0
    for d in args.dims:
        for k in args.latents:
            x, y = linear.synthetic_problem(d)
            t0 = time.perf_counter()
            old = former_supervised_gd(x, y, k, LAMS, LRS, args.steps)
            t_old = time.perf_counter() - t0
            t0 = time.perf_counter()
            new = linear.supervised_gd(x, y, k, LAMS, LRS, args.steps)["losses"]
            t_new = time.perf_counter() - t0
            total_old, total_new = total_old + t_old, total_new + t_new
            diff = np.abs(old - new).max(0) / old[0]
            print(
                f"D={d:4d} K={k:3d}: former {t_old:7.1f} s, batched {t_new:6.1f} s, ratio {t_old / t_new:5.1f}x; "
                f"curves differ by {np.median(diff):.0e} (median run) to {diff.max():.0e} (worst run) of the "
                "initial loss",
                end="",
            )
            if args.ulp:
                ulp = linear.supervised_gd(x, y * (1 + 2**-52), k, LAMS, LRS, args.steps)["losses"]
                own = np.abs(ulp - new).max(0) / new[0]
                print(
                    f"; the batched runs against themselves with Y changed by one ulp: {np.median(own):.0e} to "
                    f"{own.max():.0e}",
                    end="",
                )
            print()
    print(f"all (D, K): former {total_old:.0f} s, batched {total_new:.0f} s, ratio {total_old / total_new:.1f}x")
    return total_old, total_new


def bench_denoising(args) -> tuple[float, float]:
    import torch

    from lbr.theory import linear

    d, k, sigma = 512, 16, 0.1  # schema fig8.denoising
    x, _ = linear.synthetic_problem(d, 256, 2, 0)
    steps = args.denoising_steps
    cfg = {"lr": 0.2, "momentum": 0.9, "steps": steps, "seed": 0}
    record = np.unique(np.r_[np.arange(0, steps, 50), steps - 1])
    print(f"== Fig. 8, Theorem 3 vs SGD: D={d}, K={k}, sigma {sigma}, views {args.views}, {steps} steps")
    t0 = time.perf_counter()
    old = [former_denoising_sgd(x, k, sigma, v, cfg, record) for v in args.views]
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = linear.denoising_sgd(x, k, sigma, list(args.views), cfg, record)
    t_new = time.perf_counter() - t0
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(min(steps, 500)):
        for v in args.views:
            torch.randn((d, v * 256), generator=gen, dtype=torch.float64)
    t_rng = (time.perf_counter() - t0) * steps / min(steps, 500)
    diff = max(
        float(np.max(np.abs(o[key] - new[key][:, i]) / np.abs(o[key])))
        for i, o in enumerate(old)
        for key in ("sampled", "expected")
    )
    print(
        f"former {t_old:.1f} s, batched {t_new:.1f} s, ratio {t_old / t_new:.1f}x; recorded losses differ by "
        f"{diff:.0e} (relative); drawing the noise alone takes {t_rng:.1f} s of either"
    )
    return t_old, t_new


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=["supervised", "denoising", "both"], default="both")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--dims", type=int, nargs="+", default=[16, 512])
    p.add_argument("--latents", type=int, nargs="+", default=[3, 16])
    p.add_argument("--views", type=int, nargs="+", default=[1, 4])
    p.add_argument("--denoising-steps", type=int, default=10000)
    p.add_argument("--threads", type=int, default=1, help="the laptop profile gives each Fig. 8 job one thread")
    p.add_argument("--no-ulp", dest="ulp", action="store_false", help="skip the one-ulp sensitivity runs")
    args = p.parse_args()
    import logging

    import torch

    logging.getLogger("lbr").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), CPU")
    old = new = 0.0
    if args.part in ("supervised", "both"):
        o, n = bench_supervised(args)
        old, new = old + o, new + n
    if args.part in ("denoising", "both"):
        o, n = bench_denoising(args)
        old, new = old + o, new + n
    if args.part == "both":
        print(f"== Fig. 8 jobs in all: former {old:.0f} s, batched {new:.0f} s, ratio {old / new:.1f}x")


if __name__ == "__main__":
    main()
