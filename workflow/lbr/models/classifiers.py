"""The authors' classifiers for the subspace experiments (paper Figs. 1-top and 4): ResNet9 and a depth-4 MLP.

Both take the dataset's native input shape (C, H, W); nothing assumes 3 x 32 x 32. The published quirks are
kept on purpose: 1028 (not 1024) channels in the last stage, a bias in every conv although BN follows, and
global max (not average) pooling before the linear head. `width` scales every hidden width (1.0 = as
published) so that CPU tests and the demo can use tiny models of the same shape.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lbr.errors import LbrError
from lbr.models.registry import register

RESNET9_WIDTHS = (64, 128, 256, 512, 1028)


def _scaled(c: int, width: float) -> int:
    return max(1, int(round(c * width)))


def _check_shape(in_shape) -> tuple[int, int, int]:
    if len(in_shape) != 3 or min(in_shape) < 1:
        raise LbrError(f"classifier input shape must be (channels, height, width), not {tuple(in_shape)}.")
    return tuple(int(s) for s in in_shape)


class ConvBlock(nn.Sequential):
    """Conv3x3 (padding 1, with bias) -> BatchNorm -> ReLU, then MaxPool2d(2) when `pool`."""

    def __init__(self, c_in: int, c_out: int, pool: bool):
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=True), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)


class Residual(nn.Module):
    """x + body(x)."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNet9(nn.Module):
    """conv(3->64), conv(64->128)+pool, res(128), conv(128->256)+pool, conv(256->512)+pool, res(512),
    conv(512->1028)+pool, res(1028), AdaptiveMaxPool2d(1), Linear(1028, C).

    A pooling layer is dropped only where the feature map is already 1 pixel wide (8x8 inputs), so every
    input size of 2 pixels or more is accepted; 28, 32 and 64 pixel inputs get the published network.
    """

    def __init__(self, in_shape, n_classes: int, width: float = 1.0):
        super().__init__()
        c, h, w = _check_shape(in_shape)
        c1, c2, c3, c4, c5 = (_scaled(k, width) for k in RESNET9_WIDTHS)
        size = min(h, w)

        def pooled() -> bool:
            nonlocal size
            if size >= 2:
                size //= 2
                return True
            return False

        self.conv1 = ConvBlock(c, c1, False)
        self.conv2 = ConvBlock(c1, c2, pooled())
        self.res1 = Residual(nn.Sequential(ConvBlock(c2, c2, False), ConvBlock(c2, c2, False)))
        self.conv3 = ConvBlock(c2, c3, pooled())
        self.conv4 = ConvBlock(c3, c4, pooled())
        self.res2 = Residual(nn.Sequential(ConvBlock(c4, c4, False), ConvBlock(c4, c4, False)))
        self.conv5 = ConvBlock(c4, c5, pooled())
        self.res3 = Residual(nn.Sequential(ConvBlock(c5, c5, False), ConvBlock(c5, c5, False)))
        self.classifier = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(c5, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res1(self.conv2(self.conv1(x)))
        x = self.res2(self.conv4(self.conv3(x)))
        x = self.res3(self.conv5(x))
        return self.classifier(x)


def mlp_widths(in_features: int, n_classes: int, depth: int = 4) -> list[int]:
    """The authors' widths: linspace(C, D, depth) cast to int, from the input down to the classes."""
    return [int(v) for v in np.linspace(n_classes, in_features, depth).astype(int)[::-1]]


class MLP(nn.Sequential):
    """Flatten -> [Linear (no bias) -> BatchNorm1d -> ReLU] x (depth - 2) -> Linear(., C) with bias.

    Widths come from the true input size D = C*H*W (CIFAR-10: 3072 -> 2051 -> 1030 -> 10).
    """

    def __init__(self, in_shape, n_classes: int, width: float = 1.0, depth: int = 4):
        c, h, w = _check_shape(in_shape)
        if depth < 2:
            raise LbrError(f"the MLP needs depth >= 2 (input and output widths), not {depth}.")
        widths = mlp_widths(c * h * w, n_classes, depth)
        widths = [widths[0], *(_scaled(k, width) for k in widths[1:-1]), widths[-1]]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-2], widths[1:-1]):
            layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(widths[-2], widths[-1]))
        super().__init__(*layers)


@register("resnet9")
def resnet9(in_shape, n_classes: int, width: float = 1.0) -> nn.Module:
    return ResNet9(in_shape, n_classes, width)


@register("mlp")
def mlp(in_shape, n_classes: int, width: float = 1.0, depth: int = 4) -> nn.Module:
    return MLP(in_shape, n_classes, width, depth)


CLASSIFIERS = ("resnet9", "mlp")
