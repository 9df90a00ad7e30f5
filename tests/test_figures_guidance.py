"""Figs. 5 and 6 draw their tables: per latent, the seed means of the reconstruction loss (train and validation)
and of both probes' validation accuracy over epochs, the validation reconstructions pixel for pixel (Fig. 5), and
each (latent, guidance)'s seed-mean point of accuracy against reconstruction error (Fig. 6). The expected values
are computed from hand-made tables with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drawn import assert_curves, assert_points, lines, same

from lbr.errors import LbrError
from lbr.figures.guidance import fig5, fig6

pytestmark = pytest.mark.usefixtures("close_figures")

LATENTS = [8, 32]
WEIGHTS = [0.0, 0.01, 0.1]
SEED_OFFSETS = [0.0, 0.03, 0.09]  # mean 0.04: neither the median, the first, the min nor the max
TRAIN_EPOCHS, VALID_EPOCHS = [0, 1, 2, 3], [1, 2, 3]


def curves_table() -> pd.DataFrame:
    """fig5.csv: train rows every epoch, validation rows where evaluated, three seeds of every (latent, guidance)."""
    rows = []
    for latent in LATENTS:
        for g, weight in enumerate(WEIGHTS):
            for seed, off in enumerate(SEED_OFFSETS):
                for split, epochs in (("train", TRAIN_EPOCHS), ("valid", VALID_EPOCHS)):
                    for e in epochs:
                        recon = 1.0 / (e + 1) / latent + 0.01 * g + off / 10 + 0.002 * (split == "valid")
                        lin, mlp = 0.2 + 0.05 * e + 0.1 * g + off, 0.25 + 0.06 * e + 0.12 * g + off
                        rows.append({"dataset": "imagenette", "latent": latent, "guidance": weight, "seed": seed,
                                     "epoch": e, "split": split, "recon_loss": recon, "acc_linear": lin,
                                     "acc_mlp": mlp})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=0)


def recon(n: int = 4, h: int = 6, w: int = 5) -> list[dict]:
    """The saved validation inputs and each guidance weight's reconstructions of them (uint8, all different)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    return [{"x": x, "recon": rng.integers(0, 256, x.shape, dtype=np.uint8), "guidance": g} for g in WEIGHTS[:2]]


def seed_mean(part: pd.DataFrame, column: str, scale: float = 1.0) -> np.ndarray:
    means = part.groupby("epoch")[column].mean()
    return np.column_stack([means.index, scale * means.to_numpy()])


def test_fig5_draws_seed_mean_curves_per_latent():
    table = curves_table()
    fig = fig5(table, recon(), 8, 3)
    titled = {ax.get_title(): i for i, ax in enumerate(fig.axes)}
    for latent in LATENTS:
        i = titled[f"latent {latent}"]
        loss, acc = fig.axes[i], fig.axes[i + 1]  # each latent's loss panel, then its accuracy panel below it
        mine = table[table["latent"] == latent]
        by = {(g, s): part for (g, s), part in mine.groupby(["guidance", "split"])}
        assert_curves(loss, [seed_mean(part, "recon_loss") for part in by.values()])
        valid = [part for (_, s), part in by.items() if s == "valid"]
        assert_curves(acc, [seed_mean(p, c, 100) for p in valid for c in ("acc_linear", "acc_mlp")])
        assert loss.get_yscale() == "log"
    assert fig.axes[0].get_ylabel() == "reconstruction MSE" and fig.axes[1].get_ylabel() == "validation accuracy (%)"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"no guidance, train", "guidance 0.01, valid", "guidance 0.1, linear", "no guidance, MLP"} <= set(labels)


def test_fig5_shows_the_inputs_and_each_weights_reconstructions():
    saved = recon()
    ax = fig5(curves_table(), saved, 8, 3).axes[-1]
    assert ax.get_title() == "validation reconstructions, latent 8"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", "no guidance", "guidance 0.01"]
    grid = np.asarray(ax.get_images()[0].get_array())
    h, w = saved[0]["x"].shape[1:3]
    assert grid.shape == (3 * (h + 2), 3 * (w + 1) + 1, 3)  # three rows of three images, white gutters
    rows = [saved[0]["x"]] + [r["recon"] for r in saved]
    for r, images in enumerate(rows):
        for j in range(3):
            top, left = r * (h + 2) + 1, 1 + j * (w + 1)
            np.testing.assert_array_equal(grid[top : top + h, left : left + w], images[j] / np.float32(255))


def final_table() -> pd.DataFrame:
    """fig6.csv: the last validation row of each (latent, guidance, seed)."""
    table = curves_table()
    return table[(table["split"] == "valid") & (table["epoch"] == VALID_EPOCHS[-1])].sort_values(["latent", "guidance"])


def test_fig6_draws_each_latent_and_guidance_at_its_seed_means():
    table = final_table()
    fig = fig6(table)
    assert [ax.get_title() for ax in fig.axes] == ["linear probe", "MLP probe"]
    for ax, column in zip(fig.axes, ("acc_linear", "acc_mlp")):
        means = table.groupby(["latent", "guidance"])[["recon_loss", column]].mean() * [1, 100]
        assert_points(ax, means.to_numpy())
        for latent in LATENTS:  # the points of one latent are joined, in order of guidance
            joined = means.loc[latent].sort_index().to_numpy()
            assert sum(same(line, joined) for line in lines(ax)) == 1, latent
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "no guidance",
        "guidance 0.01",
        "guidance 0.1",
    ]


@pytest.mark.parametrize("draw", [lambda t: fig5(t, [], 8, 3), fig6], ids=["fig5", "fig6"])
def test_figs_5_and_6_refuse_a_table_without_rows_or_columns(draw):
    with pytest.raises(LbrError, match=r"^results/tables/fig[56].csv has no rows; [^.]*\.$"):
        draw(final_table().iloc[:0])
    with pytest.raises(LbrError, match=r"^results/tables/fig[56].csv lacks columns \['acc_mlp'\]; [^.]*\.$"):
        draw(final_table().drop(columns="acc_mlp"))
