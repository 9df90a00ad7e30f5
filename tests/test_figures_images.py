"""Figs. 9 and 1 (middle) show projected images as the authors' pca_figure.py did (projection of the centred
image, train mean added back, each image min-max scaled), or the projection alone one key away. Checked
against an independent NumPy computation on a tiny eigenbasis built by the real spectrum code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lbr.config.load import load
from lbr.errors import LbrError
from lbr.figures.images import example_images, projected_views
from lbr.spectral.eigenbasis import compute
from lbr.spectral.subspaces import resolve

H, W, C = 4, 5, 2


@pytest.fixture(scope="module")
def data():
    """Images with a structured mean (a ramp), so that adding the mean back changes what is shown."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 150, H * W * C).reshape(H, W, C)
    x = np.clip(ramp + rng.normal(0, 40, (120, H, W, C)) + 40, 0, 255).astype(np.uint8)
    spectrum = compute(x, torch.device("cpu"))
    subs = [resolve(spectrum["eigenvalues"], "bottom", "0.25"), resolve(spectrum["eigenvalues"], "top", "0.75")]
    return x, spectrum, subs


def authors_display(x: np.ndarray, sub, with_mean: bool) -> np.ndarray:
    """pca_figure.py on our preprocessing, in NumPy: eigh of the centred rows (ascending), the `dims` lowest
    (bottom) or highest (top) eigenvectors, projection of the centred rows, + mean, per-image min-max."""
    rows = x.reshape(len(x), -1) / 255.0
    rows = rows / (rows.std(1, keepdims=True) + 1e-6)
    mean = rows.mean(0)
    centred = rows - mean
    _, vecs = np.linalg.eigh(centred.T @ centred)
    v = vecs[:, : sub.dims] if sub.side == "bottom" else vecs[:, -sub.dims :]
    shown = centred @ v @ v.T + (mean if with_mean else 0)
    lo, hi = shown.min(1, keepdims=True), shown.max(1, keepdims=True)
    return ((shown - lo) / (hi - lo)).reshape(x.shape)


@pytest.mark.parametrize("display", ["with_mean", "without_mean"])
def test_projected_views_match_an_independent_computation(data, display):
    x, spectrum, subs = data
    chosen = x[:7]
    views = projected_views(chosen, spectrum, subs, display)
    for sub, view in zip(subs, views):
        np.testing.assert_allclose(view, authors_display(x, sub, display == "with_mean")[:7], atol=2e-4)


def test_adding_the_mean_back_changes_what_is_shown(data):
    x, spectrum, subs = data
    with_mean, without = (projected_views(x[:7], spectrum, subs, d) for d in ("with_mean", "without_mean"))
    assert all(np.abs(a - b).max() > 0.1 for a, b in zip(with_mean, without))


def test_fig1_middle_uses_the_same_display(data):
    x, spectrum, subs = data
    tiles = example_images(x, spectrum, subs, [3, 5], "with_mean").reshape(2, 3, H, W, C)
    np.testing.assert_array_equal(tiles[:, 0], x[[3, 5]] / np.float32(255))
    for i, view in enumerate(projected_views(x[[3, 5]], spectrum, subs, "with_mean"), start=1):
        np.testing.assert_array_equal(tiles[:, i], view)


def test_authors_display_is_the_default_and_unknown_displays_are_refused(data):
    config = load()
    assert config["fig9"]["display"] == config["fig1"]["display"] == "with_mean"
    x, spectrum, subs = data
    with pytest.raises(LbrError, match="fig1/fig9.display must be one of"):
        projected_views(x[:2], spectrum, subs, "authors")
