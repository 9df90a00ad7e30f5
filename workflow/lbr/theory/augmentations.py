"""The augmentations Fig. 11 compares and the moments of their views in the PCA basis, which both linear objectives
(reconstruction, Theorem 3; joint embedding, `lbr.theory.joint_embedding`) read.

An augmentation is a noise of `lbr.theory.noise` (none, gaussian, mask, pca_mask) or `CropFlip`: the classifiers'
RandomCrop(padding, reflect) + horizontal flip (`lbr.training.crop_flip`), applied here to the standardized images
z (the closed forms' coordinates; on raw pixels a crop would also move the mean image, an affine offset). A crop
and flip is a pixel selection z -> z[sigma] drawn uniformly from (2 pad + 1)^2 x 2 maps, so
    M1 = E[T] X,    M2 = E[T B T^T],    (T B T^T)_ij = B_sigma(i) sigma(j),
both computed exactly over every map; rows and columns are cropped independently, so the average is taken one
axis at a time (3 (2 pad + 1) gathers of a D x D matrix instead of 2 (2 pad + 1)^2).

In the PCA basis (column-major X = P diag(s)^{1/2} U^T, rank r): P^T M1 = F U_r^T with F = P^T E[T] P_r
diag(s_r)^{1/2} (D x r), and P^T M2 P. For none, gaussian noise and pca_mask both are diagonal (F = diag(g s^{1/2}),
M2 = diag(m)), and the generalized eigenvalues of each objective are written out:
    none       g = 1    m = s                reconstruction s                     joint embedding 1
    gaussian   g = 1    m = s + N sigma^2    reconstruction s^2 / (s + N sigma^2)   joint embedding s / (s + N sigma^2)
    pca_mask   g = q    m = q s              reconstruction q s                   joint embedding q
A pca_mask's q carries a Monte Carlo standard error, which they inherit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lbr.errors import LbrError
from lbr.theory.alignment import Basis
from lbr.theory.denoising import NEEDS_COVARIANCE, second_moment_in_basis
from lbr.theory.noise import NoiseSpec
from lbr.theory.pca_mask import keep_probability

OBJECTIVES = ("reconstruction", "joint_embedding")


@dataclass(frozen=True)
class CropFlip:
    """Random crop of the padded image (reflect padding by `pad` pixels, one uniform offset per axis) followed by a
    left-right flip with probability 1/2, on standardized images."""

    pad: int

    kind = "crop_flip"

    def __post_init__(self):
        if int(self.pad) != self.pad or self.pad < 0:
            raise LbrError(f"crop_flip pad must be an integer >= 0, not {self.pad}.")

    @property
    def label(self) -> str:
        return f"cropflip-pad{self.pad}"

    @property
    def clean(self) -> bool:
        return False

    def check_shape(self, shape: tuple[int, int, int]) -> None:
        h, w, _ = shape
        if self.pad >= min(h, w):
            raise LbrError(f"crop_flip pad {self.pad} must be below the image side ({h} x {w}) for reflect padding.")

    def columns(self) -> dict:
        nan = float("nan")
        return {"noise": self.kind, "ratio": nan, "patch": nan, "sigma": nan, "share": nan, "pad": self.pad}

    def selections(self, length: int, flips: bool) -> list[torch.Tensor]:
        """Index maps of one axis of `length` pixels: out[i] = in[map[i]], one per offset (and flip)."""
        maps = []
        for offset in range(2 * self.pad + 1):
            j = torch.arange(length) + offset - self.pad
            j = torch.where(j < 0, -j, torch.where(j > length - 1, 2 * (length - 1) - j, j))
            maps.append(j)
            if flips:
                maps.append(j.flip(0))
        return maps


Augmentation = NoiseSpec | CropFlip


def augmentation_columns(aug: Augmentation) -> dict:
    """The table columns of an augmentation: noise, ratio, patch, sigma, share and pad (NaN where not applicable)."""
    if isinstance(aug, CropFlip):
        return aug.columns()
    return {**aug.columns(), "pad": float("nan")}


@dataclass
class ViewMoments:
    """The views' moments in the PCA basis. Dense: `first` = F (D x r), `second` = P^T M2 P (D x D). Diagonal:
    `eigenvalues[objective]` (r,) with their standard errors `eigenvalue_se[objective]` (0 where exact)."""

    diagonal: bool
    first: torch.Tensor | None = None
    second: torch.Tensor | None = None
    eigenvalues: dict[str, torch.Tensor] | None = None
    eigenvalue_se: dict[str, torch.Tensor] | None = None


def view_moments(basis: Basis, b: torch.Tensor, aug: Augmentation, shape: tuple[int, int, int], n: int) -> ViewMoments:
    """The moments of `aug`'s views of the n standardized train images with X^T X = b, in the PCA basis."""
    if basis.p is None:
        raise LbrError(NEEDS_COVARIANCE)
    aug.check_shape(shape)
    r = basis.rank
    s = basis.s[:r].to(torch.float64)
    zero = torch.zeros_like(s)
    if isinstance(aug, NoiseSpec) and aug.kind in ("none", "gaussian", "pca_mask"):
        if aug.kind == "none":
            return _diagonal(s, torch.ones_like(s), zero)
        if aug.kind == "gaussian":
            grow = s + n * aug.sigma**2
            return _diagonal(s.square() / grow, s / grow, zero)
        q, se = keep_probability(basis.s, aug)
        q, se = q[:r].cpu(), se[:r].cpu()
        return ViewMoments(
            True,
            eigenvalues={"reconstruction": q * s, "joint_embedding": q},
            eigenvalue_se={"reconstruction": se * s, "joint_embedding": se},
        )
    device = b.device
    root = s.sqrt().to(device)
    if isinstance(aug, NoiseSpec):  # pixel mask: M1 = (1 - p) X
        first = torch.zeros(basis.d, r, dtype=torch.float64, device=device)
        first[:r, :r] = torch.diag((1 - aug.ratio) * root)
        return ViewMoments(False, first=first, second=second_moment_in_basis(basis, b, aug, shape, n))
    p = basis.p.to(device)
    mean_map = _crop_flip_mean(aug, p[:, :r], shape)
    first = (p.T @ mean_map) * root
    second = p.T @ _crop_flip_second(aug, b, shape) @ p
    return ViewMoments(False, first=first, second=second)


def _diagonal(reconstruction: torch.Tensor, joint: torch.Tensor, se: torch.Tensor) -> ViewMoments:
    return ViewMoments(
        True,
        eigenvalues={"reconstruction": reconstruction, "joint_embedding": joint},
        eigenvalue_se={"reconstruction": se, "joint_embedding": se},
    )


def _crop_flip_mean(aug: CropFlip, columns: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """E[T] applied to each column (an image, H x W x C flattening) of a D x m matrix."""
    h, w, c = shape
    images = columns.reshape(h, w, c, -1)
    rows = _axis_mean(images, 1, aug.selections(w, flips=True))
    return _axis_mean(rows, 0, aug.selections(h, flips=False)).reshape(columns.shape)


def _crop_flip_second(aug: CropFlip, b: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """E[T B T^T] over every crop offset and flip: columns (and flips), then rows."""
    h, w, c = shape
    six = b.reshape(h, w, c, h, w, c)
    six = _axis_mean(six, (1, 4), aug.selections(w, flips=True))
    six = _axis_mean(six, (0, 3), aug.selections(h, flips=False))
    return six.reshape(b.shape)


def _axis_mean(t: torch.Tensor, axes, maps: list[torch.Tensor]) -> torch.Tensor:
    """Mean over index maps of t with the same map applied along every axis in `axes`."""
    axes = (axes,) if isinstance(axes, int) else axes
    total = torch.zeros_like(t)
    for m in maps:
        cur = t
        for axis in axes:
            cur = cur.index_select(axis, m.to(t.device))
        total += cur
    return total / len(maps)
