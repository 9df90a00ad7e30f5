"""Fig. 1 draws its inputs: on top the seed means of the Fig. 4 table's rows for the configured dataset, arch and
augmentation (one line per side), in the middle the example images pixel for pixel, at the bottom the spectrum
panel of the configured dynamics run. The expected values are selected from hand-made tables with pandas."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from drawn import assert_curves

from lbr.errors import LbrError
from lbr.figures.overview import fig1

pytestmark = pytest.mark.usefixtures("close_figures")

TOP = {"dataset": "tinyimagenet", "arch": "resnet9", "aug": 1}
RUN = {"dataset": "tinyimagenet", "arch": "dcae", "depth": 3}
LEVELS = {"top": [0.5, 0.75, 0.9], "bottom": [0.1, 0.25, 0.5]}
SEED_OFFSETS = [0.0, 0.03, 0.09]  # mean 0.04: neither the median, the first, the min nor the max


def accuracy_table() -> pd.DataFrame:
    """fig4.csv: the plotted (dataset, arch, aug) among others that must not be drawn, three seeds per level."""
    rows = []
    for d, dataset in enumerate(("tinyimagenet", "cifar10")):
        for a, arch in enumerate(("resnet9", "mlp")):
            for aug in (0, 1):
                for side, shares in LEVELS.items():
                    for i, v in enumerate(shares):
                        for seed, offset in enumerate(SEED_OFFSETS):
                            acc = 0.3 + 0.2 * v * (side == "top") + 0.1 * (side == "bottom") + 0.05 * (d + a + aug)
                            rows.append({"dataset": dataset, "arch": arch, "side": side, "level": f"{side}{i}",
                                         "variance_kept": v, "aug": aug, "seed": seed, "test_acc": acc + offset,
                                         "n_classes": 200})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=0)


def dynamics_table(d: int = 12) -> pd.DataFrame:
    """fig1_dynamics.csv: the configured run and another depth that must not be drawn."""
    lam = np.logspace(0, -4, d)
    rows = []
    for depth in (3, 5):
        for e in (0, 4):
            for rank in range(1, d + 1):
                rows.append({"dataset": "tinyimagenet", "arch": "dcae", "depth": depth, "epoch": e, "k": d - rank,
                             "energy": lam[rank - 1] * (1 - 0.6 ** (e + depth + rank / d)),
                             "data_eigenvalue": lam[rank - 1]})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=1)


SUBS = [SimpleNamespace(side="bottom", variance_kept=0.25), SimpleNamespace(side="top", variance_kept=0.75)]
H, W = 5, 4


def example_tiles() -> np.ndarray:
    """Two images, each as [original, bottom, top]: 6 tiles of 5 x 4 x 3 in [0, 1], all different."""
    return np.random.default_rng(0).random((6, H, W, 3)).astype(np.float32)


def draw(acc=None, dyn=None):
    acc = accuracy_table() if acc is None else acc
    return fig1(acc, TOP, example_tiles(), SUBS, dynamics_table() if dyn is None else dyn, RUN)


def test_fig1_top_draws_the_seed_means_of_the_configured_rows():
    table = accuracy_table()
    ax = draw(table).axes[0]
    assert ax.get_title() == "TinyImagenet resnet9: test accuracy from the top vs the bottom subspace"
    mine = table[(table["dataset"] == "tinyimagenet") & (table["arch"] == "resnet9") & (table["aug"] == 1)]
    expected = []
    for side in ("top", "bottom"):
        means = (
            mine[mine["side"] == side]
            .groupby("level")[["variance_kept", "test_acc"]]
            .mean()
            .sort_values("variance_kept")
        )
        expected.append(100 * means.to_numpy())
    np.testing.assert_allclose(expected[0][:, 1], 100 * (0.3 + 0.2 * np.array(LEVELS["top"]) + 0.05 + 0.04))
    assert_curves(ax, expected)


def test_fig1_middle_shows_the_example_images_pixel_for_pixel():
    ax = draw().axes[1]
    assert ax.get_title() == "original  |  bottom 25% of the variance  |  top 75% of the variance"
    grid = np.asarray(ax.get_images()[0].get_array())
    tiles = example_tiles()
    assert grid.shape == (2 * (H + 1) + 1, 3 * (W + 1) + 1, 3)  # one white pixel around each tile
    for i, tile in enumerate(tiles):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(
            grid[1 + r * (H + 1) : 1 + r * (H + 1) + H, 1 + c * (W + 1) : 1 + c * (W + 1) + W], tile
        )
    assert (grid[0] == 1).all() and (grid[:, 0] == 1).all()


def test_fig1_bottom_draws_the_configured_dynamics_run():
    table = dynamics_table()
    ax = draw(dyn=table).axes[2]
    assert ax.get_title() == "Reconstruction energy per eigen-direction over epochs: TinyImagenet-DC-depth3"
    run = table[table["depth"] == 3]
    expected = [run[run["epoch"] == e].sort_values("k")[["k", "energy"]].to_numpy() for e in (0, 4)]
    expected.append(run[run["epoch"] == 0].sort_values("k")[["k", "data_eigenvalue"]].to_numpy())
    assert_curves(ax, expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["epoch 0", "epoch 4", "data"]


def test_fig1_refuses_tables_without_the_configured_rows():
    table = accuracy_table()
    with pytest.raises(
        LbrError, match=r"^results/tables/fig4.csv has no rows for tinyimagenet resnet9 aug=1; [^.]*\.$"
    ):
        draw(table[table["aug"] == 0])
    with pytest.raises(
        LbrError, match=r"^results/tables/fig1_dynamics.csv has no rows for tinyimagenet dcae depth 3; [^.]*\.$"
    ):
        draw(dyn=dynamics_table().query("depth == 5"))
