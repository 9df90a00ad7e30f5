"""The input corruptions of denoising and masked autoencoders, defined once: what a noise is (`NoiseSpec`), its
closed-form moments M1 = E[X~] and M2 = E[X~ X~^T] (Theorem 3 reads them, `lbr.theory.denoising`), and a sampler
that draws it on the device (the Fig. 10 trainer corrupts its inputs with it, `lbr.training.dynamics`).

Coordinates. The noises live on the closed forms' standardized pixels z = (x - mu) / s (`closed_form` /
`fig7.preprocessing: standardize`: x = pixels / 255, mu = the train split's mean image, s = the global std of
x - mu over all pixels and images, `lbr.spectral.pixels.standardization`):

  none                     z~ = z
  gaussian(sigma)          z~ = z + sigma eps,  eps ~ N(0, I)        sigma in units of the global std s
  mask(p, k x k patches)   z~ = m * z                                  zero fill
  pca_mask(r, share)       z~ = P diag(m) P^T z                        zero fill in the PCA basis P

The mask m keeps each non-overlapping k x k patch of a grid aligned at pixel (0, 0) with probability 1 - p,
independently per image, all channels of a patch together; no rescaling. pca_mask masks principal components of
the train split's standardized pixels instead (Bizeul et al. 2025): a random set holding the share r of the
variance (share `variance`), or each component with probability r (share `components`); its sampler needs those
components (`lbr.theory.pca_mask`, where the sampling is stated). `corrupt(x, generator, mean, std)`
draws the same noise for images in any frame x = mean + std z; for images in [0, 1] with mean = mu and std = s:

  gaussian  x~ = x + s sigma eps          mask  x~ = mu + m * (x - mu)

(zero fill in standardized coordinates is the mean image in pixel space). With mean 0 and std 1 it corrupts the
standardized rows themselves, as the Monte Carlo test of M1 and M2 does (tests/test_denoising.py).

Moments (column-major X, D x N, B = X X^T; images flattened H x W x C):

  none                     M1 = X          M2 = B
  gaussian(sigma)          M1 = X          M2 = B + N sigma^2 I
  mask(p, k)               M1 = (1-p) X    M2 = (1-p)^2 B + p(1-p) blockdiag_patches(B)
  pca_mask(r, share)       M1 = P diag(q) P^T X    M2 = P diag(q s) P^T      (B = P diag(s) P^T; q_i = P(i kept))

No torch at import: the workflow checks noises while it plans; the functions that make tensors import it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lbr.errors import LbrError

if TYPE_CHECKING:
    import torch

    from lbr.theory.pca_mask import Components

KINDS = ("none", "gaussian", "mask", "pca_mask")
SHARES = ("variance", "components")  # what a pca_mask's ratio is a share of
PCA_MASK_DRAWS = 4096  # sampler draws behind a variance-share pca_mask's moments (config closed_form.pca_mask_draws)
LABEL_PATTERN = r"none|gaussian-[0-9.e+-]+|mask-[0-9.e+-]+-patch\d+|pcamask-[0-9.e+-]+-(?:variance|components)"
"""The path form of a noise (`NoiseSpec.label`: none, gaussian-0.5, mask-0.25-patch4, pcamask-0.2-variance), a
wildcard constraint."""
LABEL_RE = re.compile(
    r"^(none|gaussian-(?P<sigma>[0-9.e+-]+)|mask-(?P<ratio>[0-9.e+-]+)-patch(?P<patch>\d+)"
    r"|pcamask-(?P<pca_ratio>[0-9.e+-]+)-(?P<share>variance|components))$"
)


@dataclass(frozen=True)
class NoiseSpec:
    """One corruption of the input: none, gaussian (std sigma, in units of the global pixel std), mask (ratio of
    k x k patches) or pca_mask (ratio of the variance or of the principal components: `share`). `draws` is only
    read by a variance-share pca_mask's moments (its keep probabilities are estimated from that many sampler
    draws); it is not part of the label."""

    kind: str = "none"
    ratio: float = 0.0
    patch: int = 1
    sigma: float = 0.0
    share: str = "variance"
    draws: int = PCA_MASK_DRAWS

    def __post_init__(self):
        if self.kind not in KINDS:
            raise LbrError(f"noise must be one of {', '.join(KINDS)}, not '{self.kind}'.")
        if self.kind in ("mask", "pca_mask") and not 0 <= self.ratio < 1:
            raise LbrError(
                f"{self.kind} ratio must satisfy 0 <= ratio < 1 (1 would mask everything), not {self.ratio}."
            )
        if self.kind == "pca_mask" and self.share not in SHARES:
            raise LbrError(f"pca_mask share must be one of {', '.join(SHARES)}, not '{self.share}'.")
        if self.kind == "pca_mask" and not (int(self.draws) == self.draws and self.draws >= 1):
            raise LbrError(f"pca_mask draws must be a positive integer, not {self.draws}.")
        if self.kind == "mask" and (int(self.patch) != self.patch or self.patch < 1):
            raise LbrError(f"mask patch size must be a positive integer, not {self.patch}.")
        if self.kind == "gaussian" and not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise LbrError(f"gaussian sigma must be a finite number >= 0, not {self.sigma}.")

    @classmethod
    def from_dict(cls, entry: dict) -> NoiseSpec:
        """{noise: mask, ratio: 0.5, patch: 2} | {noise: gaussian, sigma: 1.0} | {noise: none}
        | {noise: pca_mask, ratio: 0.2, share: variance}."""
        kind = entry.get("noise", "none")
        if kind == "mask":
            return cls("mask", ratio=float(entry.get("ratio", 0.0)), patch=int(entry.get("patch", 1)))
        if kind == "pca_mask":
            return cls("pca_mask", ratio=float(entry.get("ratio", 0.0)), share=str(entry.get("share", "variance")))
        if kind == "gaussian":
            return cls("gaussian", sigma=float(entry.get("sigma", 0.0)))
        return cls(kind)

    @classmethod
    def from_label(cls, label: str) -> NoiseSpec:
        """The inverse of `label` (the path form of a noise: none, gaussian-0.5, mask-0.25-patch4,
        pcamask-0.2-variance)."""
        m = LABEL_RE.match(label)
        if not m:
            raise LbrError(
                f"'{label}' is not a noise label (none, gaussian-<sigma>, mask-<ratio>-patch<k>, "
                "pcamask-<ratio>-<variance|components>)."
            )
        try:
            if m["sigma"] is not None:
                return cls("gaussian", sigma=float(m["sigma"]))
            if m["ratio"] is not None:
                return cls("mask", ratio=float(m["ratio"]), patch=int(m["patch"]))
            if m["pca_ratio"] is not None:
                return cls("pca_mask", ratio=float(m["pca_ratio"]), share=m["share"])
        except ValueError:
            raise LbrError(f"'{label}' is not a noise label: its number does not read as one.") from None
        return cls("none")

    def check_shape(self, shape: tuple[int, int, int]) -> None:
        """Images H x W x C: a mask's patches must tile them."""
        h, w, _ = shape
        if self.kind == "mask" and (h % self.patch or w % self.patch):
            raise LbrError(f"mask patch size {self.patch} does not divide the {h} x {w} image; pick a divisor.")

    @property
    def m1_scale(self) -> float:
        """M1 = m1_scale * X (every noise but pca_mask, whose M1 is P diag(q) P^T X: `m1_operator`)."""
        if self.kind == "pca_mask" and not self.clean:
            raise LbrError("a pca_mask's first moment is not a multiple of X; use lbr.theory.noise.m1_operator.")
        return 1.0 - self.ratio if self.kind == "mask" else 1.0

    @property
    def clean(self) -> bool:
        """Whether the corruption leaves every input as it is (none, ratio 0, sigma 0)."""
        return self.kind == "none" or (self.ratio == 0 if self.kind in ("mask", "pca_mask") else self.sigma == 0)

    @property
    def label(self) -> str:
        if self.kind == "mask":
            return f"mask-{self.ratio:g}-patch{self.patch}"
        if self.kind == "pca_mask":
            return f"pcamask-{self.ratio:g}-{self.share}"
        if self.kind == "gaussian":
            return f"gaussian-{self.sigma:g}"
        return "none"

    def with_draws(self, draws: int) -> NoiseSpec:
        """This noise with `draws` Monte Carlo draws behind its moments (config closed_form.pca_mask_draws)."""
        return replace(self, draws=int(draws)) if self.kind == "pca_mask" else self

    def columns(self) -> dict:
        """The (noise, ratio, patch, sigma, share) columns of the tidy tables (NaN where not applicable)."""
        nan = float("nan")
        return {
            "noise": self.kind,
            "ratio": self.ratio if self.kind in ("mask", "pca_mask") else nan,
            "patch": self.patch if self.kind == "mask" else nan,
            "sigma": self.sigma if self.kind == "gaussian" else nan,
            "share": self.share if self.kind == "pca_mask" else nan,
        }

    def corrupt(
        self,
        x: torch.Tensor,
        generator: torch.Generator,
        mean: torch.Tensor | float = 0.0,
        std: float = 1.0,
        channels_first: bool = True,
        components: Components | None = None,
    ) -> torch.Tensor:
        """One draw of this noise for a batch of images x (N x C x H x W, or N x H x W x C with channels_first
        False) whose standardized coordinates are (x - mean) / std; every random number comes from `generator`
        (on x's device), in one batched call per noise, no loop over images. A clean noise draws nothing and
        returns x itself. A pca_mask needs the principal `components` of the standardized train pixels
        (`lbr.theory.pca_mask.Components`, H x W x C flattening)."""
        if self.clean:
            return x
        import torch

        if x.ndim != 4:
            raise LbrError(f"the noise sampler takes a batch of images N x C x H x W, not shape {tuple(x.shape)}.")
        n, h, w = (x.shape[0], *x.shape[2:]) if channels_first else x.shape[:3]
        self.check_shape((h, w, 1))
        if self.kind == "pca_mask":
            if components is None:
                raise LbrError("a pca_mask draws in the PCA basis of the train pixels; pass their components.")
            return components.corrupt(x, self, generator, mean, std, channels_first)
        if self.kind == "gaussian":
            eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            return x + (std * self.sigma) * eps
        k = self.patch
        keep = torch.rand(n, h // k, w // k, generator=generator, device=x.device) >= self.ratio
        keep = keep[:, :, None, :, None].expand(n, h // k, k, w // k, k).reshape(n, h, w).to(x.dtype)
        keep = keep[:, None] if channels_first else keep[..., None]
        return mean + keep * (x - mean)

    def corrupt_rows(
        self,
        rows: torch.Tensor,
        shape: tuple[int, int, int],
        generator: torch.Generator,
        components: Components | None = None,
    ) -> torch.Tensor:
        """One draw for standardized rows N x D (H x W x C flattening), the closed forms' layout."""
        h, w, c = shape
        self.check_shape(shape)
        images = rows.reshape(len(rows), h, w, c)
        return self.corrupt(images, generator, channels_first=False, components=components).reshape(rows.shape)


def patch_index(shape: tuple[int, int, int], k: int) -> torch.Tensor:
    """(n_patches, k*k*C) flat H x W x C indices of the pixels (all channels) of each k x k patch."""
    import torch

    h, w, c = shape
    NoiseSpec("mask", 0.0, k).check_shape(shape)
    idx = torch.arange(h * w * c).reshape(h // k, k, w // k, k, c)
    return idx.permute(0, 2, 1, 3, 4).reshape((h // k) * (w // k), k * k * c)


def patch_of_pixel(shape: tuple[int, int, int], k: int) -> torch.Tensor:
    """(D,) patch number of every flat pixel index."""
    import torch

    idx = patch_index(shape, k)
    out = torch.empty(idx.numel(), dtype=torch.int64)
    out[idx.reshape(-1)] = torch.arange(idx.shape[0]).repeat_interleave(idx.shape[1])
    return out


def blocks(b: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(n_patches, m, m) diagonal blocks of b, one per patch."""
    idx = idx.to(b.device)
    return b[idx[:, :, None], idx[:, None, :]]


def second_moment(b: torch.Tensor, spec: NoiseSpec, shape: tuple[int, int, int], n: int) -> torch.Tensor:
    """M2 = E[X~ X~^T] (D x D) from B = X X^T of n standardized images, in pixel coordinates."""
    import torch

    d = b.shape[0]
    if d != math.prod(shape):
        raise LbrError(f"a {d} x {d} moment does not match images of shape {shape}.")
    spec.check_shape(shape)
    if spec.kind == "gaussian":
        return b + n * spec.sigma**2 * torch.eye(d, dtype=b.dtype, device=b.device)
    if spec.kind == "none" or spec.ratio == 0:
        return b.clone()
    if spec.kind == "pca_mask":
        from lbr.theory.pca_mask import basis_of, keep_probability

        s, p = basis_of(b)
        keep, _ = keep_probability(s, spec)
        return (p * (keep * s)) @ p.T
    p = spec.ratio
    idx = patch_index(shape, spec.patch).to(b.device)
    m2 = (1 - p) ** 2 * b
    m2[idx[:, :, None], idx[:, None, :]] += p * (1 - p) * blocks(b, idx)
    return m2


def m1_operator(b: torch.Tensor, spec: NoiseSpec) -> torch.Tensor:
    """G (D x D) with M1 = G X for column-major X, from B = X X^T: m1_scale I, or P diag(q) P^T for a pca_mask."""
    import torch

    if spec.kind == "pca_mask" and not spec.clean:
        from lbr.theory.pca_mask import basis_of, keep_probability

        s, p = basis_of(b)
        keep, _ = keep_probability(s, spec)
        return (p * keep) @ p.T
    return spec.m1_scale * torch.eye(b.shape[0], dtype=b.dtype, device=b.device)


def first_moment(x: torch.Tensor, spec: NoiseSpec, b: torch.Tensor | None = None) -> torch.Tensor:
    """M1 = E[X~] for standardized images in rows (N x D) or columns: a multiple of X for every noise but
    pca_mask, whose rows need B = X^T X of the same images (its principal components)."""
    if spec.kind == "pca_mask" and not spec.clean:
        if b is None:
            raise LbrError("a pca_mask's first moment needs B = X^T X of the images (its principal components).")
        return x @ m1_operator(b, spec)  # rows: (G X^T)^T = X G, G symmetric
    return spec.m1_scale * x
