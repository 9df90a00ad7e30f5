"""The eigenbasis file results/spectrum/{dataset}.npz, written by `eigenbasis.compute` and read by filters and
figures (NumPy only, no pickles, no torch)."""

from __future__ import annotations

import json
import os

import numpy as np

from lbr.io import save_npz

RANK_RTOL = 1e-10  # eigenvalues below this share of the largest are round-off (a float64 eigh of an n x n
# matrix is accurate to about 1e-16 n of the largest): the data has no variance there


def save(path: str | os.PathLike, spectrum: dict) -> None:
    save_npz(path, **spectrum)


def load(path: str | os.PathLike) -> dict:
    """Eigenvalues, eigenvectors, rank, train mean, image shape, N, method and preprocessing record of one
    dataset. A file written before the rank was stored gets it here: its eigenvalues are padded with zeros to D
    and set to 0 beyond the rank, as `eigenbasis.compute` writes them now."""
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    out["method"] = str(out["method"])
    out["preprocessing"] = json.loads(str(out["preprocessing"]))
    out["shape"] = tuple(int(v) for v in out["shape"])
    if "rank" not in out:
        ev = np.zeros(int(np.prod(out["shape"])), dtype=out["eigenvalues"].dtype)
        ev[: len(out["eigenvalues"])] = out["eigenvalues"][: len(ev)]
        rank = int((ev > RANK_RTOL * ev[0]).sum()) if ev[0] > 0 else 0
        ev[rank:] = 0
        out["eigenvalues"], out["rank"] = ev, np.int64(rank)
    out["rank"] = int(out["rank"])
    out["n_train"] = int(out["n_train"])
    return out


def load_eigenvalues(path: str | os.PathLike) -> np.ndarray:
    """Only the D eigenvalues of an eigenbasis file (0 beyond the rank), read without its eigenvectors: what the
    workflow needs while it plans the Fig. 4 levels."""
    with np.load(path, allow_pickle=False) as z:
        ev = np.asarray(z["eigenvalues"], dtype=np.float64)
        shape = tuple(int(v) for v in z["shape"])
        rank = int(z["rank"]) if "rank" in z.files else None
    d = int(np.prod(shape))
    out = np.zeros(d)
    out[: min(d, len(ev))] = ev[:d]
    if rank is None:
        rank = int((out > RANK_RTOL * out[0]).sum()) if out[0] > 0 else 0
    out[rank:] = 0
    return out
