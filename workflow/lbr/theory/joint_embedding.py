"""Joint embedding beside reconstruction in closed form: the linear optimum of each objective under the same
augmentation, for every K, and the Eq. 7 alignment of its features (Fig. 11, beyond the paper).

Objectives (column-major X, D x N standardized train images; views x' ~ T(x) of an augmentation `lbr.theory.
augmentations`; M1 = sum_n E[x'_n] as columns, M2 = sum_n E[x'_n x'_n^T]; encoder V, D x K):

  reconstruction   min_{V,Z} sum_n E||x_n - Z^T V^T x'_n||^2          (Theorem 3: the clean image from a view)
                   V = top-K generalized eigenvectors of (M1 X^T X M1^T, M2)
  joint embedding  min_V sum_n E||V^T x'_n - V^T x''_n||^2  subject to  V^T M2 V = I_K
                   (two independent views of each image; the constraint whitens the embedding of a view and rules
                   out the collapsed V = 0.) As E[x' x''^T | x] = E[x' | x] E[x'' | x]^T, the loss is
                   2 Tr(V^T M2 V) - 2 Tr(V^T M1 M1^T V) = 2K - 2 Tr(V^T M1 M1^T V), so
                   V = top-K generalized eigenvectors of (M1 M1^T, M2), and the optimal loss is 2K - 2 sum_{k<=K} mu_k.

The two differ only by the N x N Gram matrix X^T X between M1 and M1^T. In the PCA basis (P^T M1 = F U_r^T):
reconstruction reads A = F diag(s) F^T, joint embedding A = F F^T, so reconstruction weighs every direction of the
clean images by its variance s and joint embedding does not. This is the linear SSL-JE / SSL-RC pair of Van Assel
et al. (NeurIPS 2025, arXiv 2505.12477), whose closed forms are parameterised by the augmentation distribution;
only the paper's abstract was readable here, so the derivation above is ours (expectation over views instead of an
average over finitely many). The alignment of an optimum is Eq. 7 of its features V^T X on the clean images (as
Eq. 9 does for Theorem 3), for every K at once through nested spans (QR, paper Sec. 6.8).

Ties. With the identity augmentation every whitened V has zero joint-embedding loss (all mu = 1), a pca_mask's mu
carry the Monte Carlo error of its keep probabilities, and the smallest mu of a dense solve sit at round-off.
Where mu_K and mu_{K+1} are tied (diagonal problems: equal, or within `z` Monte Carlo standard errors; dense ones:
closer than 1e-10 of the largest mu) the K-dimensional optimum is not determined: `resolved` is false there,
and alignment_low .. alignment_high is the range of the alignment over every K-dimensional subspace the tie allows
(the span before the tied block plus any subspace of the block's eigenspace; extreme values from the eigenvalues of
the label energy restricted to the block).
"""

from __future__ import annotations

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.theory.alignment import Basis, curves, label_energy
from lbr.theory.augmentations import OBJECTIVES, ViewMoments
from lbr.theory.denoising import DEFAULT_JITTER, generalized_eigh
from lbr.theory.pca_mask import diagonal_order

GAP_RTOL = 1e-10  # dense solve: a gap below this share of the largest eigenvalue is a tie (round-off)
TIE_RTOL = 1e-12  # diagonal: exact eigenvalues (functions of s) within this relative distance are tied
TIE_Z = 3.0  # standard errors within which two Monte Carlo eigenvalues count as tied


def check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise LbrError(f"objective must be one of {', '.join(OBJECTIVES)}, not '{objective}'.")


def alignment_curves(
    basis: Basis, views: ViewMoments, objective: str, jitter: float = DEFAULT_JITTER, z: float = TIE_Z
) -> dict[str, np.ndarray]:
    """Eq. 7 of the optimum of `objective` for K = 1..rank: alignment (paper ratio), alignment_code (authors'
    percent), their low/high ranges over tied optima, resolved, and the generalized eigenvalue (with its standard
    error) at each K."""
    check_objective(objective)
    mu, se, q = nested_optimum(basis, views, objective, jitter)
    if views.diagonal:  # exact up to the Monte Carlo error of a pca_mask: ties are equal values
        tol = z * np.sqrt(se[:-1] ** 2 + se[1:] ** 2) + TIE_RTOL * np.abs(mu[:-1])
    else:  # Cholesky reduction and eigh: absolute errors of order round-off times the largest eigenvalue
        tol = GAP_RTOL * max(np.abs(mu).max(), np.finfo(float).tiny) * np.ones(len(mu) - 1)
    linked = mu[:-1] - mu[1:] <= tol
    coords = (q.T @ basis.e.to(q)).cpu()
    out = curves(coords, basis.yty)
    paper, code = (e.numpy() for e in label_energy(coords, basis.yty))
    blocks = np.concatenate([[0], np.flatnonzero(~linked) + 1, [len(mu)]])
    for name, energy, weight in (("alignment", paper, None), ("alignment_code", code, basis.yty)):
        low, high = (np.clip(a, 0, 1) for a in _ranges(coords.numpy(), energy, blocks, weight))
        if name == "alignment_code":  # the authors' variant: 100 sqrt of the ratio
            low, high = 100 * np.sqrt(low), 100 * np.sqrt(high)
        out |= {f"{name}_low": low, f"{name}_high": high}
    return {**out, "resolved": np.append(~linked, True), "eigenvalue": mu, "eigenvalue_se": se}


def nested_optimum(
    basis: Basis, views: ViewMoments, objective: str, jitter: float = DEFAULT_JITTER
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """(mu, se, Q): the generalized eigenvalues of `objective`'s problem in descending order (r of them) with their
    standard errors, and the r x r orthonormal Q whose first K columns span the optimal features V_K^T X for every
    K, in the coordinates of the PCA features (as `lbr.theory.denoising.feature_basis`)."""
    r = basis.rank
    if views.diagonal:  # whole principal components, ties in PCA order
        mu = views.eigenvalues[objective][:r].to(torch.float64).cpu()
        se = views.eigenvalue_se[objective][:r].to(torch.float64).cpu()
        order = diagonal_order(mu)
        return mu[order].numpy(), se[order].numpy(), torch.eye(r, dtype=torch.float64)[:, order]
    mu, v = _dense_solve(basis, views, objective, jitter)
    g = basis.s[:r].to(v).sqrt()[:, None] * v[:r, :r]
    q, _ = torch.linalg.qr(g)
    return mu.cpu().numpy(), np.zeros(r), q


def _ranges(coords: np.ndarray, energy: np.ndarray, blocks: np.ndarray, weight) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative label energy, over the total, of the least and the most label-aligned K-dimensional subspace that
    contains every block before K's and lies in the span up to the end of K's block. Within a block of b directions
    (coords: their rows Y^T q), the energy of an m-dimensional subspace ranges between the sums of the m smallest
    and the m largest eigenvalues of the block's label Gram matrix, whose nonzero ones are those of the C x C
    matrix coords^T coords (weighted by Y^T Y for the authors' variant)."""
    total = energy.sum()
    low, high = np.empty(len(energy)), np.empty(len(energy))
    done = 0.0
    root = None if weight is None else np.sqrt(np.diag(weight.numpy()))
    for a, b in zip(blocks[:-1], blocks[1:]):
        if b - a == 1:  # a determined direction: its own energy
            low[a] = high[a] = done + energy[a]
            done += energy[a]
            continue
        part = coords[a:b] if root is None else coords[a:b] * root
        nonzero = np.clip(np.linalg.eigvalsh(part.T @ part), 0, None)[::-1]
        size = b - a
        values = np.concatenate([nonzero[:size], np.zeros(max(0, size - len(nonzero)))])  # descending
        high[a:b] = done + np.cumsum(values)
        low[a:b] = done + np.cumsum(values[::-1])
        done += energy[a:b].sum()
    return low / total, high / total


def _dense_factor(basis: Basis, views: ViewMoments, objective: str) -> torch.Tensor:
    """A's factor in the PCA basis: F diag(s)^{1/2} (reconstruction) or F (joint embedding)."""
    if objective == "reconstruction":
        return views.first * basis.s[: basis.rank].to(views.first).sqrt()
    return views.first


def _dense_solve(basis: Basis, views: ViewMoments, objective: str, jitter: float):
    mu, v = generalized_eigh(views.second, a_factor=_dense_factor(basis, views, objective), jitter=jitter)
    return mu[: basis.rank], v


def optimal_encoder(
    basis: Basis, views: ViewMoments, objective: str, k: int, jitter: float = DEFAULT_JITTER
) -> torch.Tensor:
    """The D x K encoder V of `objective`'s optimum in pixel coordinates (any V Omega, Omega in GL_K, is as good)."""
    check_objective(objective)
    if basis.p is None:
        raise LbrError("the optimal encoder in pixel coordinates needs the covariance statistics (the PCA basis).")
    if not 1 <= k <= basis.rank:
        raise LbrError(f"latent dimension K={k} must lie in 1..rank={basis.rank}.")
    p = basis.p.to(torch.float64)
    if views.diagonal:
        order = diagonal_order(views.eigenvalues[objective][: basis.rank].cpu())
        return p[:, order[:k]]
    _, v = _dense_solve(basis, views, objective, jitter)
    return p @ v[:, :k].to(p)
