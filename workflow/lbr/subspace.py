"""Top and bottom principal subspaces for a share of variance, and exact projections onto them.

A subspace is named `{side}-{spec}`: side is `top` or `bottom`; spec is a variance share such as `0.25`,
or `g{i}` for point i of the authors' grid (g0 = half of the directions, g1..g8 their variance grid).
`top-s` keeps the largest set of leading directions whose cumulative share stays below s (the authors'
`explained < pct`); `bottom-s` is the orthogonal complement of `top-(1-s)`, so top-s and bottom-(1-s)
projectors sum to the identity.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from lbr import preprocess as pp
from lbr.errors import LbrError

log = logging.getLogger("lbr.subspace")
SPEC_RE = re.compile(r"^(?:g(\d+)|(0(?:\.\d+)?|1(?:\.0+)?|\.\d+))$")


@dataclass(frozen=True)
class Subspace:
    side: str
    spec: str
    k_top: int
    dims: int
    pct: float
    share: float
    variance_kept: float
    n_directions: int


def cumulative_share(eigenvalues: np.ndarray) -> np.ndarray:
    """cum[k-1] = share of the variance held by the top k directions (eigenvalues in descending order)."""
    ev = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0, None)
    return np.cumsum(ev) / ev.sum()


def authors_grid(eigenvalues: np.ndarray, side: str, points: int = 8, power: float = 0.25) -> np.ndarray:
    """The authors' variance cut-offs: linear for top, t**power-spaced for bottom, between the top-2 share
    and 1 - (smallest direction's share)."""
    cum = cumulative_share(eigenvalues)
    if len(cum) < 3:
        raise LbrError("the variance grid needs at least three directions.")
    b0, b1 = cum[1], cum[-2]
    t = np.linspace(0, 1, points)
    return b0 + (b1 - b0) * (t if side == "top" else t**power)


def resolve(eigenvalues: np.ndarray, side: str, spec: str, points: int = 8, power: float = 0.25) -> Subspace:
    """Turn a side and a spec into the number of leading directions that splits top from bottom."""
    if side not in ("top", "bottom"):
        raise LbrError(f"subspace side must be 'top' or 'bottom', not '{side}'.")
    m = SPEC_RE.match(str(spec))
    if not m:
        raise LbrError(f"subspace spec '{spec}' is neither a variance share in [0, 1] nor a grid point g0..g{points}.")
    cum = cumulative_share(eigenvalues)
    n_dir = len(cum)
    if m.group(1) is not None:
        i = int(m.group(1))
        if i > points:
            raise LbrError(f"grid point g{i} does not exist: the grid has g0 (half the dimensions) to g{points}.")
        if i == 0:
            k_top = n_dir // 2 if side == "top" else n_dir - n_dir // 2
            pct, share = float("nan"), float("nan")
        else:
            pct = float(authors_grid(eigenvalues, side, points, power)[i - 1])
            k_top = int((cum < pct).sum())
            share = pct if side == "top" else 1.0 - pct
    else:
        share = float(spec)
        pct = share if side == "top" else 1.0 - share
        k_top = int((cum < pct).sum())
    dims = k_top if side == "top" else n_dir - k_top
    if dims == 0:
        first = 100 * cum[0]
        raise LbrError(
            f"{side}-{spec} keeps no direction (the first direction alone holds {first:.2f}% of the variance); "
            "pick a share that leaves at least one direction on that side."
        )
    kept_top = float(cum[k_top - 1]) if k_top > 0 else 0.0
    kept = kept_top if side == "top" else 1.0 - kept_top
    return Subspace(side, str(spec), k_top, dims, pct, share, kept, n_dir)


def project(rows: torch.Tensor, vectors: torch.Tensor, sub: Subspace) -> torch.Tensor:
    """Project preprocessed rows (N x D) onto the subspace; uses the cheaper of P and I - P."""
    d, r = vectors.shape
    full = r == d
    if sub.k_top > r:
        raise LbrError(
            f"{sub.side}-{sub.spec} needs the top {sub.k_top} eigenvectors but only {r} were stored; "
            "raise spectrum.max_vectors and rebuild the spectrum."
        )
    if sub.side == "top":
        v = vectors[:, : sub.k_top]
        return (rows @ v) @ v.T
    if full and d - sub.k_top < sub.k_top:
        v = vectors[:, sub.k_top :]
        return (rows @ v) @ v.T
    v = vectors[:, : sub.k_top]
    return rows - (rows @ v) @ v.T


def subspace_dict(sub: Subspace) -> dict:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(sub).items()}


def filter_split(
    x: np.ndarray,
    spectrum: dict,
    sub: Subspace,
    out_path: str | os.PathLike,
    device: torch.device,
    chunk_rows: int = 2048,
    center: np.ndarray | None = None,
) -> dict:
    """Project one split, renormalise as the paper does (per-image std; minus the train mean of the
    projected train images), and write float16 N x H x W x C atomically. Returns statistics."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    mean = torch.as_tensor(spectrum["mean"], device=device)
    vectors = torch.as_tensor(spectrum["eigenvectors"], device=device, dtype=torch.float32)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(len(x), *x.shape[1:]))
        total = torch.zeros(mean.numel(), dtype=torch.float64, device=device)
        energy_in, energy_kept = 0.0, 0.0
        for sl in pp.chunks(len(x), chunk_rows):
            rows = pp.preprocess(x[sl], mean).to(torch.float32)
            proj = project(rows, vectors, sub)
            energy_in += float(rows.double().square().sum())
            energy_kept += float(proj.double().square().sum())
            proj = proj / (proj.std(dim=1, unbiased=False, keepdim=True) + pp.STD_EPS)
            total += proj.double().sum(dim=0)
            arr[sl] = proj.reshape(-1, *x.shape[1:]).cpu().numpy().astype(np.float16)
        own_mean = (total / len(x)).cpu().numpy()
        shift = own_mean if center is None else center
        for sl in pp.chunks(len(x), chunk_rows):
            block = arr[sl].astype(np.float32).reshape(len(arr[sl]), -1) - shift.astype(np.float32)
            arr[sl] = block.reshape(arr[sl].shape).astype(np.float16)
        arr.flush()
        del arr
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "n": int(len(x)),
        "shape": list(x.shape[1:]),
        "energy_kept": energy_kept / max(energy_in, 1e-300),
        "projected_mean": own_mean,
    }
