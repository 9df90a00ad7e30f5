"""ResNet-34 autoencoder: architecture, shapes, and where the probes' gradients go."""

import numpy as np
import pytest
import torch
import torchvision

from lbr.config.settings import GuidanceSettings
from lbr.errors import LbrError
from lbr.models import GuidedAutoencoder
from lbr.training.guidance import GuidanceTask
from lbr.training.policy import FLOAT32_EAGER

from conftest import job_settings

VIEWS = job_settings(GuidanceSettings, {"latent": "8", "guidance": "0", "seed": "0"}, image_size=32, val_crop=1.0)


def test_encoder_body_is_torchvision_resnet34():
    ours = GuidedAutoencoder(128, 10, 224).encoder.body
    ref = torchvision.models.resnet34()
    ref_body = torch.nn.Sequential(*list(ref.children())[:-2])
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref_body.parameters())
    ours_shapes = sorted(tuple(p.shape) for p in ours.parameters())
    assert ours_shapes == sorted(tuple(p.shape) for p in ref_body.parameters())


def test_shapes_at_224_paper_size():
    with torch.device("meta"):
        model = GuidedAutoencoder(640, 10, 224)
        recon, h, lin, mlp = model(torch.empty(2, 3, 224, 224))
        assert model.encoder.body(torch.empty(2, 3, 224, 224)).shape == (2, 512, 7, 7)
    assert recon.shape == (2, 3, 224, 224) and h.shape == (2, 640)
    assert lin.shape == mlp.shape == (2, 10)
    assert model.encoder.head.in_features == 512 * 7 * 7 and model.decoder.head.out_features == 512 * 7 * 7


@pytest.mark.parametrize("size,channels", [(32, 3), (64, 1)])
def test_shapes_at_demo_sizes(size, channels):
    model = GuidedAutoencoder(16, 7, size, width=4, channels=channels).eval()
    recon, h, lin, mlp = model(torch.rand(3, channels, size, size))
    assert recon.shape == (3, channels, size, size) and h.shape == (3, 16) and lin.shape == mlp.shape == (3, 7)
    assert recon.min() >= 0 and recon.max() <= 1


@pytest.mark.parametrize("size", [16, 100, 200])
def test_sizes_not_divisible_by_32_fail_clearly(size):
    with pytest.raises(LbrError, match="multiple of 32"):
        GuidedAutoencoder(16, 10, size, width=4)


@pytest.mark.parametrize("size,channels", [(32, 3), (64, 3), (40, 1)])
def test_cifar_stem_shapes(size, channels):
    """Below 224 px: the code's map is size / 8, the reconstruction has the input's shape."""
    model = GuidedAutoencoder(16, 7, size, width=4, channels=channels, stem="cifar").eval()
    x = torch.rand(3, channels, size, size)
    recon, h, lin, mlp = model(x)
    assert recon.shape == x.shape and h.shape == (3, 16) and lin.shape == mlp.shape == (3, 7)
    assert model.encoder.body(x).shape == (3, 32, size // 8, size // 8)
    assert model.encoder.head.in_features == 32 * (size // 8) ** 2
    assert recon.min() >= 0 and recon.max() <= 1
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    stem_conv = model.encoder.body[0]
    assert (stem_conv.kernel_size, stem_conv.stride, stem_conv.bias) == ((3, 3), (1, 1), None)
    last_up, head = model.decoder.body[-5], model.decoder.body[-2]
    assert isinstance(last_up.skip, torch.nn.Identity)  # stage 4 keeps the resolution
    assert isinstance(head, torch.nn.Conv2d) and (head.kernel_size, head.stride) == ((3, 3), (1, 1))


def test_the_imagenet_stem_is_the_default():
    a, b = GuidedAutoencoder(16, 10, 64, width=4), GuidedAutoencoder(16, 10, 64, width=4, stem="imagenet")
    assert [tuple(p.shape) for p in a.parameters()] == [tuple(p.shape) for p in b.parameters()]
    assert isinstance(a.encoder.body[3], torch.nn.MaxPool2d)


@pytest.mark.parametrize(
    "stem,size,message",
    [("cifar", 36, "multiple of 8"), ("cifar", 4, "multiple of 8"), ("imagenet", 40, "multiple of 32"),
     ("resnet", 32, "one of")],
)  # fmt: skip
def test_sizes_the_stem_cannot_invert_fail_clearly(stem, size, message):
    with pytest.raises(LbrError, match=message):
        GuidedAutoencoder(16, 10, size, width=4, stem=stem)


def _task_and_batch(guidance, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    y = np.arange(16) % 4
    task = GuidanceTask((x, y), (x[:8], y[:8]), 4, guidance, VIEWS, torch.device("cpu"), 256, FLOAT32_EAGER)
    batch = task.train_batch(torch.arange(16), torch.Generator().manual_seed(seed))
    return task, batch, task.y


def _encoder_grads(model, loss):
    params = list(model.encoder.parameters())
    return [
        g if g is not None else torch.zeros_like(p)
        for p, g in zip(params, torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True))
    ]


def _model(guidance):
    torch.manual_seed(0)
    return GuidedAutoencoder(
        8, 4, 32, width=4, guidance=guidance, encoder_blocks=(1, 1, 1, 1), decoder_blocks=(1, 1, 1, 1)
    )


def test_guidance_zero_probes_do_not_touch_the_encoder():
    task, x, y = _task_and_batch(0.0)
    model = _model(0.0)
    out = task.losses(model, x, y)
    total = _encoder_grads(model, out["loss"])
    recon_only = _encoder_grads(model, out["recon"])
    for a, b in zip(total, recon_only):
        assert torch.equal(a, b)
    probe_grads = torch.autograd.grad(out["loss"], list(model.probes.parameters()))
    assert all(g.abs().sum() > 0 for g in probe_grads)  # the probes still learn


def test_positive_guidance_adds_g_times_the_probe_gradients():
    g = 0.01
    task, x, y = _task_and_batch(g)
    model = _model(g)
    out = task.losses(model, x, y)
    total = _encoder_grads(model, out["loss"])
    recon_only = _encoder_grads(model, out["recon"])
    probes = _encoder_grads(model, out["ce_linear"] + out["ce_mlp"])
    assert sum(p.abs().sum() for p in probes) > 0
    assert any(not torch.equal(a, b) for a, b in zip(total, recon_only))
    for t, r, p in zip(total, recon_only, probes):
        torch.testing.assert_close(t, r + g * p, atol=1e-7, rtol=1e-4)
