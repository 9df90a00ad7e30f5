"""Fig. 3 draws its tables: page 1, one spectrum panel per run (a line per plotted epoch through the energy of
each eigen-direction, and the data's eigenvalues); page 2, the epochs each band needs against its eigenvalue and
each band's captured share over epochs. The expected curves are selected from hand-made tables with pandas."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from drawn import assert_curves, lines, points

from lbr.errors import LbrError
from lbr.figures.dynamics import fig3_bands, fig3_spectra

D = 12
EPOCHS = [0, 2, 5]
RUNS = [{"arch": "dcae", "depth": 3}, {"arch": "mlpae", "depth": 5}]
TITLES = ["CIFAR-DC-depth3", "CIFAR-MLP-depth5"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def directions_table() -> pd.DataFrame:
    """fig3.csv: per run, epoch and direction (k ascending eigenvalue = D - rank), energies that differ by run
    and epoch, plus a run of another dataset that must not be drawn; rows shuffled."""
    lam = np.logspace(0, -5, D)  # by rank 1..D
    rows = []
    for dataset, shift in (("cifar10", 0.0), ("cifar100", 0.5)):
        for r, run in enumerate(RUNS):
            for e in EPOCHS:
                for rank in range(1, D + 1):
                    share = 1 - 0.5 ** (e + 1 + r + rank / D + shift)
                    rows.append({"dataset": dataset, **run, "epoch": e, "k": D - rank, "rank": rank,
                                 "energy": lam[rank - 1] * share, "data_eigenvalue": lam[rank - 1]})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=0)


def test_each_spectrum_panel_draws_its_runs_energies_and_the_data():
    table = directions_table()
    fig = fig3_spectra(table, "cifar10", RUNS)
    assert [ax.get_title() for ax in fig.axes] == TITLES
    for ax, run in zip(fig.axes, RUNS):
        mine = table[
            (table["dataset"] == "cifar10") & (table["arch"] == run["arch"]) & (table["depth"] == run["depth"])
        ]
        by_epoch = [mine[mine["epoch"] == e].sort_values("k") for e in EPOCHS]
        expected = [part[["k", "energy"]].to_numpy() for part in by_epoch]
        expected.append(by_epoch[0][["k", "data_eigenvalue"]].to_numpy())
        assert_curves(ax, expected)
        assert ax.get_yscale() == "log"
        colours = {tuple(np.round(line.get_xydata()[:, 1], 12)): line.get_color() for line in ax.get_lines()}
        first, last = (colours[tuple(np.round(part["energy"].to_numpy(), 12))] for part in (by_epoch[0], by_epoch[-1]))
        assert first[0] > first[2] and last[2] > last[0]  # first epoch red, last blue (the authors' colours)
        assert_curves(ax.child_axes[0], expected)  # the inset zooms on the same lines
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [f"epoch {e}" for e in EPOCHS] + ["data"]


def test_a_run_missing_from_the_spectrum_table_is_one_sentence():
    table = directions_table()
    table = table[table["arch"] != "mlpae"]
    with pytest.raises(LbrError, match=r"^results/tables/fig3.csv has no rows for cifar10 mlpae depth 5; [^.]*\.$"):
        fig3_spectra(table, "cifar10", RUNS)


BAND_EIGENVALUES = [1.0, 1e-2, 1e-4, 1e-6]
MEASURED = [-1, 0, 1, 2, 3, 4, 5]  # -1: the untrained model
THRESHOLD = 0.9


def captured(run: int, band: int, epoch: int) -> float:
    """The share captured: bands learned one after another, run 1 faster; the last band of run 0 never."""
    if run == 0 and band == 3:
        return 0.1
    return min(1.0, max(0.0, (epoch + 1 + run) / (band + 1) * 0.5))


def bands_table() -> pd.DataFrame:
    """fig3_bands.csv: per run, measured epoch and band, its captured share and first epoch at the threshold."""
    rows = []
    for r, run in enumerate(RUNS):
        for b, lam in enumerate(BAND_EIGENVALUES):
            reached = [e for e in MEASURED if captured(r, b, e) >= THRESHOLD]
            first = reached[0] if reached else np.nan
            for e in MEASURED:
                share = captured(r, b, e)
                rows.append({"dataset": "cifar10", **run, "epoch": e, "band": b, "band_eigenvalue": lam,
                             "captured": share, "threshold": THRESHOLD, "capture_epoch": first})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=1)


def test_the_band_page_draws_capture_epochs_and_captured_shares():
    table = bands_table()
    fig = fig3_bands(table, "cifar10", RUNS)
    main, *small = fig.axes[: 1 + len(RUNS)]
    trained = 6
    assert main.get_title() == f"Learning time vs eigenvalue (open: not reached in {trained} epochs)"
    assert "90%" in main.get_ylabel()
    expected = []
    for r in range(len(RUNS)):
        needed = [1 + next((e for e in MEASURED if captured(r, b, e) >= THRESHOLD), np.nan) for b in range(4)]
        expected.append(np.column_stack([BAND_EIGENVALUES, needed]))
    assert_curves(main, expected)
    assert [t.get_text() for t in main.get_legend().get_texts()] == TITLES
    never = points(main)[-1:]  # the open marker of run 0's last band, above the epochs trained
    np.testing.assert_allclose(never, [[BAND_EIGENVALUES[3], trained * 1.6]])
    for ax, r, title in zip(small, range(len(RUNS)), TITLES):
        assert ax.get_title() == title
        curves = [np.array([[e + 1, captured(r, b, e)] for e in MEASURED]) for b in range(4)]
        assert_curves(ax, curves)
        assert [line.get_ydata()[0] for line in ax.get_lines() if len(line.get_xdata()) == 2] == [THRESHOLD]
    assert len(lines(main)) == len(RUNS)


def test_a_run_missing_from_the_band_table_or_an_empty_one_is_one_sentence():
    table = bands_table()
    with pytest.raises(LbrError, match=r"^results/tables/fig3_bands.csv has no rows for cifar10 dcae depth 3; "):
        fig3_bands(table[table["arch"] != "dcae"], "cifar10", RUNS)
    with pytest.raises(LbrError, match=r"^results/tables/fig3_bands.csv has no rows; [^.]*\.$"):
        fig3_bands(table.iloc[:0], "cifar10", RUNS)
