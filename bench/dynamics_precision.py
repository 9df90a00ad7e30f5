"""Fig. 3 in float32 against bf16 on the same data: how much of each band of eigen-directions the same autoencoder
captures when it trains and is measured under bf16 autocast instead of float32.

The bottom eigen-directions of natural images carry about 1e-6 of variance per pixel, below the bf16 rounding
of outputs in [0, 1] (about 7e-7 per pixel), so bf16 can itself make them look learned last. This trains one
DCAE twice, same seed and data, and prints per band the eigenvalue, the share captured under each policy, and
the rounding floor of bf16 outputs.

    python bench/dynamics_precision.py                      # synthetic CIFAR-shaped data (1/f^2 spectrum)
    python bench/dynamics_precision.py --data results/data/cifar10/train.npz --n 10000 --epochs 20
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from lbr.config.settings import DynamicsSettings  # noqa: E402
from lbr.data import load_split  # noqa: E402
from lbr.data.builtin import synthetic  # noqa: E402
from lbr.tables.dynamics import band_edges, band_statistics  # noqa: E402
from lbr.training.dynamics import run  # noqa: E402

BF16_FLOOR = (0.5 * 2**-8) ** 2 / 12  # variance of bf16 rounding of values near 0.5 (8 bits of mantissa)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="a canonical split (.npz); default: synthetic 32x32x3")
    p.add_argument("--n", type=int, default=2000, help="training images (a seeded subset of --data)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--depth", type=int, default=3, help="DCAE depth (image sides must divide by 2**depth)")
    p.add_argument("--bands", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.data:
        x = load_split(a.data)[0]
        x = x[np.sort(np.random.default_rng(0).choice(len(x), min(a.n, len(x)), replace=False))]
    else:
        x = synthetic(n_train=a.n, n_test=10, height=32, width=32, seed=0)["train"][0]
    results, seconds = {}, {}
    for autocast in ("off", "bf16"):
        s = DynamicsSettings(
            device=a.device,
            seed=0,
            epochs=a.epochs,
            batch_size=64,
            lr=3e-3,
            weight_decay=1e-3,
            storage="uint8",
            autocast=autocast,
            channels_last=False,
            compile=False,
            compile_mode="default",
            checkpoint_minutes=0,
            arch="dcae",
            depth=a.depth,
            latent=a.latent,
            measure_images=None,
            measure_batch=512,
            keep_checkpoint=False,
        )
        work = Path(tempfile.mkdtemp())
        t0 = time.perf_counter()
        results[autocast] = run(x, x[:256], s, torch.device(a.device), work / "e.npz", work / "h.csv")
        seconds[autocast] = time.perf_counter() - t0
    lam = results["off"]["eigenvalues"]
    edges = band_edges(len(lam), a.bands)
    captured = {k: band_statistics(lam, r["energy"], r["error"], edges)["captured"][-1] for k, r in results.items()}
    per_direction = band_statistics(lam, results["off"]["energy"], results["off"]["error"], edges)["band_eigenvalue"]
    print(
        f"{len(x)} images {x.shape[1:]}, DCAE depth {a.depth} latent {a.latent}, {a.epochs} epochs; "
        f"float32 {seconds['off']:.0f} s, bf16 {seconds['bf16']:.0f} s; bf16 rounding floor {BF16_FLOOR:.1e}"
    )
    print(f"{'band':>4s} {'ranks':>11s} {'eigenvalue':>11s} {'captured f32':>13s} {'captured bf16':>14s}")
    for b in range(len(edges) - 1):
        ranks = f"{edges[b] + 1}-{edges[b + 1]}"
        print(f"{b:4d} {ranks:>11s} {per_direction[b]:11.2e} {captured['off'][b]:13.4f} {captured['bf16'][b]:14.4f}")


if __name__ == "__main__":
    main()
