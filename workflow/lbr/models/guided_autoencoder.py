"""ResNet-34 autoencoder with a linear bottleneck of L units and two online probes (paper Figs. 5-6).

Architecture as the authors' `ResNetAutoEncoder(configs=[3,4,6,3], bottleneck=False,
latent_shape=(512,7,7), latent_target=L)` (DIGEST Sec. 6.3):

- encoder: ResNet-34 body (7x7/2 stem, max-pool, basic blocks [3,4,6,3] at 64/128/256/512 channels) ->
  Flatten -> Linear(512 * g * g, L), where g = input_size / 32 (7 at 224x224);
- decoder: Linear(L, 512 * g * g) -> Unflatten -> pre-activation residual stages [3,6,4,3]
  (512->256, 256->128, 128->64, 64->64), the last layer of each upsampling x2 with ConvT3x3/2 and a
  BN-ReLU-ConvT1x1/2 shortcut -> head BN-ReLU-ConvT7x7/2 -> Sigmoid;
- probes on the code h: Linear(L, classes) and MLP L -> 1024 -> 1024 -> classes with BN + ReLU.

`width` scales every channel count (64 = the paper) and `encoder_blocks` / `decoder_blocks` set the blocks
per stage (ResNet-34: [3,4,6,3] / [3,6,4,3]); smaller values make CPU demos fast. PyTorch's default
initialisation, as the authors.

`stem` adapts the network below 224 px. imagenet (the paper) downsamples by 32, so a 32 px image would leave
its code on a 1x1 map. cifar, the usual CIFAR ResNet: the encoder's stem is one Conv3x3/1-BN-ReLU without
max-pool (the stages as above, so the code's map is image_size / 8); the decoder's stages 1-3 upsample x2 as
above, stage 4 keeps the resolution (its last layer has an identity skip) and the head is
BN-ReLU-Conv3x3/1 -> Sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from lbr.config.sections import GUIDANCE_STEM_STRIDE as STEM_STRIDE
from lbr.errors import LbrError

ENCODER_BLOCKS = (3, 4, 6, 3)
DECODER_BLOCKS = (3, 6, 4, 3)
PROBE_HIDDEN = 1024


def latent_grid(image_size: int, stem: str = "imagenet") -> int:
    """Side of the encoder's last feature map (image_size / 32, or / 8 with the cifar stem); refuses sizes it
    cannot invert exactly."""
    if stem not in STEM_STRIDE:
        raise LbrError(f"guidance.stem must be one of {', '.join(STEM_STRIDE)}, not '{stem}'.")
    stride = STEM_STRIDE[stem]
    if image_size < stride or image_size % stride:
        raise LbrError(
            f"the ResNet autoencoder with stem {stem} needs an image size that is a positive multiple of {stride} "
            f"(224 in the paper), not {image_size}; set guidance.image_size accordingly."
        )
    return image_size // stride


def _check_blocks(blocks: tuple[int, ...], name: str) -> None:
    if len(blocks) != 4 or min(blocks) < 1:
        raise LbrError(f"guidance.{name} must list 4 stages of at least one block each, not {list(blocks)}.")


class BasicBlock(nn.Module):
    """Post-activation basic block: Conv3x3-BN-ReLU-Conv3x3-BN, plus (1x1/2 conv-BN) skip, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.skip(x))


class UpBlock(nn.Module):
    """Pre-activation decoder layer: (BN-ReLU-Conv3x3) twice; when upsampling the second conv is a
    ConvT3x3/2 to c_out and the skip is BN-ReLU-ConvT1x1/2, otherwise the skip is the identity."""

    def __init__(self, c_in: int, c_out: int, upsample: bool):
        super().__init__()
        second = (
            nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1, bias=False)
            if upsample
            else nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)
        )
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_in, c_in, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_in),
            nn.ReLU(inplace=True),
            second,
        )
        self.skip = (
            nn.Sequential(
                nn.BatchNorm2d(c_in),
                nn.ReLU(),
                nn.ConvTranspose2d(c_in, c_out, 1, 2, output_padding=1, bias=False),
            )
            if upsample
            else nn.Identity()
        )

    def forward(self, x):
        return self.body(x) + self.skip(x)


def _stem(channels: int, width: int, stem: str) -> list[nn.Module]:
    """The encoder's first layers: 7x7/2 conv, BN, ReLU, 3x3/2 max-pool (imagenet) or 3x3/1 conv, BN, ReLU (cifar)."""
    if stem == "cifar":
        return [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    return [
        nn.Conv2d(channels, width, 7, 2, 3, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]


class ResNetEncoder(nn.Module):
    """ResNet-34 body (with the `stem` of `_stem`) + Flatten + Linear(8*width * g * g, latent)."""

    def __init__(
        self,
        latent: int,
        image_size: int,
        width: int,
        channels: int,
        blocks: tuple[int, ...],
        stem: str = "imagenet",
    ):
        super().__init__()
        g = latent_grid(image_size, stem)
        _check_blocks(blocks, "encoder_blocks")
        widths = [width, 2 * width, 4 * width, 8 * width]
        layers = _stem(channels, width, stem)
        c_in = width
        for stage, (c_out, n) in enumerate(zip(widths, blocks)):
            for i in range(n):
                layers.append(BasicBlock(c_in, c_out, 2 if (i == 0 and stage > 0) else 1))
                c_in = c_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(8 * width * g * g, latent)

    def forward(self, x):
        return self.head(torch.flatten(self.body(x), 1))


class ResNetDecoder(nn.Module):
    """Linear(latent, 8*width * g * g) -> Unflatten -> stages [3,6,4,3] -> BN-ReLU-ConvT7x7/2 -> Sigmoid; with
    the cifar stem, stage 4 does not upsample and the head is BN-ReLU-Conv3x3/1 -> Sigmoid."""

    def __init__(
        self,
        latent: int,
        image_size: int,
        width: int,
        channels: int,
        blocks: tuple[int, ...],
        stem: str = "imagenet",
    ):
        super().__init__()
        g = latent_grid(image_size, stem)
        _check_blocks(blocks, "decoder_blocks")
        self.shape = (8 * width, g, g)
        self.head = nn.Linear(latent, 8 * width * g * g)
        stages = [(8 * width, 4 * width), (4 * width, 2 * width), (2 * width, width), (width, width)]
        layers: list[nn.Module] = []
        for stage, ((c_hidden, c_out), n) in enumerate(zip(stages, blocks)):
            upsamples = stem == "imagenet" or stage < 3
            for i in range(n):
                last = i == n - 1
                layers.append(UpBlock(c_hidden, c_out if last else c_hidden, upsample=last and upsamples))
        head = (
            nn.Conv2d(width, channels, 3, 1, 1, bias=False)
            if stem == "cifar"
            else nn.ConvTranspose2d(width, channels, 7, 2, 3, output_padding=1, bias=False)
        )
        layers += [nn.BatchNorm2d(width), nn.ReLU(inplace=True), head, nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, h):
        return self.body(self.head(h).unflatten(1, self.shape))


class Probes(nn.Module):
    """The two online heads on the code: linear, and MLP L -> 1024 -> 1024 -> classes (BN + ReLU)."""

    def __init__(self, latent: int, n_classes: int, hidden: int = PROBE_HIDDEN):
        super().__init__()
        self.linear = nn.Linear(latent, n_classes)
        self.mlp = nn.Sequential(
            nn.Linear(latent, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, h):
        return self.linear(h), self.mlp(h)


class GuidedAutoencoder(nn.Module):
    """Autoencoder plus online probes; with guidance 0 the probes read the code detached from the encoder.

    forward(x) -> (reconstruction, code, linear logits, MLP logits). The guidance weight itself multiplies
    the probe losses in the task (`lbr.training.guidance`); here it only decides whether gradients may flow back.
    """

    def __init__(
        self,
        latent: int,
        n_classes: int,
        image_size: int = 224,
        width: int = 64,
        channels: int = 3,
        guidance: float = 0.0,
        encoder_blocks: tuple[int, ...] = ENCODER_BLOCKS,
        decoder_blocks: tuple[int, ...] = DECODER_BLOCKS,
        stem: str = "imagenet",
    ):
        super().__init__()
        if latent < 1 or n_classes < 2:
            raise LbrError(f"the autoencoder needs latent >= 1 and >= 2 classes, not {latent} and {n_classes}.")
        if width < 1:
            raise LbrError(f"guidance.width must be a positive channel count (64 in the paper), not {width}.")
        self.guidance = float(guidance)
        self.encoder = ResNetEncoder(latent, image_size, width, channels, tuple(encoder_blocks), stem)
        self.decoder = ResNetDecoder(latent, image_size, width, channels, tuple(decoder_blocks), stem)
        self.probes = Probes(latent, n_classes)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, code):
        return self.decoder(code)

    def forward(self, x):
        h = self.encoder(x)
        recon = self.decoder(h)
        logits_linear, logits_mlp = self.probes(h if self.guidance > 0 else h.detach())
        return recon, h, logits_linear, logits_mlp
