"""Theorem 3 in the span of the images: the denoising-optimal features of N < D images from rank-sized problems.

Row-major as `lbr.theory.denoising`: X is N x D, B = X^T X = P S P^T with P (D x r) the r <= N directions of the
images' span and S = diag(s) > 0; M = M2 + delta I the jittered noise second moment; A = m1^2 B^2 (M1 = m1 X).

What is exact. A has rank r, so the generalized problem A v = mu M v has exactly r nonzero eigenvalues, and for
each of them v = M^{-1} A v / mu lies in M^{-1} range(P): writing v = M^{-1} P c turns it into the r x r problem
    Lambda T c = mu c,    T = P^T M^{-1} P,    Lambda = m1^2 S^2.
This holds for every positive definite M, whether or not M keeps the span (Gaussian noise adds N sigma^2 I, a mask
mixes pixels within patches): nothing is approximated, only M^{-1} is needed on the span. In the coordinates of the
PCA features U (X = U S^{1/2} P^T) the features X v of the top-K solutions span the first K columns of
    W S^{1/2} Y,    W = S^{1/2} T S^{1/2} = U^T X M^{-1} X^T U,    Y = eigenvectors of S^{1/2} W S^{1/2} (descending),
which are what `lbr.theory.denoising.feature_basis` returns (after a QR that keeps the nested spans).

W for each noise:
  none, gaussian  M = B + kappa I (kappa = N sigma^2 + delta) keeps the span: W = diag(s / (s + kappa)), so
                  S^{1/2} W S^{1/2} = diag(s^2 / (s + kappa)) is already sorted: the features are PCA's, to the bit
                  (Corollary 3.1).
  mask(p, k)      M = (1-p)^2 B + C with C = p(1-p) blockdiag_patches(B) + delta I block diagonal (one m x m block
                  per patch, m = k^2 channels). Woodbury on the rank-r term gives, with J = S^{1/2} P^T C^{-1} P S^{1/2}
                  (one small solve per patch) and c = (1-p)^{-2},
                      W = J - J (c I + J)^{-1} J = c J (c I + J)^{-1} = F diag(c j / (c + j)) F^T   (J = F diag(j) F^T).
Cost: O(D r^2 + sum over patches of m^3) per noise instead of O(D^3).

The basis itself comes from B without a D x D eigendecomposition (`span_basis`): the range of B is that of B Omega
for a random D x (N + 8) Omega, sharpened by a second pass; the nonzero eigenpairs of B are those of the small
Q^T B Q.
"""

from __future__ import annotations

import torch

from lbr.errors import LbrError
from lbr.machine.progress import heartbeat
from lbr.spectral.accumulate import eigh_descending
from lbr.theory.alignment import Basis, Moments
from lbr.theory.noise import NoiseSpec, blocks, patch_index

OVERSAMPLE = 8


def span_basis(moments: Moments, rank_rtol: float, device: torch.device | str = "cpu") -> Basis:
    """The PCA basis of N < D images from B = X^T X without a D x D eigendecomposition.

    The rank is decided as in `lbr.theory.alignment.pca_basis` (eigenvalues above rank_rtol times the largest); p
    holds only the r directions of the span (D x r), s is zero beyond them.
    """
    if moments.xtx is None:
        raise LbrError("the span basis needs the D x D statistics X^T X (closed_form.method auto or covariance).")
    device = torch.device(device)
    b = moments.xtx.to(device, torch.float64)
    d = b.shape[0]
    omega = torch.randn(d, min(d, moments.n + OVERSAMPLE), generator=torch.Generator().manual_seed(0))
    with heartbeat(f"PCA basis in the span of {moments.n} images (D={d})"):
        q = torch.linalg.qr(b @ omega.to(device, torch.float64))[0]
        q = torch.linalg.qr(b @ q)[0]
        s, u = eigh_descending(q.T @ b @ q)
    if not s[0] > 0:
        raise LbrError("the data matrix is zero; nothing to align.")
    rank = int((s > rank_rtol * s[0]).sum())
    p = q @ u[:, :rank]
    e = (p.T @ moments.xty.to(device, torch.float64)) / s[:rank].sqrt()[:, None]
    full = torch.zeros(d, dtype=torch.float64)
    full[:rank] = s[:rank].cpu()
    return Basis(full, e.cpu(), moments.yty, rank, d, p.cpu())


def span_metric(
    basis: Basis, b: torch.Tensor, spec: NoiseSpec, shape: tuple[int, int, int], n: int, jitter: float
) -> torch.Tensor:
    """W = U^T X (M2 + delta I)^{-1} X^T U (r x r), the noise's second moment seen from the span of the images, for
    none, gaussian and mask noise; delta = jitter * trace(M2) / D as in `lbr.theory.denoising.generalized_eigh`."""
    r, d = basis.rank, basis.d
    s = basis.s[:r].to(b.device, torch.float64)
    trace_b = float(b.diagonal().sum())
    if spec.kind == "gaussian" or spec.clean:
        extra = n * spec.sigma**2 if spec.kind == "gaussian" else 0.0
        kappa = extra + jitter * (trace_b + d * extra) / d
        return torch.diag(s / (s + kappa))
    if spec.kind != "mask":
        raise LbrError(f"the span route has no second moment for {spec.label}.")
    p = spec.ratio
    delta = jitter * (1 - p) * trace_b / d  # trace(M2) = (1-p)^2 tr B + p(1-p) tr B
    idx = patch_index(shape, spec.patch).to(b.device)
    c_blocks = p * (1 - p) * blocks(b, idx)
    c_blocks.diagonal(dim1=1, dim2=2).add_(delta)
    chol, info = torch.linalg.cholesky_ex(c_blocks)
    if int(info.max()) != 0:
        raise LbrError(
            f"the noise second moment is not positive definite even with jitter {jitter:g}; raise the jitter."
        )
    pg = basis.p[:, :r].to(b.device, torch.float64)[idx] * s.sqrt()  # rows of P S^{1/2}, per patch
    half = torch.linalg.solve_triangular(chol, pg, upper=False)  # L_g^{-1} P_g S^{1/2}
    j = torch.einsum("gmr,gms->rs", half, half)
    del pg, half, chol, c_blocks
    jv, f = torch.linalg.eigh((j + j.T) / 2)
    jv = jv.clamp_min(0)
    c = (1 - p) ** -2
    return (f * (c * jv / (c + jv))) @ f.T


def span_feature_basis(
    basis: Basis, b: torch.Tensor, spec: NoiseSpec, shape: tuple[int, int, int], n: int, jitter: float
) -> torch.Tensor:
    """The r x r orthonormal Q of `lbr.theory.denoising.feature_basis`, solved in the span (see the module)."""
    r = basis.rank
    if basis.p is None or basis.p.shape[1] < r:
        raise LbrError("the span route needs the basis' r eigenvectors of X^T X (closed_form.method covariance).")
    if spec.kind == "gaussian" or spec.clean:
        return torch.eye(r, dtype=torch.float64, device=b.device)  # Corollary 3.1: W S is diagonal and sorted
    with heartbeat(f"{spec.label}: denoising-optimal features in the span (D={basis.d}, rank {r})"):
        w = span_metric(basis, b, spec, shape, n, jitter)
        root = basis.s[:r].to(w.device, torch.float64).sqrt()
        _, y = eigh_descending(root[:, None] * w * root[None, :])
        q, _ = torch.linalg.qr(w @ (root[:, None] * y))
    return q
