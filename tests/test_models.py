"""Classifier architectures: the published ResNet9 and MLP, at every native input shape."""

import numpy as np
import pytest
import torch
from torch import nn

from lbr import models
from lbr.errors import LbrError
from lbr.models.classifiers import mlp_widths

NATIVE = [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 8, 8), (3, 16, 16), (1, 32, 32)]


def _conv_bn(c_in, c_out):
    """3x3 conv with bias, then BatchNorm (weight and bias): counted by hand from the layer list."""
    return 9 * c_in * c_out + c_out + 2 * c_out


def test_resnet9_parameter_count_matches_the_published_layer_list():
    layers = [(3, 64), (64, 128), (128, 128), (128, 128), (128, 256), (256, 512), (512, 512), (512, 512),
              (512, 1028), (1028, 1028), (1028, 1028)]  # fmt: skip
    expected = sum(_conv_bn(a, b) for a, b in layers) + 1028 * 10 + 10
    model = models.build("resnet9", in_shape=(3, 32, 32), n_classes=10)
    assert sum(p.numel() for p in model.parameters()) == expected
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == layers
    assert all(c.bias is not None and c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 4
    assert any(isinstance(m, nn.AdaptiveMaxPool2d) for m in model.modules())


def test_resnet9_feature_map_sizes_follow_the_input():
    sizes = {}
    for shape in [(3, 32, 32), (3, 64, 64), (1, 28, 28)]:
        model = models.build("resnet9", in_shape=shape, n_classes=5, width=0.125).eval()
        seen = []
        model.classifier[0].register_forward_hook(lambda m, i, o, seen=seen: seen.append(i[0].shape[-1]))
        model(torch.randn(2, *shape))
        sizes[shape[1]] = seen[0]
    assert sizes == {32: 2, 64: 4, 28: 1}


@pytest.mark.parametrize("shape", NATIVE)
@pytest.mark.parametrize("arch", ["resnet9", "mlp"])
def test_native_shapes_give_logits(arch, shape):
    model = models.build(arch, in_shape=shape, n_classes=7, width=0.125).eval()
    assert model(torch.randn(3, *shape)).shape == (3, 7)


@pytest.mark.parametrize(
    "d, c, widths",
    [(3072, 10, [3072, 2051, 1030, 10]), (3072, 100, [3072, 2081, 1090, 100]), (3072, 28, [3072, 2057, 1042, 28]),
     (12288, 200, [12288, 8258, 4229, 200])],
)  # fmt: skip
def test_mlp_widths_match_the_authors_table(d, c, widths):
    assert mlp_widths(d, c) == widths


def test_mlp_layers_use_the_true_input_size():
    model = models.build("mlp", in_shape=(1, 28, 28), n_classes=10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    step = (784 - 10) / 3
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, int(10 + 2 * step)),
        (int(10 + 2 * step), int(10 + step)),
        (int(10 + step), 10),
    ]
    assert [m.bias is None for m in linears] == [True, True, False]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 2


def test_width_multiplier_scales_hidden_widths_only():
    model = models.build("resnet9", in_shape=(3, 32, 32), n_classes=10, width=0.25)
    convs = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0] == 16 and convs[-1] == 257 and model.classifier[-1].out_features == 10
    small = models.build("mlp", in_shape=(3, 32, 32), n_classes=10, width=0.5)
    assert [m.out_features for m in small.modules() if isinstance(m, nn.Linear)] == [
        int(np.round(2051 * 0.5)),
        int(np.round(1030 * 0.5)),
        10,
    ]


def test_unknown_model_is_refused():
    with pytest.raises(LbrError, match="unknown model"):
        models.build("vgg", in_shape=(3, 32, 32), n_classes=10)
