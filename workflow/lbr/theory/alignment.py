"""Task alignment (paper Eq. 7) for every latent dimension K in one pass.

The data enter only through sufficient statistics (`Moments`): X^T X and X^T Y, or the N x N Gram matrix X X^T
(paper Sec. 6.7; chosen per dataset by `lbr.theory.method`), both accumulated in float64 over chunks of images. One
eigendecomposition gives the PCA directions; the label energy each direction explains, summed cumulatively,
gives rho(K) for all K at once (Sec. 6.8), no loop over K and no N x D QR.

Row-major here: X is N x D (one image per row, H x W x C flattening), Y is N x C one-hot.
With U_r the left singular vectors of X (rank r) and E = U_r^T Y (r x C):
  paper  rho(K)            = sum_{k<=K} ||E_k||^2 / sum_{k<=r} ||E_k||^2                 in [0, 1]
  code   alignment_code(K) = 100 sqrt(sum_{k<=K} E_k Y^T Y E_k^T / sum_{k<=r} E_k Y^T Y E_k^T)   in percent
The denominator is the label energy that ordinary least squares on all of X explains.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.io import save_npz
from lbr.spectral.accumulate import SymmetricSum, chunks, eigh_descending, tracked_chunks
from lbr.spectral.pixels import row_scale
from lbr.theory.method import choose_method

log = logging.getLogger(__name__)

PREPROCESSING = {
    "standardize": "pixels/255, minus the train mean image, divided by the global std (authors' Apr code, Feb Fig. 7)",
    "raw": "pixels/255, uncentred (authors' Feb Fig. 2 code; its top direction is close to the mean image)",
    "per_image": "each image divided by its own std, minus the train mean (the authors' classification_pca.py "
    "normalize, DIGEST 6.1; as the eigenbasis)",
}
MEASURES = ("paper", "code")
RANK_RTOL = 1e-11


@dataclass
class Moments:
    """Sufficient statistics of preprocessed images X (N x D) and labels, float64, scaled to unit global std.

    method 'covariance' holds xtx = X^T X (D x D) and xty = X^T Y (D x C); method 'gram' holds gram = X X^T
    (N x N) and the labels. `scale` is the global pixel std the statistics were divided by (so a Gaussian
    noise std is in units of it).
    """

    method: str
    preprocessing: str
    shape: tuple[int, int, int]
    n: int
    counts: torch.Tensor
    scale: float
    xtx: torch.Tensor | None = None
    xty: torch.Tensor | None = None
    gram: torch.Tensor | None = None
    labels: torch.Tensor | None = None

    @property
    def d(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_classes(self) -> int:
        return int(self.counts.numel())

    @property
    def yty(self) -> torch.Tensor:
        """Y^T Y of one-hot labels: the class counts on the diagonal."""
        return torch.diag(self.counts.to(torch.float64))


class Pixels:
    """Preprocessed float64 views (row or column blocks) of uint8 N x H x W x C images, never all at once."""

    def __init__(self, x: np.ndarray, preprocessing: str, device: torch.device, chunk_rows: int = 4096):
        if preprocessing not in PREPROCESSING:
            raise LbrError(f"preprocessing must be one of {sorted(PREPROCESSING)}, not '{preprocessing}'.")
        if x.ndim != 4:
            raise LbrError(f"images must be N x H x W x C, got shape {x.shape}.")
        self.x = x
        self.flat = x.reshape(len(x), -1)
        self.kind = preprocessing
        self.device = device
        self.chunk_rows = chunk_rows
        self.row_std = None
        if preprocessing == "per_image":
            self.row_std = torch.cat([row_scale(self._raw_rows(sl))[:, 0] for sl in self.row_chunks()])
        self.mean = torch.zeros(self.flat.shape[1], dtype=torch.float64, device=device)
        if preprocessing != "raw":
            for sl in self.row_chunks():
                self.mean += self._scaled_rows(sl).sum(0)
            self.mean /= len(x)

    def row_chunks(self, what: str | None = None):
        """Slices of rows, chunk_rows at a time; `what` names a long pass, logged with its progress."""
        n = len(self.flat)
        return tracked_chunks(n, self.chunk_rows, what, "images") if what else chunks(n, self.chunk_rows)

    def _raw_rows(self, sl: slice) -> torch.Tensor:
        return torch.as_tensor(self.flat[sl]).to(self.device, torch.float64) / 255.0

    def _scaled_rows(self, sl: slice) -> torch.Tensor:
        rows = self._raw_rows(sl)
        return rows / self.row_std[sl, None] if self.row_std is not None else rows

    def rows(self, sl: slice) -> torch.Tensor:
        """Preprocessed rows sl (before the global std division)."""
        return self._scaled_rows(sl) - self.mean

    def columns(self, cols: slice) -> torch.Tensor:
        """Preprocessed pixel columns cols of every image (N x len(cols))."""
        block = torch.as_tensor(np.ascontiguousarray(self.flat[:, cols])).to(self.device, torch.float64) / 255.0
        if self.row_std is not None:
            block = block / self.row_std[:, None]
        return block - self.mean[cols]


def one_hot(y: np.ndarray | torch.Tensor, n_classes: int, device=None) -> torch.Tensor:
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device)
    return torch.nn.functional.one_hot(y, n_classes).to(torch.float64)


def compute_moments(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    preprocessing: str = "standardize",
    method: str = "auto",
    device: torch.device | str = "cpu",
    chunk_rows: int = 4096,
    chunk_cols: int = 8192,
    need_covariance: bool = False,
) -> Moments:
    """Accumulate X^T X and X^T Y (the covariance route) or X X^T (the Gram route) in float64 chunk by chunk
    (memory: D x D or N x N). `method` auto takes the covariance when N >= D or `need_covariance` (Theorem 3
    will read these statistics), the Gram matrix otherwise (`lbr.theory.method`)."""
    device = torch.device(device)
    n, d = len(x), int(np.prod(x.shape[1:]))
    if n < 2:
        raise LbrError("alignment needs at least two training images.")
    if len(y) != n:
        raise LbrError(f"{n} images but {len(y)} labels.")
    chosen = choose_method(method, n, d, need_covariance)
    why = "N >= D" if n >= d else "Theorem 3 needs it" if need_covariance else "N < D"
    log.info("%s statistics for N=%d images of D=%d pixels (method %s: %s)", chosen, n, d, method, why)
    method = chosen
    t0 = time.time()
    px = Pixels(x, preprocessing, device, chunk_rows)
    counts = torch.bincount(torch.as_tensor(np.asarray(y), dtype=torch.int64), minlength=n_classes)
    total, total_sq = 0.0, 0.0
    out = {}
    if method == "covariance":
        xtx = SymmetricSum(d, device)
        xty = torch.zeros(d, n_classes, dtype=torch.float64, device=device)
        for sl in px.row_chunks(f"X^T X and X^T Y of {n} images (D={d})"):
            rows = px.rows(sl)
            xtx.add_rows(rows)
            xty.addmm_(rows.T, one_hot(y[sl], n_classes, device))
            total += float(rows.sum())
        out = {"xtx": xtx.result(chunk_rows), "xty": xty}
        total_sq = float(out["xtx"].diagonal().sum())
    else:
        acc = SymmetricSum(n, device)
        for cols in tracked_chunks(d, chunk_cols, f"Gram matrix X X^T of {n} images (D={d})", "pixels"):
            block = px.columns(cols)
            acc.add_cols(block)
            total += float(block.sum())
        gram = acc.result()
        total_sq = float(gram.diagonal().sum())
        out = {"gram": gram, "labels": torch.as_tensor(np.asarray(y), dtype=torch.int64)}
    var = total_sq / (n * d) - (total / (n * d)) ** 2
    if not var > 0:
        raise LbrError("the preprocessed images have zero variance; check the dataset.")
    scale = float(np.sqrt(var))
    for key in ("xtx", "gram"):
        if key in out:
            out[key] = (out[key] / scale**2).cpu()
    if "xty" in out:
        out["xty"] = (out["xty"] / scale).cpu()
    log.info("%s moments of %d x %d (%s) in %.1f s", method, n, d, preprocessing, time.time() - t0)
    return Moments(method, preprocessing, tuple(int(v) for v in x.shape[1:]), n, counts, scale, **out)


def save_moments(path: str, m: Moments) -> None:
    arrays = {
        "method": np.asarray(m.method),
        "preprocessing": np.asarray(m.preprocessing),
        "description": np.asarray(json.dumps({"preprocessing": PREPROCESSING[m.preprocessing]})),
        "shape": np.asarray(m.shape, dtype=np.int64),
        "n": np.int64(m.n),
        "counts": m.counts.numpy(),
        "scale": np.float64(m.scale),
    }
    for key in ("xtx", "xty", "gram", "labels"):
        value = getattr(m, key)
        if value is not None:
            arrays[key] = value.numpy()
    save_npz(path, **arrays)


def load_moments(path: str) -> Moments:
    with np.load(path, allow_pickle=False) as z:
        opt = {k: torch.from_numpy(z[k]) for k in ("xtx", "xty", "gram", "labels") if k in z.files}
        return Moments(
            str(z["method"]),
            str(z["preprocessing"]),
            tuple(int(v) for v in z["shape"]),
            int(z["n"]),
            torch.from_numpy(z["counts"]),
            float(z["scale"]),
            **opt,
        )


@dataclass
class Basis:
    """PCA directions of X, largest variance first, kept down to relative eigenvalue `rtol`.

    s: eigenvalues of X^T X (all D for the covariance route, zero-padded beyond rank for the Gram route);
    p: D x D eigenvectors (covariance route only; the denoising solver needs them); e: U_r^T Y (r x C),
    the label coordinates along each kept direction; yty: Y^T Y.
    """

    s: torch.Tensor
    e: torch.Tensor
    yty: torch.Tensor
    rank: int
    d: int
    p: torch.Tensor | None = None


def pca_basis(m: Moments, rtol: float = RANK_RTOL, device: torch.device | str = "cpu") -> Basis:
    """One eigendecomposition: of X^T X (covariance route) or of the Gram matrix X X^T (Gram route)."""
    device = torch.device(device)
    if m.method == "covariance":
        s, p = eigh_descending(m.xtx.to(device), "PCA basis")
        rank = _rank(s, rtol)
        e = (p[:, :rank].T @ m.xty.to(device)) / s[:rank].sqrt()[:, None]
        return Basis(s.clamp_min(0).cpu(), e.cpu(), m.yty, rank, m.d, p.cpu())
    s, u = eigh_descending(m.gram.to(device), "PCA basis (Gram route)")
    rank = _rank(s, rtol)
    e = u[:, :rank].T @ one_hot(m.labels, m.n_classes, device)
    s = torch.cat([s.clamp_min(0), s.new_zeros(max(0, m.d - len(s)))])[: m.d]
    return Basis(s.cpu(), e.cpu(), m.yty, rank, m.d)


def _rank(s: torch.Tensor, rtol: float) -> int:
    if not s[0] > 0:
        raise LbrError("the data matrix is zero; nothing to align.")
    return int((s > rtol * s[0]).sum())


def label_energy(coords: torch.Tensor, yty: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-direction label energy of orthonormal directions q_k given coords[k] = Y^T q_k.

    Returns (||Y^T q_k||^2, ||Y Y^T q_k||^2): the paper's and the authors' code's per-direction terms.
    """
    paper = coords.square().sum(1)
    code = ((coords @ yty.to(coords)) * coords).sum(1)
    return paper, code


def curves(coords: torch.Tensor, yty: torch.Tensor) -> dict[str, np.ndarray]:
    """rho(K) (paper, in [0, 1]) and alignment_code(K) (authors, percent) for K = 1..len(coords)."""
    paper, code = label_energy(coords, yty)
    if not paper.sum() > 0:
        raise LbrError("the labels are orthogonal to every image direction; alignment is undefined for this data.")
    cum_paper, cum_code = paper.cumsum(0), code.cumsum(0)
    return {
        "alignment": (cum_paper / cum_paper[-1]).clamp(0, 1).numpy(),
        "alignment_code": (100 * (cum_code / cum_code[-1]).clamp(0, 1).sqrt()).numpy(),
    }


def sweep(basis: Basis) -> dict[str, np.ndarray]:
    """Eq. 7 for every K = 1..D: curves along the PCA directions, equal to 1 (100 %) beyond the rank."""
    out = curves(basis.e, basis.yty)
    pad = basis.d - basis.rank
    return {
        "K": np.arange(1, basis.d + 1),
        "alignment": np.concatenate([out["alignment"], np.ones(pad)]),
        "alignment_code": np.concatenate([out["alignment_code"], np.full(pad, 100.0)]),
    }


def sweep_table(basis: Basis, moments: Moments, dataset: str):
    """Fig. 2 rows of one dataset: both alignment variants for every K, with D, rank, N and preprocessing."""
    import pandas as pd

    out = sweep(basis)
    return pd.DataFrame(
        {
            "dataset": dataset,
            "K": out["K"],
            "K_frac": out["K"] / basis.d,
            "alignment": out["alignment"],
            "alignment_code": out["alignment_code"],
            "D": basis.d,
            "rank": basis.rank,
            "n_train": moments.n,
            "preprocessing": moments.preprocessing,
        }
    )


def alignment_at(basis: Basis, k: int, measure: str = "paper") -> float:
    """rho at one K (1 <= K <= D), from the same sweep."""
    if not 1 <= k <= basis.d:
        raise LbrError(f"latent dimension K={k} must lie in 1..D={basis.d}.")
    col = {"paper": "alignment", "code": "alignment_code"}[measure]
    return float(sweep(basis)[col][k - 1])


def sweep_images(
    x: np.ndarray, y: np.ndarray, n_classes: int, rtol: float = RANK_RTOL, **options
) -> dict[str, np.ndarray]:
    """Convenience: images and labels to the Eq. 7 sweep (`options` as for `compute_moments`)."""
    m = compute_moments(x, y, n_classes, **options)
    return sweep(pca_basis(m, rtol, options.get("device", "cpu")))
