"""Streaming float64 second moments: chunks of rows or columns summed into one symmetric matrix."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

import numpy as np
import torch

from lbr.machine.progress import heartbeat, track


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most `size` covering range(n)."""
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def tracked_chunks(n: int, size: int, what: str, unit: str) -> Iterator[slice]:
    """`chunks`, with a progress line (share done, time left) at least every 30 s while the loop runs."""
    return track(chunks(n, size), what, n, unit, lambda sl: sl.stop - sl.start)


class SymmetricSum:
    """A running float64 sum of A^T A (`add_rows`) or A A^T (`add_cols`) over chunks A.

    On the CPU each update is a BLAS symmetric rank-k update (one triangle, half the flops of a GEMM; SciPy's) and
    the other triangle is filled once at the end, block by block; on a GPU, and on a CPU without SciPy (a bare
    machine running bench/gpu_check.py), it is a torch addmm (`blas=False` runs that path on the CPU too, so that
    it is tested without a GPU)."""

    def __init__(self, size: int, device: torch.device, blas: bool | None = None):
        self.cpu = (device.type == "cpu" and importlib.util.find_spec("scipy") is not None) if blas is None else blas
        if self.cpu:
            self.acc = np.zeros((size, size), dtype=np.float64, order="F")
        else:
            self.acc = torch.zeros(size, size, dtype=torch.float64, device=device)

    def add_rows(self, a: torch.Tensor) -> None:
        """acc += A^T A for a chunk of rows A (float64)."""
        if self.cpu:
            self.acc = _dsyrk(1.0, _c_order(a).T, beta=1.0, c=self.acc, trans=0, lower=0, overwrite_c=1)
        else:
            self.acc.addmm_(a.T, a)

    def add_cols(self, a: torch.Tensor) -> None:
        """acc += A A^T for a chunk of columns A (float64)."""
        if self.cpu:
            self.acc = _dsyrk(1.0, _c_order(a).T, beta=1.0, c=self.acc, trans=1, lower=0, overwrite_c=1)
        else:
            self.acc.addmm_(a, a.T)

    def result(self, block: int = 4096) -> torch.Tensor:
        return torch.from_numpy(_mirror_upper(self.acc, block)) if self.cpu else self.acc


def _c_order(a: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(a.numpy())


def _dsyrk(*args, **kwargs):
    from scipy.linalg.blas import dsyrk

    return dsyrk(*args, **kwargs)


def _mirror_upper(a: np.ndarray, block: int) -> np.ndarray:
    """Copy the upper triangle onto the lower one in place, block by block (no D x D temporaries)."""
    for sl in chunks(len(a), block):
        a[sl, : sl.start] = a[: sl.start, sl].T
        diag = a[sl, sl]
        a[sl, sl] = np.triu(diag) + np.triu(diag, 1).T
    return a


def eigh_descending(m: torch.Tensor, what: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenpairs of a symmetric matrix (its lower triangle is read), largest first. `what` names a large one:
    its log then gets a heartbeat while it runs."""
    beat = heartbeat(f"{what}: eigendecomposition of {m.shape[0]} x {m.shape[0]}") if what else contextlib.nullcontext()
    with beat:
        vals, vecs = torch.linalg.eigh(m)
    return vals.flip(0), vecs.flip(1)
