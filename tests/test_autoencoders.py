"""DCAE and MLPAE against the layer tables of DIGEST §6.2 (CIFAR-10, latent 512), and other input shapes."""

import pytest
import torch

from lbr.errors import LbrError
from lbr.models import DCAE, MLPAE, build_autoencoder

# DIGEST §6.2, copied from the tables (not computed by the code under test).
DCAE_ENCODER = {3: [3, 32, 272, 512], 5: [3, 32, 152, 272, 392, 512]}
DCAE_LATENT_MAP = {3: (512, 4, 4), 5: (512, 1, 1)}
MLPAE_ENCODER = {3: [3072, 1792, 512], 5: [3072, 2432, 1792, 1152, 512]}


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def _conv_params(widths):
    return sum(a * b * 9 + b for a, b in zip(widths[:-1], widths[1:]))


def _mlp_params(widths):
    """Hidden layers: Linear without bias + BatchNorm (weight, bias); the last layer: Linear with bias."""
    hidden = sum(a * b + 2 * b for a, b in zip(widths[:-2], widths[1:-1]))
    return hidden + widths[-2] * widths[-1] + widths[-1]


@pytest.mark.parametrize("depth", [3, 5])
def test_dcae_matches_table(depth):
    model = DCAE((3, 32, 32), latent=512, depth=depth)
    enc = DCAE_ENCODER[depth]
    assert _n_params(model) == _conv_params(enc) + _conv_params(enc[::-1])
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == list(zip(enc[:-1], enc[1:]))
    assert all(c.stride == (2, 2) and c.kernel_size == (3, 3) for c in convs)
    deconvs = [m for m in model.decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in deconvs] == list(zip(enc[::-1][:-1], enc[::-1][1:]))
    x = torch.rand(2, 3, 32, 32)
    assert model.encoder(x).shape[1:] == DCAE_LATENT_MAP[depth]
    assert not isinstance(model.encoder[-1], torch.nn.ReLU)
    out = model(x)
    assert out.shape == x.shape and 0 < out.min() and out.max() < 1
    assert isinstance(model.decoder[-1], torch.nn.Sigmoid)


@pytest.mark.parametrize("depth", [3, 5])
def test_mlpae_matches_table(depth):
    model = MLPAE((3, 32, 32), latent=512, depth=depth)
    enc = MLPAE_ENCODER[depth]
    assert _n_params(model) == _mlp_params(enc) + _mlp_params(enc[::-1])
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    dec = enc[::-1]
    expected = list(zip(enc[:-1], enc[1:])) + list(zip(dec[:-1], dec[1:]))
    assert [(m.in_features, m.out_features) for m in linears] == expected
    with_bias = [i for i, m in enumerate(linears) if m.bias is not None]
    assert with_bias == [len(enc) - 2, len(expected) - 1]
    model.eval()
    x = torch.rand(2, 3, 32, 32)
    assert model.encoder(x).shape == (2, 512)
    out = model(x)
    assert out.shape == x.shape and 0 < out.min() and out.max() < 1


def test_small_inputs_work_or_fail_clearly():
    digits = torch.rand(4, 1, 8, 8)
    assert build_autoencoder("dcae", (1, 8, 8), 512, 3)(digits).shape == digits.shape
    assert build_autoencoder("mlpae", (1, 8, 8), 32, 5)(digits).shape == digits.shape
    demo = torch.rand(4, 3, 16, 16)
    assert build_autoencoder("dcae", (3, 16, 16), 64, 4)(demo).shape == demo.shape
    with pytest.raises(LbrError, match="multiples of 32"):
        build_autoencoder("dcae", (3, 16, 16), 64, 5)
    with pytest.raises(LbrError, match="arch"):
        build_autoencoder("vae", (3, 16, 16), 64, 3)
