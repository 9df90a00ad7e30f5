"""Batched RandomResizedCrop / flip / grayscale / center crop against torchvision, sample by sample."""

import math

import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF

from lbr.training import resized_views as aug


def _images(n=12, h=40, w=48, seed=0):
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("size", [(32, 32), (64, 56), (17, 23)])
def test_resize_boxes_equals_torchvision_resized_crop(size):
    x = _images()
    boxes = aug.random_resized_boxes(len(x), 40, 48, torch.Generator().manual_seed(1), (0.08, 1.0))
    out = aug.resize_boxes(x, boxes, size)
    for i in range(len(x)):
        ref = TF.resized_crop(x[i], *boxes[i].tolist(), list(size), antialias=True)
        torch.testing.assert_close(out[i], ref, atol=2e-6, rtol=0)


def test_flip_mirrors_the_resized_crop():
    x = _images()
    boxes = aug.random_resized_boxes(len(x), 40, 48, torch.Generator().manual_seed(2), (0.3, 1.0))
    flip = torch.arange(len(x)) % 2 == 0
    out = aug.resize_boxes(x, boxes, (24, 24), flip)
    for i in range(len(x)):
        ref = TF.resized_crop(x[i], *boxes[i].tolist(), [24, 24], antialias=True)
        torch.testing.assert_close(out[i], TF.hflip(ref) if flip[i] else ref, atol=2e-6, rtol=0)


def test_random_boxes_stay_in_the_image_and_in_scale_and_ratio_ranges():
    h, w, scale, ratio = 64, 80, (0.5, 1.0), (3 / 4, 4 / 3)
    b = aug.random_resized_boxes(4000, h, w, torch.Generator().manual_seed(3), scale, ratio)
    top, left, bh, bw = b.T
    assert (top >= 0).all() and (left >= 0).all() and (top + bh <= h).all() and (left + bw <= w).all()
    area = (bh * bw).double() / (h * w)
    aspect = bw.double() / bh
    # box sides are rounded to whole pixels: allow the error of half a pixel on each side
    slack_area = (bh + bw).double() / (2 * h * w) + 0.25 / (h * w)
    assert (area >= scale[0] - slack_area).all() and (area <= scale[1] + slack_area).all()
    slack_ratio = aspect * (0.5 / bw + 0.5 / bh)
    assert (aspect >= ratio[0] - slack_ratio).all() and (aspect <= ratio[1] + slack_ratio).all()
    assert area.min() < 0.55 and area.max() > 0.95  # the whole range is used


def test_box_distribution_matches_torchvision_get_params():
    h, w, scale, ratio, n = 50, 70, (0.2, 1.0), (3 / 4, 4 / 3), 3000
    ours = aug.random_resized_boxes(n, h, w, torch.Generator().manual_seed(4), scale, ratio).double()
    torch.manual_seed(5)
    ref = torch.tensor(
        [T.RandomResizedCrop.get_params(torch.empty(3, h, w), list(scale), list(ratio)) for _ in range(n)]
    )
    ref = ref.double()
    for col in range(4):  # top, left, height, width: means agree within 5 standard errors
        se = math.sqrt(ours[:, col].var() / n + ref[:, col].var() / n)
        assert abs(ours[:, col].mean() - ref[:, col].mean()) < 5 * se + 1e-9, col


def test_fallback_is_torchvision_central_crop():
    # no (area, aspect) pair can fit: every draw falls back to the central crop with clamped aspect
    for h, w, ratio in [(40, 40, (2.0, 3.0)), (40, 100, (0.5, 1.5)), (90, 30, (0.8, 1.2))]:
        ref = T.RandomResizedCrop.get_params(torch.empty(3, h, w), [1.0, 1.0], list(ratio))
        ours = aug.random_resized_boxes(5, h, w, torch.Generator().manual_seed(0), (1.0, 1.0), ratio)
        assert all(tuple(r.tolist()) == ref for r in ours), (h, w, ratio, ours[0].tolist(), ref)


def test_center_view_is_resize_then_center_crop():
    x = _images(n=4, h=256, w=256)
    torch.testing.assert_close(aug.center_view(x, (224, 224), 0.875), TF.center_crop(x, [224, 224]), atol=1e-6, rtol=0)
    small = _images(n=4, h=32, w=32)
    ref = TF.resize(TF.center_crop(small, [28, 28]), [32, 32], antialias=True)
    torch.testing.assert_close(aug.center_view(small, (32, 32), 0.875), ref, atol=2e-6, rtol=0)
    torch.testing.assert_close(aug.center_view(small, (32, 32), 1.0), small, atol=1e-6, rtol=0)


def test_random_grayscale_matches_torchvision_and_rate():
    x = _images(n=4000, h=4, w=4)
    out = aug.random_grayscale(x, 0.2, torch.Generator().manual_seed(6))
    gray = (out - out[:, :1]).abs().amax((1, 2, 3)) == 0
    share = gray.double().mean().item()
    assert abs(share - 0.2) < 5 * math.sqrt(0.2 * 0.8 / len(x))
    i = int(torch.nonzero(gray)[0])
    torch.testing.assert_close(out[i], TF.rgb_to_grayscale(x[i], 3), atol=1e-6, rtol=0)
    j = int(torch.nonzero(~gray)[0])
    assert torch.equal(out[j], x[j])


def test_train_view_is_seeded_and_in_range():
    x = _images()
    a = aug.train_view(x, (32, 32), torch.Generator().manual_seed(7))
    b = aug.train_view(x, (32, 32), torch.Generator().manual_seed(7))
    c = aug.train_view(x, (32, 32), torch.Generator().manual_seed(8))
    assert a.shape == (12, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1 + 1e-6
