"""Denoising and masked autoencoders in closed form (paper Theorem 3, Eq. 9, Corollary 3.1).

The expected denoising loss E||X - Z^T V^T X~||^2 depends on the noise only through M1 = E[X~] and
M2 = E[X~ X~^T]; the optimal encoder spans the top-K generalized eigenvectors of (M1 X^T X M1^T, M2).
The noises, their moments and their sampler are defined once, in `lbr.theory.noise` (imported here under the
same names): none, additive Gaussian noise, and masking, which zeroes each non-overlapping k x k patch (all
channels of its pixels together) with probability p, no rescaling, loss on every pixel (the authors' code).
Every M1 there is a multiple of X, so M1 X^T X M1^T is proportional to B^2.

Numerics. The generalized problem is solved by a Cholesky reduction (M2 + delta I = L L^T, eigenvectors of
L^{-1} A L^{-T}) in torch float64, on the GPU when one is visible. `jitter` sets delta = jitter * trace(M2)/D:
M2 is singular when pixels never vary (MNIST borders) or N < D; the default 1e-6 matches the authors'
Gaussian jitter of 0.001 std added to X. For the alignment sweeps the problem is rotated into the PCA basis
of B first (B = P diag(s) P^T), where A and, for none/gaussian noise, M2 are exactly diagonal: Corollary 3.1
then holds to the last bit instead of to round-off.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.machine.progress import heartbeat, track
from lbr.theory import pca_mask
from lbr.theory.alignment import Basis, Moments, curves, pca_basis
from lbr.theory.noise import (  # noqa: F401
    KINDS,
    NoiseSpec,
    blocks,
    first_moment,
    m1_operator,
    patch_index,
    patch_of_pixel,
    second_moment,
)
from lbr.theory.pca_mask import keep_probability
from lbr.theory.span import span_basis, span_feature_basis

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

DEFAULT_JITTER = 1e-6
NEEDS_COVARIANCE = (
    "denoising (Theorem 3) needs the D x D covariance, but these statistics hold the N x N Gram matrix; set "
    "closed_form.method to auto or covariance and rebuild them."
)


def generalized_eigh(
    m2: torch.Tensor,
    a: torch.Tensor | None = None,
    a_factor: torch.Tensor | None = None,
    jitter: float = DEFAULT_JITTER,
    overwrite: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve a v = mu m2 v (a = a_factor a_factor^T if given), eigenvalues descending.

    Cholesky reduction: m2 + delta I = L L^T with delta = jitter * trace(m2) / D, then the ordinary symmetric
    eigenproblem of L^{-1} a L^{-T}; eigenvectors v = L^{-T} w satisfy v^T (m2 + delta I) v = I. Only lower
    triangles of m2 and a are read; overwrite=True lets the jitter go into m2 itself (no D x D copy).
    """
    d = m2.shape[0]
    delta = jitter * float(m2.diagonal().sum()) / d
    work = m2 if overwrite else m2.clone()
    work.diagonal().add_(delta)
    chol, info = torch.linalg.cholesky_ex(work)
    del work
    if int(info) != 0:
        raise LbrError(
            f"the noise second moment is not positive definite even with jitter {jitter:g}; raise the jitter."
        )
    if a_factor is not None:
        f = torch.linalg.solve_triangular(chol, a_factor, upper=False)
        c = f @ f.T
        del f
    else:
        tmp = torch.linalg.solve_triangular(chol, torch.tril(a) + torch.tril(a, -1).T, upper=False)
        c = torch.linalg.solve_triangular(chol, tmp.T, upper=False)
        del tmp
    mu, w = torch.linalg.eigh(c)
    del c
    v = torch.linalg.solve_triangular(chol.T, w.flip(1), upper=True)
    return mu.flip(0), v


def optimal_encoder(
    b: torch.Tensor, spec: NoiseSpec, shape: tuple[int, int, int], n: int, k: int, jitter: float = DEFAULT_JITTER
) -> torch.Tensor:
    """Theorem 3 in pixel coordinates: the D x K encoder V minimising the expected denoising loss."""
    d = b.shape[0]
    if not 1 <= k <= d:
        raise LbrError(f"latent dimension K={k} must lie in 1..D={d}.")
    g = m1_operator(b, spec)  # M1 = G X
    a = g @ b @ b @ g.T
    _, v = generalized_eigh(second_moment(b, spec, shape, n), a=a, jitter=jitter)
    return v[:, :k]


def noise_inputs(
    moments: Moments, specs: list[NoiseSpec], rank_rtol: float, device: torch.device
) -> tuple[Basis, torch.Tensor]:
    """The PCA basis and X^T X (on `device`) every noise computation starts from, once each noise is known to
    fit the images. With fewer images than pixels the basis holds only the r <= N directions of the images' span
    (`span_basis`), and every noise is then solved in that span (`feature_basis`)."""
    for spec in specs:
        spec.check_shape(moments.shape)
    if moments.xtx is None:
        raise LbrError(NEEDS_COVARIANCE)
    if moments.n < moments.d:
        basis = span_basis(moments, rank_rtol, device)
        log.info(
            "N=%d images < D=%d pixels: Theorem 3 solved in their span (rank %d)", moments.n, moments.d, basis.rank
        )
        return basis, moments.xtx.to(device)
    return pca_basis(moments, rank_rtol, device), moments.xtx.to(device)


def second_moment_in_basis(
    basis: Basis, b: torch.Tensor, spec: NoiseSpec, shape: tuple[int, int, int], n: int
) -> torch.Tensor:
    """P^T M2 P in the PCA basis of B = P diag(s) P^T: diagonal for none and gaussian noise."""
    if basis.p is None:
        raise LbrError(NEEDS_COVARIANCE)
    spec.check_shape(shape)
    s = basis.s.to(b.device)
    if spec.kind == "gaussian":
        return torch.diag(s + n * spec.sigma**2)
    if spec.kind == "pca_mask":
        return torch.diag(keep_probability(basis.s, spec)[0].to(b.device) * s)
    if spec.kind == "none" or spec.ratio == 0:
        return torch.diag(s)
    p = spec.ratio
    idx = patch_index(shape, spec.patch).to(b.device)
    pg = basis.p.to(b.device)[idx]  # (n_patches, m, D)
    inner = torch.bmm(blocks(b, idx), pg)
    m2 = pg.reshape(-1, pg.shape[-1]).T @ inner.reshape(-1, pg.shape[-1])
    del pg, inner
    m2.mul_(p * (1 - p))
    m2.diagonal().add_((1 - p) ** 2 * s)
    return m2


def feature_basis(
    basis: Basis,
    b: torch.Tensor,
    spec: NoiseSpec,
    shape: tuple[int, int, int],
    n: int,
    jitter: float = DEFAULT_JITTER,
    route: str = "auto",
) -> torch.Tensor:
    """Orthonormal r x r Q whose first K columns span the denoising-optimal features V_K^T X, for every K.

    Coordinates are those of the PCA features U_r (X = U_r diag(s)^{1/2} P_r^T), so the PCA subspace of
    every K is spanned by the first K unit vectors. QR keeps the nested spans (paper Sec. 6.8). route 'span'
    solves it in the span of the images (`lbr.theory.span`, the same result from rank-sized problems), 'full' in
    D dimensions; 'auto' takes the span when the basis holds only the span's directions (N < D, `noise_inputs`).
    """
    r, d = basis.rank, basis.d
    device = b.device
    if spec.kind == "pca_mask":  # diagonal in the PCA basis: a permutation (lbr.theory.pca_mask)
        return pca_mask.feature_basis(basis, spec).to(device)
    if route not in ("auto", "span", "full"):
        raise LbrError(f"the Theorem 3 route must be auto, span or full, not '{route}'.")
    if route == "span" or (route == "auto" and basis.p is not None and basis.p.shape[1] < d):
        return span_feature_basis(basis, b, spec, shape, n, jitter)
    with heartbeat(f"{spec.label}: denoising-optimal features (D={d}, rank {r})"):
        m2 = second_moment_in_basis(basis, b, spec, shape, n)
        factor = torch.zeros(d, r, dtype=torch.float64, device=device)
        factor[:r, :r] = torch.diag(basis.s[:r].to(device))
        _, v = generalized_eigh(m2, a_factor=factor, jitter=jitter, overwrite=True)
        del m2, factor
        g = basis.s[:r].to(device).sqrt()[:, None] * v[:r, :r]
        del v
        q, _ = torch.linalg.qr(g)
    return q


def alignment_under_noise(basis: Basis, q: torch.Tensor) -> dict[str, np.ndarray]:
    """Eq. 9 for every K = 1..rank: rho of the denoising-optimal features (both variants)."""
    coords = q.T @ basis.e.to(q.device)
    return curves(coords.cpu(), basis.yty)


def principal_angles(q: torch.Tensor, k_max: int | None = None) -> dict[str, np.ndarray]:
    """Angles between the denoising-optimal and the PCA feature subspaces of every K = 1..r.

    sin2_sum[K-1] = sum of squared sines of all principal angles at K (exact, every K, O(r^2) in all);
    bound_deg = arcsin(sqrt(sin2_sum)), an upper bound on the largest angle; max_angle_deg = the largest
    principal angle itself, exact for K <= k_max (NaN beyond).
    """
    r = q.shape[0]
    inside = q.square().cumsum(0).cumsum(1).diagonal()
    ks = torch.arange(1, r + 1, dtype=q.dtype, device=q.device)
    sin2 = (ks - inside).clamp(0, None)
    bound = torch.rad2deg(torch.asin(sin2.clamp(max=1).sqrt()))
    exact = torch.full((r,), float("nan"), dtype=q.dtype)
    k_max = r if k_max is None else min(int(k_max), r)
    bound_cpu = bound.cpu()
    for k in track(range(1, k_max + 1), f"largest principal angle for K = 1..{k_max}", k_max, "K"):
        if k == r or bound_cpu[k - 1] == 0:
            exact[k - 1] = 0.0
            continue
        exact[k - 1] = torch.rad2deg(torch.asin(_largest_sine(q, k).clamp(max=1))).cpu()
    return {
        "K": np.arange(1, r + 1),
        "sin2_sum": sin2.cpu().numpy(),
        "bound_deg": bound.cpu().numpy(),
        "max_angle_deg": exact.numpy(),
    }


def _largest_sine(q: torch.Tensor, k: int) -> torch.Tensor:
    """Sine of the largest principal angle between span(Q[:, :k]) and the first k unit vectors.

    It is the largest singular value of Q[k:, :k]; as Q is orthogonal, sin^2 = 1 - (smallest singular value of
    Q[:k, :k])^2. The smaller of the two Gram matrices is used; an SVD where the sine is too small for that.
    """
    r = q.shape[0]
    if k <= r - k:
        lead = q[:k, :k]
        top = (1 - torch.linalg.eigvalsh(lead.T @ lead)[0]).clamp(min=0).sqrt()
    else:
        off = q[:k, k:]
        top = torch.linalg.eigvalsh(off @ off.T)[-1].clamp(min=0).sqrt()
    if top < 1e-6:
        top = torch.linalg.svdvals(q[k:, :k])[0]
    return top


def verdict(angles: dict[str, np.ndarray], tol_deg: float) -> str:
    """'never' when no K's subspace moves by more than tol_deg (checked on the every-K bound), else 'sometimes'."""
    return "never" if float(np.max(angles["bound_deg"])) <= tol_deg else "sometimes"


def noise_check(
    basis: Basis,
    b: torch.Tensor,
    spec: NoiseSpec,
    shape: tuple[int, int, int],
    n: int,
    k_max: int | str | None = 256,
    tol_deg: float = 1e-3,
    jitter: float = DEFAULT_JITTER,
) -> tuple[dict, pd.DataFrame]:
    """Label-free test: can this noise ever change what a linear autoencoder keeps? (summary, per-K table).

    k_max: the largest angle is computed exactly for K <= k_max (None or "all": every K).
    """
    import pandas as pd  # here, not at the top: bench/gpu_check.py imports this module without pandas

    q = feature_basis(basis, b, spec, shape, n, jitter)
    ang = principal_angles(q, None if k_max in (None, "all") else int(k_max))
    exact = ang["max_angle_deg"]
    finite = np.isfinite(exact)
    best = int(np.nanargmax(exact)) if finite.any() else 0
    summary = {
        **spec.columns(),
        "max_angle_deg": float(exact[best]) if finite.any() else float("nan"),
        "K_at_max": best + 1,
        "k_max": int(finite.sum()),
        "max_angle_bound_deg": float(np.max(ang["bound_deg"])),
        "rank": basis.rank,
        "tol_deg": tol_deg,
        "verdict": verdict(ang, tol_deg),
    }
    table = pd.DataFrame({**spec.columns(), **ang}).astype({"patch": "Int64"})
    return summary, table


def impact_table(
    basis: Basis,
    b: torch.Tensor,
    specs: list[NoiseSpec],
    shape: tuple[int, int, int],
    n: int,
    jitter: float = DEFAULT_JITTER,
) -> pd.DataFrame:
    """Fig. 7 rows: rho under each noise for every K, and its change relative to no noise (percent).

    impact_pct = 100 (rho_T - rho_0) / rho_0 for Eq. 7's ratio (column alignment), impact_pct_code the same for
    the authors' variant (alignment_code); the figure picks one (fig7.measure).
    """
    import pandas as pd  # here, not at the top: bench/gpu_check.py imports this module without pandas

    base = alignment_under_noise(basis, feature_basis(basis, b, NoiseSpec("none"), shape, n, jitter))
    frames = []
    for spec in track(specs, f"alignment under {len(specs)} noises", len(specs), "noises"):
        cur = base if spec.clean else alignment_under_noise(basis, feature_basis(basis, b, spec, shape, n, jitter))
        paper = _relative_change(cur["alignment"], base["alignment"])
        code = _relative_change(cur["alignment_code"], base["alignment_code"])
        frame = pd.DataFrame(
            {
                **spec.columns(),
                "K": np.arange(1, basis.rank + 1),
                "alignment": cur["alignment"],
                "alignment_code": cur["alignment_code"],
                "impact_pct": paper,
                "impact_pct_code": code,
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).astype({"patch": "Int64"})


def _relative_change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """100 (new - old) / old, NaN where old is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(old > 0, 100 * (new - old) / np.where(old > 0, old, 1), np.nan)
