"""Floating-point operations per training image of every trained architecture, counted layer by layer from the
same width rules the models use (`lbr.models`), without torch, so that the workflow can size its jobs while it
plans. Convolutions and linear layers only (2 x multiply-adds); normalisation, activations and pooling are left
out. A training step costs about 3 forward passes (forward, and backward for activations and weights)."""

from __future__ import annotations

import math

import numpy as np

TRAIN_PASSES = 3.0
RESNET9_WIDTHS = (64, 128, 256, 512, 1028)


def conv(c_in: int, c_out: int, kernel: int, out_h: int, out_w: int) -> float:
    """A convolution's forward FLOPs (also a transposed convolution's, with the input's spatial size)."""
    return 2.0 * kernel * kernel * c_in * c_out * out_h * out_w


def linear(n_in: int, n_out: int) -> float:
    return 2.0 * n_in * n_out


def _scaled(c: int, width: float) -> int:
    return max(1, int(round(c * width)))


def resnet9(shape: tuple[int, int, int], width: float = 1.0) -> float:
    """Forward FLOPs of `lbr.models.classifiers.ResNet9` on C x H x W images (3.18 GFLOP per CIFAR image for
    training at width 1, as docs/train.md states)."""
    c, h, w = shape
    c1, c2, c3, c4, c5 = (_scaled(k, width) for k in RESNET9_WIDTHS)
    size = [h, w]

    def pool() -> None:
        if min(size) >= 2:
            size[0], size[1] = size[0] // 2, size[1] // 2

    total = conv(c, c1, 3, *size) + conv(c1, c2, 3, *size)
    pool()
    total += 2 * conv(c2, c2, 3, *size) + conv(c2, c3, 3, *size)
    pool()
    total += conv(c3, c4, 3, *size)
    pool()
    total += 2 * conv(c4, c4, 3, *size) + conv(c4, c5, 3, *size)
    pool()
    return total + 2 * conv(c5, c5, 3, *size) + linear(c5, 10)


def mlp(shape: tuple[int, int, int], n_classes: int = 10, width: float = 1.0, depth: int = 4) -> float:
    """Forward FLOPs of the authors' MLP (widths linspace(C, D, depth), hidden ones scaled by `width`)."""
    d = int(np.prod(shape))
    widths = [int(v) for v in np.linspace(n_classes, d, depth).astype(int)[::-1]]
    widths = [widths[0], *(_scaled(k, width) for k in widths[1:-1]), widths[-1]]
    return sum(linear(a, b) for a, b in zip(widths[:-1], widths[1:]))


def dcae(shape: tuple[int, int, int], latent: int, depth: int) -> float:
    """Forward FLOPs of the DCAE: `depth` stride-2 3x3 convolutions, mirrored transposed convolutions."""
    c, h, w = shape
    widths = [c] + [int(v) for v in np.linspace(32, latent, depth).astype(int)]
    widths[-1] = latent
    total = 0.0
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        oh, ow = math.ceil(h / 2 ** (i + 1)), math.ceil(w / 2 ** (i + 1))
        total += 2 * conv(a, b, 3, oh, ow)  # the encoder layer and its mirror in the decoder
    return total


def code_size(arch: str, shape: tuple[int, int, int], latent: int, depth: int) -> int:
    """Values per image of the autoencoder's code: latent for the MLPAE, latent x (H / 2^depth) x (W / 2^depth) for
    the DCAE (and, for pricing, a model of the user's)."""
    if arch == "mlpae":
        return int(latent)
    _, h, w = shape
    return int(latent) * math.ceil(h / 2**depth) * math.ceil(w / 2**depth)


def mlpae(shape: tuple[int, int, int], latent: int, depth: int) -> float:
    """Forward FLOPs of the MLPAE: linspace(latent, D, depth) widths, mirrored."""
    d = int(np.prod(shape))
    widths = [int(v) for v in np.linspace(latent, d, depth).astype(int)[::-1]]
    return 2 * sum(linear(a, b) for a, b in zip(widths[:-1], widths[1:]))


def guided_autoencoder(
    image_size: int,
    width: int,
    latent: int,
    encoder_blocks: tuple[int, ...] = (3, 4, 6, 3),
    decoder_blocks: tuple[int, ...] = (3, 6, 4, 3),
    channels: int = 3,
    stem: str = "imagenet",
    n_classes: int = 10,
) -> float:
    """Forward FLOPs of `lbr.models.guided_autoencoder.GuidedAutoencoder`, probes included.

    imagenet stem: 7x7/2 conv and a 3x3/2 max-pool, the stages at 1/4 .. 1/32 of the image, a 7x7/2 transposed
    head; cifar stem: one 3x3/1 conv, the stages at 1 .. 1/8, the last decoder stage without upsampling and a
    3x3/1 head."""
    s = image_size
    if stem == "imagenet":
        total = conv(channels, width, 7, s // 2, s // 2) + conv(width, channels, 7, s // 2, s // 2)
        res = s // 4
    else:
        total = conv(channels, width, 3, s, s) + conv(width, channels, 3, s, s)
        res = s
    widths = [width, 2 * width, 4 * width, 8 * width]
    c_in = width
    for stage, (c_out, n) in enumerate(zip(widths, encoder_blocks)):
        for i in range(n):
            stride = 2 if (i == 0 and stage > 0) else 1
            res = res // stride
            total += conv(c_in, c_out, 3, res, res) + conv(c_out, c_out, 3, res, res)
            if stride != 1 or c_in != c_out:
                total += conv(c_in, c_out, 1, res, res)
            c_in = c_out
    grid = res
    total += 2 * linear(latent, 8 * width * grid * grid)
    total += linear(latent, n_classes) + linear(latent, 1024) + linear(1024, 1024) + linear(1024, n_classes)
    stages = [(8 * width, 4 * width), (4 * width, 2 * width), (2 * width, width), (width, width)]
    res = grid
    for j, ((c_hidden, c_out), n) in enumerate(zip(stages, decoder_blocks)):
        upsample_last = stem == "imagenet" or j < 3
        for i in range(n):
            last = i == n - 1
            out = c_out if last else c_hidden
            total += conv(c_hidden, c_hidden, 3, res, res) + conv(c_hidden, out, 3, res, res)
            if last and upsample_last:
                total += conv(c_hidden, out, 1, res, res)
                res *= 2
    return total


def training(forward_flops: float) -> float:
    """FLOPs of one training step per image."""
    return TRAIN_PASSES * forward_flops
