"""Masking principal components instead of pixels (Bizeul et al. 2025, "From Pixels to Components: Eigenvector
Masking for Visual Representation Learning", arXiv 2502.06314), as a noise of Theorem 3 (`lbr.theory.noise`).

Components. P and s are the eigenvectors and eigenvalues of B = X^T X of the train split's standardized pixels
(the closed forms' coordinates, H x W x C flattening); v = s / sum(s) is each component's share of the variance.
A view keeps the coordinates c = P^T z of the kept components and zeroes the others: z~ = P diag(m) P^T z (the
train mean image in pixel space); no rescaling; the loss scores every pixel, as for the pixel masks.

Sampling, share `variance` (the paper's: "a subset of components which accounts for a fixed ratio of the data
variance"): each image draws a uniformly random order of the D components and masks the prefix of that order whose
share of the variance is closest to the ratio r, i.e. the component at a position is masked iff the share of the
components before it plus half its own share is below r. (The authors' code, src/dataloader.py of
github.com/alicebizeul/pmae, masks the prefix one component shorter than the closest one, apparently an off-by-one,
and draws one mask per batch; neither changes a moment below beyond that component.) Share `components`: each
component is masked independently with probability r.

Moments. Column-major X = P diag(s)^{1/2} U^T, so sum_n c_n c_n^T = diag(s): the components are uncorrelated on the
train images. With q_i = P(component i kept), whatever the joint law of the mask,
    M1 = E[X~] = P diag(q) P^T X,        M2 = E[X~ X~^T] = P (E[m m^T] o diag(s)) P^T = P diag(q s) P^T,
so Theorem 3 is diagonal in the PCA basis: the denoising-optimal encoder keeps the K components of largest q_i s_i
(`feature_basis`), and a joint-embedding one those of largest q_i (`lbr.theory.joint_embedding`). For `components`
q = 1 - r for every component: the order is PCA's, as for Gaussian noise (Corollary 3.1). For `variance` q is
estimated from the sampler's own random order (`keep_probability`).

Why the whole image is the target. The paper scores only the masked components. A linear predictor W of them from
the visible ones has expected loss sum_i sum_j W_ij^2 E[(1 - m_i) m_j] s_j + const on the train images (the cross
term vanishes because the components are uncorrelated), minimised by W = 0: in the linear model the masked
components carry no linear information about the visible ones, and every encoder is equally good. The linear
theory can only speak about the variant that reconstructs every pixel, which is the one implemented here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.machine.progress import heartbeat
from lbr.spectral.accumulate import chunks, eigh_descending
from lbr.spectral.pixels import standardization
from lbr.theory.noise import NoiseSpec

CHUNK_DRAWS = 512
SEED = 0
_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def basis_of(b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(s, P) of B = X^T X (float64), eigenvalues descending and clamped at 0."""
    s, p = eigh_descending(b.to(torch.float64))
    return s.clamp_min(0), p


def shares_of(s: torch.Tensor) -> torch.Tensor:
    """Each component's share of the variance, v = s / sum(s)."""
    total = float(s.sum())
    if not total > 0:
        raise LbrError("a pca_mask needs images with some variance; these have none.")
    return s.to(torch.float64) / total


def masked_in_order(v_sorted: torch.Tensor, ratio: float) -> torch.Tensor:
    """The variance-share rule on shares listed in each view's random order (n x D): a component is masked iff the
    share before it plus half its own is below `ratio` (the prefix whose share is closest to the ratio)."""
    before = v_sorted.cumsum(1) - v_sorted
    return before + v_sorted / 2 < ratio


def draw_keep(v: torch.Tensor, spec: NoiseSpec, n: int, generator: torch.Generator) -> torch.Tensor:
    """n x D boolean keep masks of the sampler (on v's device): every random number from `generator`."""
    d = v.numel()
    u = torch.rand(n, d, generator=generator, device=v.device, dtype=torch.float64)
    if spec.share == "components":
        return u >= spec.ratio
    order = u.argsort(1)
    masked = torch.zeros(n, d, dtype=torch.bool, device=v.device)
    masked.scatter_(1, order, masked_in_order(v[order], spec.ratio))
    return ~masked


def keep_probability(s: torch.Tensor, spec: NoiseSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(q, se): each component's probability of being kept and its Monte Carlo standard error (0 where exact).

    components: q = 1 - r. variance: the sampler's random order is that of i.i.d. uniform arrival times; given the
    others', component i is masked iff it arrives before tau_i, the time at which the others' cumulative share first
    reaches r - v_i / 2. From the full order (cumulative share C, T(x) = first arrival with C >= x, 1 if never):
    tau_i = T(r - v_i/2) when i arrives after it, else T(r + v_i/2); tau_i = 0 when v_i / 2 >= r. So
    P(i masked) = E[tau_i], averaged over `spec.draws` seeded orders (i's own arrival integrated exactly)."""
    if spec.kind != "pca_mask":
        raise LbrError(f"keep probabilities belong to a pca_mask, not to {spec.label}.")
    s = s.to(torch.float64)
    if spec.share == "components" or spec.ratio == 0:
        return torch.full_like(s, 1.0 - spec.ratio), torch.zeros_like(s)
    prefetch(s, [spec])
    q, se = _CACHE[_key(shares_of(s), spec)]
    return q.to(s.device), se.to(s.device)


def prefetch(s: torch.Tensor, specs: list[NoiseSpec]) -> None:
    """Estimate the keep probabilities of every variance-share pca_mask in `specs` in one pass over the same seeded
    draws (one sort per draw for all ratios), and keep them for `keep_probability`."""
    v = shares_of(s.to(torch.float64))
    todo = [sp for sp in specs if sp.kind == "pca_mask" and sp.share == "variance" and sp.ratio > 0]
    for draws in sorted({int(sp.draws) for sp in todo}):
        ratios = sorted({sp.ratio for sp in todo if sp.draws == draws and _key(v, sp) not in _CACHE})
        if ratios:
            for ratio, estimate in zip(ratios, _arrival_estimate(v, ratios, draws)):
                _CACHE[_key(v, NoiseSpec("pca_mask", ratio, draws=draws))] = estimate


def _key(v: torch.Tensor, spec: NoiseSpec) -> tuple:
    return hashlib.sha1(v.cpu().numpy().tobytes()).hexdigest(), spec.ratio, int(spec.draws)


def _arrival_estimate(v: torch.Tensor, ratios: list[float], draws: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    d = v.numel()
    gen = torch.Generator(device=v.device).manual_seed(SEED)
    total = torch.zeros(len(ratios), d, dtype=torch.float64, device=v.device)
    total_sq = torch.zeros_like(total)
    for start in range(0, draws, CHUNK_DRAWS):
        n = min(CHUNK_DRAWS, draws - start)
        u = torch.rand(n, d, generator=gen, device=v.device, dtype=torch.float64)
        times, order = u.sort(1)
        cum = v[order].cumsum(1)
        times = torch.cat([times, times.new_ones(n, 1)], 1)  # T(x) = 1 when the total never reaches x
        for j, ratio in enumerate(ratios):
            low = ratio - v / 2
            before = _first_time(times, cum, low)
            tau = torch.where(u > before, before, _first_time(times, cum, ratio + v / 2))
            tau = torch.where(low <= 0, torch.zeros_like(tau), tau)
            total[j] += tau.sum(0)
            total_sq[j] += tau.square().sum(0)
    mean = total / draws
    se = ((total_sq / draws - mean.square()).clamp_min(0) / draws).sqrt()
    return [(1 - mean[j], se[j]) for j in range(len(ratios))]


def _first_time(times: torch.Tensor, cum: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per draw (row), the first arrival time at which the cumulative share reaches x (one x per component)."""
    return times.gather(1, torch.searchsorted(cum, x.expand_as(cum).contiguous()))


def diagonal_order(mu: torch.Tensor) -> torch.Tensor:
    """Indices sorting generalized eigenvalues mu descending; ties keep the PCA order (stable)."""
    return torch.sort(-mu, stable=True).indices


def feature_basis(basis, spec: NoiseSpec) -> torch.Tensor:
    """Theorem 3 under a pca_mask, for every K: the r x r orthonormal Q (a permutation) whose first K columns span
    the denoising-optimal features, in the PCA feature coordinates of `lbr.theory.denoising.feature_basis`. The
    optimal encoder keeps the components of largest q_i s_i (eigenvalues of (M1 X^T X M1^T, M2) = (diag(q^2 s^2),
    diag(q s)) in the PCA basis)."""
    r = basis.rank
    s = basis.s[:r].to(torch.float64)
    keep, _ = keep_probability(basis.s.to(torch.float64), spec)
    order = diagonal_order(keep[:r] * s)
    return torch.eye(r, dtype=torch.float64)[:, order]


@dataclass
class Components:
    """The principal components of the standardized train pixels a pca_mask draws in: `vectors` D x D (columns,
    H x W x C flattening, largest variance first) and `shares` (D,) of the variance, on the sampler's device."""

    vectors: torch.Tensor
    shares: torch.Tensor

    @classmethod
    def of_images(
        cls, x: np.ndarray, device: torch.device | str = "cpu", dtype=torch.float32, chunk_rows: int = 4096
    ) -> Components:
        """From uint8 N x H x W x C images: z = (x / 255 - train mean image) / global std, B = Z^T Z in float64."""
        mean, std = standardization(x)
        flat = x.reshape(len(x), -1)
        mu = torch.as_tensor(np.asarray(mean, dtype=np.float64).reshape(-1), device=device)
        b = torch.zeros(flat.shape[1], flat.shape[1], dtype=torch.float64, device=device)
        with heartbeat(f"pca_mask components: X^T X of {len(flat)} standardized images (D={flat.shape[1]}), eigh"):
            for sl in chunks(len(flat), chunk_rows):
                rows = (torch.as_tensor(flat[sl], device=device).to(torch.float64) / 255.0 - mu) / std
                b.addmm_(rows.T, rows)
            s, p = basis_of(b)
        return cls(p.to(dtype), shares_of(s))

    def corrupt(
        self,
        x: torch.Tensor,
        spec: NoiseSpec,
        generator: torch.Generator,
        mean: torch.Tensor | float,
        std: float,
        channels_first: bool,
    ) -> torch.Tensor:
        """One pca_mask draw per image of x (standardized coordinates (x - mean) / std); see `NoiseSpec.corrupt`."""
        n = x.shape[0]
        z = (x - mean) / std
        rows = (z.permute(0, 2, 3, 1) if channels_first else z).reshape(n, -1)
        d = rows.shape[1]
        if self.vectors.shape != (d, d):
            raise LbrError(f"pca_mask components of dimension {self.vectors.shape[0]} do not fit images of D={d}.")
        p = self.vectors.to(device=x.device, dtype=x.dtype)
        keep = draw_keep(self.shares.to(x.device), spec, n, generator)
        with torch.autocast(x.device.type, enabled=False):  # the views in x's precision, not a training autocast's
            dropped = (rows @ p) * (~keep).to(x.dtype)
            rows = rows - dropped @ p.T
        z = rows.reshape(z.permute(0, 2, 3, 1).shape if channels_first else z.shape)
        z = z.permute(0, 3, 1, 2) if channels_first else z
        return mean + std * z


def expected_masked_share(v: torch.Tensor, spec: NoiseSpec, draws: int = 4096, seed: int = 1) -> float:
    """Mean share of the variance a view masks (a check of the sampler; about the ratio for share variance)."""
    gen = torch.Generator(device=v.device).manual_seed(seed)
    keep = draw_keep(v, spec, draws, gen)
    return float(((~keep).to(torch.float64) * v).sum(1).mean())
