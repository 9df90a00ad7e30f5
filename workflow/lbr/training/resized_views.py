"""Batched on-device RandomResizedCrop, horizontal flip, random grayscale and center crop.

Every image of a batch gets its own box, and the crop-and-resize of all of them is two batched matmuls:
out[n] = Wy[n] @ x[n] @ Wx[n]^T, where Wy[n] (out_h x H) and Wx[n] (out_w x W) are the separable
interpolation weights of that box. The weights are those of PIL's and torchvision's antialiased bilinear
resize (`resized_crop(..., antialias=True)`, the default on tensors): a triangle filter widened by the
downscale factor, truncated at the crop's border and renormalised. So the result equals
`torchvision.transforms.functional.resized_crop` on float images, sample by sample, without per-sample
Python; a horizontal flip is a reversal of Wx's rows (free). The arithmetic runs in float32 with autocast
off, whatever the caller's autocast, so bf16 training does not quantise the inputs.
"""

from __future__ import annotations

import math

import torch

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision rgb_to_grayscale (ITU-R 601-2 luma)


def resize_weights(start: torch.Tensor, length: torch.Tensor, in_size: int, out_size: int) -> torch.Tensor:
    """Weights (N x out_size x in_size) resizing the window [start, start+length) of each row to out_size.

    Antialiased bilinear as PIL/torchvision: output pixel i is centred at c = (i + 0.5) * scale in window
    coordinates (scale = length / out_size); input pixel q weighs tri((q - c + 0.5) / max(scale, 1)) with
    tri(t) = max(0, 1 - |t|), restricted to the window and normalised to sum to 1.
    """
    dev = start.device
    start = start.to(torch.float32)[:, None, None]
    length = length.to(torch.float32)[:, None, None]
    scale = length / out_size
    support = torch.clamp(scale, min=1.0)
    centre = (torch.arange(out_size, device=dev, dtype=torch.float32)[None, :, None] + 0.5) * scale
    q = torch.arange(in_size, device=dev, dtype=torch.float32)[None, None, :] - start
    w = torch.clamp(1.0 - ((q - centre + 0.5) / support).abs(), min=0.0)
    w = w * ((q >= 0) & (q < length))
    return w / w.sum(-1, keepdim=True).clamp(min=1e-12)


def resize_boxes(
    x: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int], flip: torch.Tensor | None = None
) -> torch.Tensor:
    """Crop box (top, left, height, width) of each N x C x H x W image, resize to `size`, mirror where `flip`."""
    n, c, h, w = x.shape
    out_h, out_w = size
    with torch.autocast(device_type=x.device.type, enabled=False):
        wy = resize_weights(boxes[:, 0], boxes[:, 2], h, out_h)
        wx = resize_weights(boxes[:, 1], boxes[:, 3], w, out_w)
        if flip is not None:
            wx = torch.where(flip[:, None, None], wx.flip(1), wx)
        rows = torch.matmul(wy[:, None], x.float())
        return torch.matmul(rows, wx[:, None].transpose(-1, -2))


def random_resized_boxes(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    attempts: int = 10,
) -> torch.Tensor:
    """Boxes (N x 4 int64: top, left, height, width) drawn as torchvision's RandomResizedCrop.get_params.

    Each image tries `attempts` (area fraction, log-uniform aspect) pairs, keeps the first that fits, and
    falls back to the central crop with the aspect clamped to `ratio`, all vectorised over the batch.
    """
    dev = generator.device
    area = height * width
    u_scale = torch.rand(n, attempts, device=dev, generator=generator)
    u_ratio = torch.rand(n, attempts, device=dev, generator=generator)
    target = area * (scale[0] + (scale[1] - scale[0]) * u_scale)
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * u_ratio)
    bw = torch.round(torch.sqrt(target * aspect))
    bh = torch.round(torch.sqrt(target / aspect))
    ok = (bw > 0) & (bw <= width) & (bh > 0) & (bh <= height)
    first = torch.argmax(ok.to(torch.int8), dim=1)
    found = ok.any(1)
    pick = lambda t: t.gather(1, first[:, None])[:, 0]  # noqa: E731
    bw, bh = pick(bw), pick(bh)
    fb_h, fb_w = _fallback_box(height, width, ratio)
    bh = torch.where(found, bh, torch.full_like(bh, fb_h)).long()
    bw = torch.where(found, bw, torch.full_like(bw, fb_w)).long()
    u_top = torch.rand(n, device=dev, generator=generator)
    u_left = torch.rand(n, device=dev, generator=generator)
    top = torch.floor(u_top * (height - bh + 1)).long()
    left = torch.floor(u_left * (width - bw + 1)).long()
    top = torch.where(found, torch.minimum(top, height - bh), (height - bh) // 2)
    left = torch.where(found, torch.minimum(left, width - bw), (width - bw) // 2)
    return torch.stack([top, left, bh, bw], dim=1)


def _fallback_box(height: int, width: int, ratio: tuple[float, float]) -> tuple[int, int]:
    in_ratio = width / height
    if in_ratio < min(ratio):
        return int(round(width / min(ratio))), width
    if in_ratio > max(ratio):
        return height, int(round(height * max(ratio)))
    return height, width


def center_box(n: int, height: int, width: int, fraction: float, device) -> torch.Tensor:
    """The central box covering `fraction` of each side (Resize(s/fraction) + CenterCrop(s) in one step).

    Side = round(fraction * side), placed as torchvision's center_crop (offsets rounded from the centre).
    """
    ch, cw = max(1, int(round(height * fraction))), max(1, int(round(width * fraction)))
    top, left = int(round((height - ch) / 2.0)), int(round((width - cw) / 2.0))
    return torch.tensor([top, left, ch, cw], device=device).expand(n, 4)


def random_grayscale(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Replace each RGB image by its luma (repeated on 3 channels) with probability p."""
    gray_on = torch.rand(x.shape[0], device=x.device, generator=generator) < p
    if x.shape[1] != 3 or p <= 0:
        return x
    w = torch.tensor(GRAY_WEIGHTS, device=x.device, dtype=x.dtype)[None, :, None, None]
    luma = (x * w).sum(1, keepdim=True).expand_as(x)
    return torch.where(gray_on[:, None, None, None], luma, x)


def train_view(
    x: torch.Tensor,
    size: tuple[int, int],
    generator: torch.Generator,
    scale: tuple[float, float] = (0.5, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip_p: float = 0.5,
    gray_p: float = 0.2,
) -> torch.Tensor:
    """RandomResizedCrop(size, scale, ratio) -> RandomHorizontalFlip(flip_p) -> RandomGrayscale(gray_p).

    `x` is N x C x H x W with values in [0, 1] (any dtype); the result is float32 N x C x size.
    """
    n, _, h, w = x.shape
    boxes = random_resized_boxes(n, h, w, generator, scale, ratio)
    flip = torch.rand(n, device=x.device, generator=generator) < flip_p
    out = resize_boxes(x, boxes, size, flip)
    return random_grayscale(out, gray_p, generator)


def center_view(x: torch.Tensor, size: tuple[int, int], fraction: float) -> torch.Tensor:
    """Central `fraction` of each side, resized to `size` (identity when it already is that size)."""
    n, _, h, w = x.shape
    return resize_boxes(x, center_box(n, h, w, fraction, x.device), size)
