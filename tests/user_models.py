"""Models a user might declare under `models:` (tests/test_own_models.py): good ones, and ones the one-batch check
must refuse. Imported by workflow jobs through PYTHONPATH, as a user's own module would be."""

from __future__ import annotations

import math

import torch
from torch import nn


class TinyAutoencoder(nn.Module):
    """A linear autoencoder with encode/decode and no forward of its own; `depth` linear layers each way."""

    def __init__(self, in_shape, latent, depth=1, hidden=32):
        super().__init__()
        self.shape = tuple(in_shape)
        sizes = [math.prod(in_shape)] + [hidden] * (depth - 1) + [latent]
        self.enc = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])))
        self.dec = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[::-1], sizes[::-1][1:])))
        self.depth = depth

    def encode(self, x):
        return self.enc(x.flatten(1))

    def decode(self, code):
        return torch.sigmoid(self.dec(code)).unflatten(1, self.shape)


class HalfSize(TinyAutoencoder):
    """Reconstructions of half the side."""

    def decode(self, code):
        return super().decode(code)[..., ::2, ::2]


def wrong_shape(in_shape, n_classes):
    """A classifier with one logit too many."""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), n_classes + 1))


class EncoderOnly(nn.Module):
    """An 'autoencoder' that forgot decode."""

    def __init__(self, in_shape, latent):
        super().__init__()
        self.enc = nn.Linear(math.prod(in_shape), latent)

    def encode(self, x):
        return self.enc(x.flatten(1))

    def forward(self, x):
        return self.encode(x)


def spatial_code(in_shape, latent):
    """An autoencoder whose code is latent x 1 x 1 (fine for Fig. 3, not for the guidance probes, which need N x L)."""
    c, h, w = in_shape
    model = nn.Module()
    model.encode = nn.Sequential(nn.Conv2d(c, latent, (h, w)))
    model.decode = nn.Sequential(nn.ConvTranspose2d(latent, c, (h, w)), nn.Sigmoid())
    return model


def not_a_model(in_shape, n_classes):
    return [in_shape, n_classes]


def broken(in_shape, n_classes):
    raise ValueError("width must be even")


NOT_CALLABLE = 3
