"""The learning-dynamics autoencoders of paper Figs. 1-bottom and 3 (DIGEST §6.2): DCAE and MLPAE.

Both take images as N x C x H x W floats in [0, 1] and return reconstructions of the same shape through a
Sigmoid. Widths follow the authors' `np.linspace(...).astype(int)` rules, so CIFAR-10 gives exactly the
layer tables of the digest; other input shapes get the same construction with their own channel count. Like every
autoencoder of the project (the user's too, docs/own_models.md), they have encode(x) -> code and decode(code) ->
reconstruction, and forward is decode(encode(x)).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from lbr.errors import LbrError

ARCHS = ("dcae", "mlpae")


def dcae_widths(channels: int, latent: int, depth: int) -> list[int]:
    """Encoder channel widths: input channels, then linspace(32, latent, depth) truncated to int."""
    return [channels] + [int(w) for w in np.linspace(32, latent, depth).astype(int)]


def mlpae_widths(n_inputs: int, latent: int, depth: int) -> list[int]:
    """Encoder feature widths: linspace(latent, D, depth) truncated to int, largest first."""
    return [int(w) for w in np.linspace(latent, n_inputs, depth).astype(int)[::-1]]


class EncoderDecoder(nn.Module):
    """An autoencoder as its two halves: `encode` gives the code (what Fig. 10's probe reads), `decode` the
    reconstruction; the parameters are `encoder.*` and `decoder.*`."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, code):
        return self.decoder(code)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class DCAE(EncoderDecoder):
    """`depth` stride-2 3x3 convolutions down to `latent` channels, mirrored transposed convolutions back."""

    def __init__(self, in_shape: tuple[int, int, int], latent: int = 512, depth: int = 3):
        c, h, w = in_shape
        if depth < 2:
            raise LbrError(f"DCAE depth must be at least 2, not {depth}.")
        step = 2**depth
        if h % step or w % step:
            raise LbrError(
                f"DCAE depth {depth} halves the image {depth} times, so height and width must be multiples of "
                f"{step}, not {h}x{w}; lower the depth or use the MLPAE."
            )
        widths = dcae_widths(c, latent, depth)
        enc: list[nn.Module] = []
        for fin, fout in zip(widths[:-2], widths[1:-1]):
            enc += [nn.Conv2d(fin, fout, 3, stride=2, padding=1), nn.ReLU()]
        enc.append(nn.Conv2d(widths[-2], latent, 3, stride=2, padding=1))
        back = widths[::-1]
        dec: list[nn.Module] = []
        for fin, fout in zip(back[:-2], back[1:-1]):
            dec += [nn.ConvTranspose2d(fin, fout, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
        dec += [nn.ConvTranspose2d(back[-2], c, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid()]
        super().__init__(nn.Sequential(*enc), nn.Sequential(*dec))


def _hidden(fin: int, fout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(fin, fout, bias=False), nn.BatchNorm1d(fout), nn.ReLU())


class MLPAE(EncoderDecoder):
    """Flatten, [Linear(no bias) -> BN -> ReLU] x (depth - 2), Linear to `latent`; mirrored decoder, Sigmoid."""

    def __init__(self, in_shape: tuple[int, int, int], latent: int = 512, depth: int = 3):
        if depth < 2:
            raise LbrError(f"MLPAE depth must be at least 2, not {depth}.")
        d = int(np.prod(in_shape))
        widths = mlpae_widths(d, latent, depth)
        enc: list[nn.Module] = [nn.Flatten()]
        enc += [_hidden(fin, fout) for fin, fout in zip(widths[:-2], widths[1:-1])]
        enc.append(nn.Linear(widths[-2], latent))
        back = widths[::-1]
        dec: list[nn.Module] = [_hidden(fin, fout) for fin, fout in zip(back[:-2], back[1:-1])]
        dec += [nn.Linear(back[-2], d), nn.Unflatten(1, tuple(in_shape)), nn.Sigmoid()]
        super().__init__(nn.Sequential(*enc), nn.Sequential(*dec))


def build_autoencoder(arch: str, in_shape: tuple[int, int, int], latent: int = 512, depth: int = 3) -> nn.Module:
    """DCAE or MLPAE for C x H x W inputs."""
    if arch == "dcae":
        return DCAE(in_shape, latent, depth)
    if arch == "mlpae":
        return MLPAE(in_shape, latent, depth)
    raise LbrError(f"autoencoder arch must be one of {', '.join(ARCHS)}, not '{arch}'.")
