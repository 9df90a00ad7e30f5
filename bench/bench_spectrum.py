"""Time and peak memory of the eigenbasis for a CIFAR-sized input, against a one-shot NumPy reference.

Each method runs in its own subprocess so that its peak RSS is its own. Prints both and their ratios.
usage: python bench/bench_spectrum.py [--n 50000] [--side 32] [--channels 3] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))


def make_images(n: int, side: int, channels: int):
    from lbr.data.builtin import synthetic

    return synthetic(n_train=n, n_test=10, height=side, width=side, channels=channels)["train"][0]


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM starts afresh at exec, unlike getrusage's inherited maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(method: str, data: str, device: str) -> dict:
    import numpy as np
    import torch

    x = np.load(data)
    n = len(x)
    base = _peak_mb()
    t0 = time.perf_counter()
    if method == "lbr":
        from lbr.machine.device import pick_device
        from lbr.spectral import eigenbasis as spectrum

        out = spectrum.compute(x, pick_device(device))
        top = out["eigenvalues"][:3]
    else:
        f = x.reshape(n, -1).astype(np.float64) / 255.0
        f /= f.std(axis=1, keepdims=True) + 1e-6
        f -= f.mean(axis=0)
        vals, _ = np.linalg.eigh(f.T @ f / n)
        top = vals[::-1][:3]
    seconds = time.perf_counter() - t0
    peak = _peak_mb()
    return {
        "method": method,
        "seconds": seconds,
        "peak_mb": peak,
        "delta_mb": peak - base,
        "input_mb": x.nbytes / 2**20,
        "top3": [float(v) for v in top],
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--side", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--one", choices=["lbr", "numpy"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.data, a.device)))
        return
    import tempfile

    import numpy as np

    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "x.npy")
        np.save(data, make_images(a.n, a.side, a.channels))
        for method in ("lbr", "numpy"):
            cmd = [sys.executable, __file__, "--one", method, "--data", data, "--device", a.device]
            res[method] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    d = a.side * a.side * a.channels
    print(f"eigenbasis of N={a.n} images, D={d} (threads={res['lbr']['threads']})")
    for m in ("lbr", "numpy"):
        r = res[m]
        print(
            f"  {m:6s}: {r['seconds']:7.1f} s   peak RSS {r['peak_mb']:7.0f} MB "
            f"(+{r['delta_mb']:.0f} MB over the {r['input_mb']:.0f} MB uint8 input)"
        )
    print(
        f"  ratio numpy/lbr: time {res['numpy']['seconds'] / res['lbr']['seconds']:.2f}x, "
        f"added memory {res['numpy']['delta_mb'] / max(res['lbr']['delta_mb'], 1):.1f}x"
    )
    print(f"  top-3 eigenvalues agree: {res['lbr']['top3']} vs {res['numpy']['top3']}")


if __name__ == "__main__":
    main()
