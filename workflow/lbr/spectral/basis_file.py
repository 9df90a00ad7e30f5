"""The eigenbasis file results/spectrum/{dataset}.npz, written by `eigenbasis.compute` and read by filters and
figures (NumPy only, no pickles, no torch)."""

from __future__ import annotations

import json
import os

import numpy as np

from lbr.io import save_npz


def save(path: str | os.PathLike, spectrum: dict) -> None:
    save_npz(path, **spectrum)


def load(path: str | os.PathLike) -> dict:
    """Eigenvalues, eigenvectors, train mean, image shape, method and preprocessing record of one dataset."""
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    out["method"] = str(out["method"])
    out["preprocessing"] = json.loads(str(out["preprocessing"]))
    out["shape"] = tuple(int(v) for v in out["shape"])
    return out
