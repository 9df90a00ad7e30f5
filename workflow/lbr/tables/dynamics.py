"""Learning-dynamics tables (Figs. 3 and 1-bottom) from a run's energies file: energy per eigen-direction per
epoch, and per log-spaced band the share of its variance captured and the epoch it is first learned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lbr.errors import LbrError


def load_energies(path: str | Path) -> dict:
    """Read an energies file written by `lbr.training.dynamics.run`."""
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    out["arch"] = str(out["arch"])
    if "train_subset" in out:  # stored as -1 for null, the whole split
        out["train_subset"] = None if int(out["train_subset"]) < 0 else int(out["train_subset"])
        out["subset_sha"] = str(out["subset_sha"])
    return out


def band_edges(d: int, n_bands: int) -> np.ndarray:
    """Rank boundaries of log-spaced bands of eigen-directions: band b holds ranks [edges[b], edges[b+1])."""
    if n_bands < 1:
        raise LbrError(f"the number of eigen-direction bands must be at least 1, not {n_bands}.")
    edges = np.unique(np.round(np.geomspace(1, d + 1, n_bands + 1)).astype(np.int64)) - 1
    edges[0], edges[-1] = 0, d
    return edges


def band_statistics(
    eigenvalues: np.ndarray, energy: np.ndarray, error: np.ndarray, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Per band (and per measured epoch, the leading axis of energy/error): the share of its variance captured.

    captured     = 1 - sum_band error_k / sum_band eigenvalue_k (1 = reconstructed exactly in that band);
    energy_ratio = sum_band energy_k / sum_band eigenvalue_k (the authors' statistic, summed over the band;
                   it can reach 1 with a wrong reconstruction, so `captured` decides when a band is learned).
    """
    energy, error = np.atleast_2d(energy), np.atleast_2d(error)
    lo, hi = edges[:-1], edges[1:]
    variance = np.add.reduceat(eigenvalues, lo)
    safe = np.where(variance > 0, variance, np.nan)
    return {
        "rank_lo": lo,
        "rank_hi": hi,
        "n_directions": hi - lo,
        "band_variance": variance,
        "band_eigenvalue": variance / (hi - lo),
        "captured": 1.0 - np.add.reduceat(error, lo, axis=1) / safe,
        "energy_ratio": np.add.reduceat(energy, lo, axis=1) / safe,
    }


def capture_epochs(captured: np.ndarray, epochs: np.ndarray, threshold: float = 0.9) -> np.ndarray:
    """First measured epoch at which each band's captured share reaches `threshold` (NaN if it never does).

    captured is (epochs x bands) in the order of `epochs`; an epoch of -1 stands for the untrained model.
    """
    order = np.argsort(epochs)
    reached = captured[order] >= threshold
    first = np.argmax(reached, axis=0)
    out = np.asarray(epochs, dtype=np.float64)[order][first]
    out[~reached.any(axis=0)] = np.nan
    return out


# Tidy tables -------------------------------------------------------------------------------------------------


def direction_table(result: dict, epochs: list[int]) -> pd.DataFrame:
    """One row per (epoch, eigen-direction): k is the authors' x-axis (ascending eigenvalue, 0..D-1)."""
    lam = result["eigenvalues"]
    d = len(lam)
    measured = {int(e): i for i, e in enumerate(result["epochs"])}
    missing = [e for e in epochs if e not in measured]
    if missing:
        raise LbrError(f"epochs {missing} were not measured in this run; plot only epochs below dynamics.epochs.")
    rank = np.arange(d)
    frames = [
        pd.DataFrame(
            {
                "epoch": e,
                "k": d - 1 - rank,
                "rank": rank + 1,
                "energy": result["energy"][measured[e]],
                "error": result["error"][measured[e]],
                "data_eigenvalue": lam,
            }
        )
        for e in epochs
    ]
    return pd.concat(frames, ignore_index=True)


def band_table(result: dict, n_bands: int, threshold: float) -> pd.DataFrame:
    """One row per (measured epoch, band) with the band's captured share and the epoch it first reaches `threshold`."""
    lam = result["eigenvalues"]
    edges = band_edges(len(lam), n_bands)
    st = band_statistics(lam, result["energy"], result["error"], edges)
    epochs = np.asarray(result["epochs"])
    first = capture_epochs(st["captured"], epochs, threshold)
    n_b = len(edges) - 1
    frames = [
        pd.DataFrame(
            {
                "epoch": int(e),
                "band": np.arange(n_b),
                "rank_lo": st["rank_lo"] + 1,
                "rank_hi": st["rank_hi"],
                "n_directions": st["n_directions"],
                "band_eigenvalue": st["band_eigenvalue"],
                "data_eigenvalue": st["band_eigenvalue"],
                "captured": st["captured"][i],
                "energy_ratio": st["energy_ratio"][i],
                "threshold": threshold,
                "capture_epoch": first,
            }
        )
        for i, e in enumerate(epochs)
    ]
    return pd.concat(frames, ignore_index=True)


def run_tables(
    paths: list[str], runs: list[dict], dataset: str, epochs: list[int], n_bands: int | None, threshold: float | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The direction table of the runs (and their band table when `n_bands` is given), one run per path,
    led by the columns dataset, arch, depth."""
    directions, bands = [], []
    for path, r in zip(paths, runs, strict=True):
        result = load_energies(path)
        key = {"dataset": dataset, "arch": r["arch"], "depth": int(r["depth"])} | run_scale(result)
        directions.append(direction_table(result, list(epochs)).assign(**key))
        if n_bands is not None:
            bands.append(band_table(result, n_bands, threshold).assign(**key))
    return _lead(directions), (_lead(bands) if bands else None)


def run_scale(result: dict) -> dict:
    """What a run was trained on, as table columns (older energies files lack some)."""
    names = ("latent", "n_train", "n_images", "trained_epochs")
    return {k: int(result[k]) for k in names if k in result}


def _lead(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True)
    lead = ["dataset", "arch", "depth"]
    return table[lead + [c for c in table if c not in lead]]
