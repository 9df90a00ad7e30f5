"""The on-device crop/flip returns exactly windows of the padded image, and both flips occur."""

import torch
import torch.nn.functional as F

from lbr.training.crop_flip import crop_flip, random_crop


def _windows(padded: torch.Tensor, h: int, w: int) -> list[torch.Tensor]:
    return [
        padded[:, i : i + h, j : j + w] for i in range(padded.shape[1] - h + 1) for j in range(padded.shape[2] - w + 1)
    ]


def test_crop_is_a_window_of_the_reflect_padded_image():
    x = torch.arange(6 * 2 * 5 * 7, dtype=torch.float32).reshape(6, 2, 5, 7)
    gen = torch.Generator().manual_seed(0)
    out = random_crop(x, 2, gen)
    assert out.shape == x.shape
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    for n in range(len(x)):
        assert any(torch.equal(out[n], win) for win in _windows(padded[n], 5, 7))


def test_crop_offsets_cover_every_shift():
    x = torch.randn(4000, 1, 4, 4)
    gen = torch.Generator().manual_seed(1)
    out = random_crop(x, 1, gen, mode="constant")
    padded = F.pad(x, (1, 1, 1, 1))
    seen = set()
    for n in range(200):
        for k, win in enumerate(_windows(padded[n], 4, 4)):
            if torch.equal(out[n], win):
                seen.add(k)
    assert seen == set(range(9))


def test_crop_flip_gives_window_or_its_mirror():
    x = torch.randn(64, 3, 8, 8)
    gen = torch.Generator().manual_seed(2)
    out = crop_flip(x, 2, gen)
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    flipped = 0
    for n in range(len(x)):
        wins = _windows(padded[n], 8, 8)
        plain = any(torch.equal(out[n], win) for win in wins)
        mirrored = any(torch.equal(out[n], win.flip(2)) for win in wins)
        assert plain or mirrored
        flipped += mirrored and not plain
    assert 10 < flipped < 54
