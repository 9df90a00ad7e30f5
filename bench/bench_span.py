"""Theorem 3 for a small image folder (N < D): the span route of lbr.theory.span against the D x D route, measured
in the same run on the same statistics.

An --n-image array of --side x --side x 3 images (default 120 x 32 x 32 x 3, D = 3,072, as a 120-photo folder at
the profiles' 32 px), standardized as the closed forms read it; for the noises of the noise check's defaults plus
two more masks (or --noises), both routes compute the PCA basis once and then, per noise, the denoising-optimal
features and Eq. 9's alignment for every K:
  D x D route: eigh of X^T X (D x D), then per noise a D-dimensional generalized eigensolve (Cholesky reduction);
  span route:  the basis from X^T X by a two-pass range finder, then per noise an r x r problem (r <= N).
Prints the time of each, their ratio, and the largest difference of the alignment curves between the routes.
usage: python bench/bench_span.py [--n 120] [--side 32] [--threads 2] [--noises gaussian-0.5 mask-0.5-patch1 ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

NOISES = ["gaussian-0.5", "gaussian-2", "mask-0.5-patch1", "mask-0.75-patch4", "mask-0.25-patch2", "mask-0.9-patch8"]


def images(n: int, side: int, seed: int = 0):
    from lbr.data.builtin import synthetic

    return synthetic(n_train=n, n_test=10, height=side, width=side, channels=3, seed=seed)["train"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=120)
    p.add_argument("--side", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--noises", nargs="+", default=NOISES)
    args = p.parse_args()
    import logging

    import torch

    from lbr.theory import alignment as al
    from lbr.theory import denoising as dn
    from lbr.theory import span
    from lbr.theory.noise import NoiseSpec

    logging.getLogger("lbr").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    x, y = images(args.n, args.side)
    specs = [NoiseSpec.from_label(label) for label in args.noises]
    moments = al.compute_moments(x, y, 10, "standardize", "covariance")
    b, shape, n = moments.xtx, moments.shape, moments.n
    print(f"== Theorem 3 for N={n} images of D={moments.d} ({args.side}x{args.side}x3), {args.threads} threads, CPU")
    times, curves = {}, {}
    for route in ("full", "span"):
        t0 = time.perf_counter()
        basis = al.pca_basis(moments) if route == "full" else span.span_basis(moments, al.RANK_RTOL)
        t_basis = time.perf_counter() - t0
        per = []
        for spec in specs:
            t1 = time.perf_counter()
            q = dn.feature_basis(basis, b, spec, shape, n, route=route)
            curves[route, spec.label] = dn.alignment_under_noise(basis, q)["alignment"]
            per.append(time.perf_counter() - t1)
        times[route] = t_basis + sum(per)
        shown = ", ".join(f"{spec.label} {t:.2f} s" for spec, t in zip(specs, per))
        print(
            f"{route:4s} route: basis {t_basis:.2f} s (rank {basis.rank}); per noise: {shown}; all {times[route]:.1f} s"
        )
    diff = max(float(np.abs(curves["full", s.label] - curves["span", s.label]).max()) for s in specs)
    full, fast = times["full"], times["span"]
    print(f"D x D route {full:.1f} s, span route {fast:.2f} s, ratio {full / fast:.0f}x; ", end="")
    print(f"largest alignment difference between the routes {diff:.1e}")


if __name__ == "__main__":
    main()
