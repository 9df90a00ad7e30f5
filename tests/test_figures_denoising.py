"""Fig. 10 draws its tables: per noise, the seed mean of the probe accuracy over epochs, the seed-mean epochs each
band needs (none drawn where a seed never captured it), and the measured change of the final accuracy against no
noise at Theorem 3's change of alignment. The expected values are computed from hand-made tables with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drawn import assert_points, lines, same

from lbr.errors import LbrError
from lbr.figures.denoising import fig10

pytestmark = pytest.mark.usefixtures("close_figures")

RUNS = [{"arch": "dcae", "depth": 3}]
NOISES = {  # label: (noise, ratio, patch, sigma, Theorem 3's impact)
    "none": ("none", np.nan, np.nan, np.nan, 0.0),
    "gaussian-0.5": ("gaussian", np.nan, np.nan, 0.5, 0.1),
    "mask-0.25-patch2": ("mask", 0.25, 2, np.nan, 3.0),
    "mask-0.5-patch2": ("mask", 0.5, 2, np.nan, 7.0),
}
SEED_OFFSETS = [0.0, 0.03, 0.09]  # mean 0.04: neither the median, the first, the min nor the max
EPOCHS = [-1, 0, 1, 2]  # probed: the untrained model and every epoch of 3
BAND_EIGENVALUES = [1.0, 1e-2, 1e-4]


def probe_table() -> pd.DataFrame:
    """fig10.csv: the drawn run (synthetic, dcae 3) and one that is not (mlpae 2), three seeds per noise."""
    rows = []
    for arch, depth in (("dcae", 3), ("mlpae", 2)):
        for n, (label, (noise, ratio, patch, sigma, impact)) in enumerate(NOISES.items()):
            for seed, off in enumerate(SEED_OFFSETS):
                for e in EPOCHS:
                    acc = 0.1 + 0.1 * (e + 1) + 0.05 * n * (e + 1) / 3 + off * (1 + n) + 0.2 * (arch == "mlpae")
                    rows.append({"dataset": "synthetic", "arch": arch, "depth": depth, "noise": noise, "ratio": ratio,
                                 "patch": patch, "sigma": sigma, "noise_label": label, "seed": seed, "epoch": e,
                                 "probe_acc": acc, "trained_epochs": 3, "code_size": 8, "K": 8, "K_capped": False,
                                 "rank": 192, "theory_impact_pct": impact})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=0)


def capture(n: int, seed: int, band: int) -> float:
    """The epoch a seed's band is first captured; the last band under the strongest mask: seed 2 never."""
    if (n, seed, band) == (3, 2, 2):
        return np.nan
    return float(min(2, band + (seed * (n + 1)) % 3 // 2 + (n == 1))) - (band == 0)  # -1: at init


def bands_table() -> pd.DataFrame:
    """fig10_bands.csv: per run, noise, seed, measured epoch and band, the epoch the band is first captured."""
    rows = []
    for arch, depth in (("dcae", 3), ("mlpae", 2)):
        for n, label in enumerate(NOISES):
            for seed in range(len(SEED_OFFSETS)):
                for b, lam in enumerate(BAND_EIGENVALUES):
                    for e in EPOCHS:
                        rows.append({"dataset": "synthetic", "arch": arch, "depth": depth, "noise_label": label,
                                     "seed": seed, "epoch": e, "band": b, "band_eigenvalue": lam,
                                     "capture_epoch": capture(n, seed, b) + (arch == "mlpae")})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=1)


def draw(table=None, bands=None):
    table = probe_table() if table is None else table
    return fig10(table, bands_table() if bands is None else bands, ["synthetic"], RUNS)


def test_fig10_panels_are_titled_by_run_and_noise():
    fig = draw()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "synthetic-DC-depth3: linear probe of the code",
        "synthetic-DC-depth3: learning time per band",
        "synthetic-DC-depth3: after 3 epochs, vs the linear theory",
    ]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(legend) == ["Gaussian sigma 0.5", "mask 0.25, 2x2 patches", "mask 0.5, 2x2 patches", "none"]


def test_fig10_probe_panel_draws_the_seed_mean_of_each_noise():
    table = probe_table()
    mine = table[table["arch"] == "dcae"]
    ax = draw(table).axes[0]
    for label in NOISES:
        means = mine[mine["noise_label"] == label].groupby("epoch")["probe_acc"].mean()
        want = np.column_stack([means.index + 1, 100 * means.to_numpy()])
        assert sum(same(line, want) for line in lines(ax)) == 1, label
    assert len(lines(ax)) == len(NOISES)


def test_fig10_bands_panel_draws_seed_mean_epochs_and_leaves_out_bands_a_seed_never_captured():
    bands = bands_table()
    mine = bands[(bands["arch"] == "dcae") & (bands["epoch"] == 0)]
    ax = draw(bands=bands).axes[1]
    drawn = lines(ax)
    assert len(drawn) == len(NOISES)
    for label in NOISES:
        per_band = mine[mine["noise_label"] == label].groupby("band")["capture_epoch"]
        need = (per_band.mean() + 1).where(per_band.count() == len(SEED_OFFSETS)).to_numpy()
        hits = [line for line in drawn if same(line[:, 1], need)]
        assert len(hits) == 1, (label, need)
        dodge = hits[0][:, 0] / BAND_EIGENVALUES  # noises side by side: one factor per noise, close to 1
        assert np.ptp(dodge) < 1e-9 and 0.7 < dodge[0] < 1.4
    assert sum(np.isnan(line[:, 1]).sum() for line in drawn) == 1  # mask 0.5, last band: seed 2 never
    never = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    assert len(never) == 1 and never[0, 1] == 3 * 1.6  # an open marker above the 3 epochs trained
    assert 0.7 < never[0, 0] / BAND_EIGENVALUES[2] < 1.4


def test_fig10_theory_panel_draws_the_change_of_the_final_accuracy_against_no_noise():
    table = probe_table()
    final = table[(table["arch"] == "dcae") & (table["epoch"] == 2)]
    acc = final.groupby("noise_label")["probe_acc"].mean()
    ax = draw(table).axes[2]
    for label, (*_, impact) in NOISES.items():
        assert_points(ax, [impact, 100 * (acc[label] - acc["none"])])
    assert ax.get_xlabel() == "Theorem 3: change of alignment (%) at K = 8"


def test_fig10_refuses_tables_without_the_run_or_without_rows():
    table, bands = probe_table(), bands_table()
    with pytest.raises(LbrError, match=r"^results/tables/fig10.csv has no rows for synthetic dcae depth 3; [^.]*\.$"):
        draw(table=table[table["arch"] != "dcae"])
    with pytest.raises(LbrError, match=r"^results/tables/fig10_bands.csv has no rows for synthetic dcae depth 3; "):
        draw(bands=bands[bands["arch"] != "dcae"])
    with pytest.raises(LbrError, match=r"^results/tables/fig10.csv has no rows; [^.]*\.$"):
        draw(table=table.iloc[:0])
    with pytest.raises(LbrError, match=r"^results/tables/fig10_bands.csv has no rows; [^.]*\.$"):
        draw(bands=bands.iloc[:0])
