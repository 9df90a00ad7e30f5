"""Batched on-device augmentations: no per-sample Python, one random draw per batch from a seeded generator."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(x: torch.Tensor, pad: int, generator: torch.Generator, mode: str = "reflect") -> torch.Tensor:
    """Pad N x C x H x W images by `pad` and cut one random H x W window per image (two gathers)."""
    if pad <= 0:
        return x
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode=mode)
    dy = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=generator)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None].expand(n, c, h, w + 2 * pad)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :].expand(n, c, h, w)
    return out.gather(3, cols)


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def crop_flip(x: torch.Tensor, pad: int, generator: torch.Generator, mode: str = "reflect") -> torch.Tensor:
    """The paper's classifier augmentation: RandomCrop(padding=pad, reflect) + RandomHorizontalFlip."""
    return random_flip(random_crop(x, pad, generator, mode), generator)
