"""Datasets that need no network: scikit-learn's bundled digits and a seeded synthetic generator."""

from __future__ import annotations

import numpy as np

from lbr.errors import LbrError


def digits(test_fraction: float = 0.25, seed: int = 0) -> dict:
    """scikit-learn's 1,797 8x8 digits (values 0..16 scaled to 0..255), fixed stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise LbrError(f"datasets.digits.test_fraction must be in (0, 1), not {test_fraction}.")
    d = load_digits()
    x = np.round(d.images * (255 / 16)).astype(np.uint8)[..., None]
    y = d.target.astype(np.int64)
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed)
    return {
        "train": (x[np.sort(idx_tr)], y[np.sort(idx_tr)]),
        "test": (x[np.sort(idx_te)], y[np.sort(idx_te)]),
        "classes": [str(i) for i in range(10)],
    }


def _radial_frequency(h: int, w: int) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    return np.sqrt(fx**2 + fy**2)


def _pink_fields(rng: np.random.Generator, n: int, h: int, w: int, channels: int) -> np.ndarray:
    """Gaussian fields with power ~ 1/f^2 (natural-image statistics), channels sharing a luminance field."""
    amp = 1.0 / np.maximum(_radial_frequency(h, w), 1.0 / max(h, w))
    amp[0, 0] = 0.0

    def field(k: int) -> np.ndarray:
        spec = np.fft.fft2(rng.standard_normal((k, h, w)).astype(np.float32)) * amp
        return np.real(np.fft.ifft2(spec)).astype(np.float32)

    lum = field(n)
    out = np.empty((n, h, w, channels), np.float32)
    for c in range(channels):
        out[..., c] = lum + (0.35 * field(n) if channels > 1 else 0.0)
    return out / out.std()


def _gradient(h: int, w: int) -> np.ndarray:
    """A unit-std diagonal luminance gradient, the same on every channel (h x w x 1)."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    ramp = (0.8 * yy + 0.6 * xx)[..., None]
    return (ramp / ramp.std()).astype(np.float32)


def _class_templates(
    rng: np.random.Generator, n_classes: int, h: int, w: int, channels: int, band: float
) -> np.ndarray:
    """One unit-norm pattern per class, high-pass (radial frequency above `band` x Nyquist), mirror-symmetric."""
    mask = _radial_frequency(h, w) >= band * 0.5
    tpl = np.empty((n_classes, h, w, channels), np.float32)
    for c in range(n_classes):
        spec = np.fft.fft2(rng.standard_normal((h, w, channels)), axes=(0, 1)) * mask[..., None]
        p = np.real(np.fft.ifft2(spec, axes=(0, 1)))
        p = p + p[:, ::-1]
        tpl[c] = p / np.sqrt((p**2).mean())
    return tpl


def synthetic(
    n_train: int = 4000,
    n_test: int = 500,
    height: int = 32,
    width: int = 32,
    channels: int = 3,
    n_classes: int = 10,
    evidence: float = 0.05,
    band: float = 0.5,
    noise: float = 0.05,
    seed: int = 0,
    illumination: float = 0.0,
) -> dict:
    """Natural-image-like backgrounds plus class evidence that lives in low-variance, high-frequency directions.

    Pixels are 1/f^2 Gaussian fields (most variance in a few low-frequency directions, as in photographs);
    each class adds its own mirror-symmetric high-pass template, scaled by `evidence` relative to the
    background and by a random per-image gain; a little white noise keeps every direction non-degenerate.
    A classifier can therefore learn from the bottom subspace but hardly from the top one, which is the
    paper's claim made checkable on data that ships with the code. `illumination` > 0 adds one smooth illumination
    gradient shared by every image, with a random sign and a strength drawn from `illumination` x [0.5, 1.5] per
    image (relative to the background's std): the first principal direction then holds a larger share of the
    variance, as in photographs taken under changing light (a spectrum on which low top shares do not exist).
    """
    if n_classes < 2 or min(n_train, n_test) < n_classes:
        raise LbrError("datasets.synthetic needs n_classes >= 2 and at least one image per class in each split.")
    if not 0 < band < 1:
        raise LbrError(f"datasets.synthetic.band must be in (0, 1) (a fraction of the Nyquist frequency), not {band}.")
    rng = np.random.default_rng(seed)
    templates = _class_templates(rng, n_classes, height, width, channels, band)
    out = {"classes": [f"class{c}" for c in range(n_classes)]}
    for split, n in (("train", n_train), ("test", n_test)):
        y = np.arange(n) % n_classes
        rng.shuffle(y)
        x = _pink_fields(rng, n, height, width, channels)
        gain = rng.uniform(0.5, 1.5, size=(n, 1, 1, 1)).astype(np.float32)
        x += evidence * gain * templates[y]
        x += noise * rng.standard_normal(x.shape).astype(np.float32)
        if illumination:
            strength = rng.choice([-1.0, 1.0], size=(n, 1, 1, 1)) * rng.uniform(0.5, 1.5, size=(n, 1, 1, 1))
            x += (illumination * strength).astype(np.float32) * _gradient(height, width)
        out[split] = (np.clip(np.round(128 + 40 * x), 0, 255).astype(np.uint8), y.astype(np.int64))
    return out
