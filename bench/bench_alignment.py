"""Closed-form theory benchmarks: the Fig. 2 sweep at CIFAR size and the masking solve at TinyImageNet size.

sweep: Eq. 7 for every K on N images of side x side x 3 (default 50,000 x 32 x 32 x 3, D = 3,072), lbr against two
       references measured in the same run: the authors' route (eigh of X^T X, X @ eigenvectors, thin QR of the
       N x D result; NumPy float64) and the naive per-K least-squares loop (timed at a few K, extrapolated to all
       K with a quadratic fit). Prints times, ratios and the largest difference between the curves.
mask:  masking M2 for k x k patches and the whole Fig. 7 solve for one noise (rotation into the PCA basis,
       Cholesky reduction, eigh, QR, alignment and principal angles) at D = side^2 * 3 (default 64: D = 12,288).
usage: python bench/bench_alignment.py [--part sweep|mask|both] [--n 50000] [--side 32] [--mask-side 64]
       [--mask-n 13000] [--references all|naive] [--device cpu] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))


def images(n: int, side: int, seed: int = 0):
    from lbr.data.builtin import synthetic

    data = synthetic(n_train=n, n_test=10, height=side, width=side, channels=3, seed=seed)
    return data["train"]


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def authors_route(x: np.ndarray, y: np.ndarray, classes: int) -> np.ndarray:
    """The authors' alignment.py recipe (paper Sec. 6.8), without their random jitter: returns the code variant."""
    f = x.reshape(len(x), -1).astype(np.float64) / 255.0
    f -= f.mean(0)
    f /= f.std()
    _, vecs = np.linalg.eigh(f.T @ f)
    q = np.linalg.qr(f @ vecs[:, ::-1])[0]
    del f
    yo = np.eye(classes)[y]
    numer = np.square(yo @ (yo.T @ q) / len(y)).sum(0).cumsum()
    return 100 * np.sqrt(numer / numer[-1])


def naive_per_k(x: np.ndarray, y: np.ndarray, classes: int, ks: list[int]) -> tuple[float, dict]:
    """Seconds of one least-squares fit on the top-K PCA features for each K in ks, extrapolated to K = 1..D."""
    import torch

    f = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float64) / 255.0
    f -= f.mean(0)
    _, vecs = torch.linalg.eigh(f.T @ f)
    vecs = vecs.flip(1)
    yo = torch.nn.functional.one_hot(torch.as_tensor(y), classes).to(torch.float64)
    times = {}
    for k in ks:
        t0 = time.perf_counter()
        feats = f @ vecs[:, :k]
        torch.linalg.lstsq(feats, yo)
        times[k] = time.perf_counter() - t0
    d = f.shape[1]
    coef = np.polyfit(list(times), list(times.values()), min(2, len(times) - 1))
    total = float(np.polyval(coef, np.arange(1, d + 1)).clip(min=min(times.values()) / 10).sum())
    return total, times


def bench_sweep(args, device) -> None:
    from lbr.theory import alignment as al

    x, y = images(args.n, args.side)
    d = x[0].size
    print(f"== Fig. 2 sweep: N={len(x)}, D={d} ({args.side}x{args.side}x3), device {device}, {args.threads} threads")
    t0 = time.perf_counter()
    moments = al.compute_moments(x, y, 10, "standardize", "covariance", device)
    t1 = time.perf_counter()
    basis = al.pca_basis(moments, device=device)
    sweep = al.sweep(basis)
    t_lbr = time.perf_counter() - t0
    print(
        f"lbr: moments {t1 - t0:.1f} s + eigh and cumulative sum {time.perf_counter() - t1:.1f} s = {t_lbr:.1f} s "
        f"(peak RSS so far {peak_gb():.1f} GB)"
    )
    if args.references == "all":
        t0 = time.perf_counter()
        ref = authors_route(x, y, 10)
        t_qr = time.perf_counter() - t0
        print(
            f"authors' QR route (NumPy): {t_qr:.1f} s -> lbr is {t_qr / t_lbr:.1f}x faster; "
            f"max |alignment_code difference| = {np.abs(ref - sweep['alignment_code']).max():.2e} points"
        )
    total, times = naive_per_k(x, y, 10, args.naive_k)
    shown = ", ".join(f"K={k}: {t:.2f} s" for k, t in times.items())
    print(f"naive per-K least squares: {shown}; all {d} K extrapolated: {total / 60:.0f} min", end=" ")
    print(f"-> lbr is {total / t_lbr:.0f}x faster")


def bench_mask(args, device) -> None:
    import torch

    from lbr.theory import alignment as al
    from lbr.theory import denoising as dn

    x, y = images(args.mask_n, args.mask_side, seed=1)
    d = x[0].size
    side = args.mask_side
    print(f"== Masking at D={d} ({side}x{side}x3), N={len(x)}, device {device}, {args.threads} threads")
    t0 = time.perf_counter()
    moments = al.compute_moments(x, y, 10, "standardize", "covariance", device)
    del x
    print(f"moments X^T X: {time.perf_counter() - t0:.1f} s")
    b = moments.xtx.to(device)
    spec = dn.NoiseSpec("mask", 0.5, args.patch)
    t0 = time.perf_counter()
    m2 = dn.second_moment(b, spec, moments.shape, moments.n)
    _sync(device)
    print(f"masking M2 ({args.patch}x{args.patch} patches, pixel coordinates): {time.perf_counter() - t0:.2f} s")
    del m2
    t0 = time.perf_counter()
    basis = al.pca_basis(moments, device=device)
    _sync(device)
    t_pca = time.perf_counter() - t0
    print(f"PCA basis (eigh of X^T X, shared by every noise): {t_pca:.1f} s")
    t0 = time.perf_counter()
    q = dn.feature_basis(basis, b, spec, moments.shape, moments.n)
    _sync(device)
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    dn.alignment_under_noise(basis, q)
    ang = dn.principal_angles(q, 256)
    t_after = time.perf_counter() - t0
    print(
        f"masking solve (M2 in the PCA basis, Cholesky reduction, eigh, QR): {t_solve:.1f} s; "
        f"alignment for all K + angles for K <= 256: {t_after:.1f} s; per noise spec {t_solve + t_after:.1f} s "
        f"(largest angle {np.nanmax(ang['max_angle_deg']):.1f} deg; peak RSS {peak_gb():.1f} GB)"
    )
    if device.type == "cuda":
        print(f"GPU peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GB")


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=["sweep", "mask", "both"], default="both")
    p.add_argument("--n", type=int, default=50000)
    p.add_argument("--side", type=int, default=32)
    p.add_argument("--naive-k", type=int, nargs="+", default=[64, 256, 1024])
    p.add_argument("--references", choices=["all", "naive"], default="all", help="naive: skip the authors' QR route")
    p.add_argument("--mask-side", type=int, default=64)
    p.add_argument("--mask-n", type=int, default=13000)
    p.add_argument("--patch", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    from lbr.machine.device import pick_device

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    device = pick_device(args.device)
    if args.part in ("sweep", "both"):
        bench_sweep(args, device)
    if args.part in ("mask", "both"):
        bench_mask(args, device)


if __name__ == "__main__":
    main()
