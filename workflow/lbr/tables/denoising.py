"""Fig. 10 tables from the denoising runs' energies files and Theorem 3's alignment per noise and K.

fig10.csv: one row per (run, probed epoch): the probe's test accuracy and the reconstruction MSE of clean
training images, beside the linear theory at K = the run's code size (flattened `encode` output), capped at the
rank of the training images (a linear code of more than rank dimensions keeps everything, so the theory there is
that of K = rank; `K_capped` says when). fig10_bands.csv: the Fig. 3 band table of every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lbr.errors import LbrError
from lbr.scorecard.stats import difference
from lbr.tables.dynamics import band_table, load_energies, run_scale
from lbr.theory.noise import NoiseSpec

LEAD = ["dataset", "arch", "depth", "noise", "ratio", "patch", "sigma", "noise_label", "seed"]
THEORY = {"alignment": "theory_alignment", "impact_pct": "theory_impact_pct",
          "alignment_code": "theory_alignment_code", "impact_pct_code": "theory_impact_pct_code"}  # fmt: skip


def run_key(run: dict) -> dict:
    """The leading columns of a run: dataset, arch, depth, the noise's columns and label, seed."""
    spec = NoiseSpec.from_label(run["noise"])
    return {"dataset": run["dataset"], "arch": run["arch"], "depth": int(run["depth"]), **spec.columns(),
            "noise_label": spec.label, "seed": int(run["seed"])}  # fmt: skip


def theory_at(theory: pd.DataFrame, dataset: str, label: str, code_size: int) -> dict:
    """Theorem 3's columns of (dataset, noise) at K = min(code_size, rank)."""
    rows = theory[(theory["dataset"] == dataset) & (theory["noise_label"] == label)]
    if rows.empty:
        raise LbrError(f"the Theorem 3 table has no rows for {dataset} under noise {label}; rebuild it.")
    rank = int(rows["rank"].iloc[0])
    k = min(int(code_size), rank)
    row = rows[rows["K"] == k]
    if len(row) != 1:
        raise LbrError(f"the Theorem 3 table of {dataset} ({label}) lacks K = {k}; rebuild it.")
    row = row.iloc[0]
    return {"code_size": int(code_size), "K": k, "K_capped": code_size > rank, "rank": rank} | {
        new: float(row[old]) for old, new in THEORY.items()
    }


def probe_rows(result: dict, run: dict, theory: pd.DataFrame) -> pd.DataFrame:
    """The probed epochs of one run, with its key, scale and the theory at its code size."""
    if "probe_acc" not in result:
        raise LbrError(f"the energies file of {run} holds no probe; it was not written by a Fig. 10 run.")
    measured = {int(e): i for i, e in enumerate(result["epochs"])}
    epochs = [int(e) for e in result["probe_epochs"]]
    d = result["error"].shape[1]
    mse = [float(result["error"][measured[e]].sum()) / d if e in measured else np.nan for e in epochs]
    frame = pd.DataFrame({"epoch": epochs, "probe_acc": result["probe_acc"], "recon_mse": mse})
    key = run_key(run)
    extra = theory_at(theory, key["dataset"], key["noise_label"], int(result["n_features"]))
    extra |= {"probe_ridge": float(result["probe_ridge"])} | run_scale(result)
    return frame.assign(**key, **extra)


def fig10_tables(
    paths: list[str], runs: list[dict], theory: pd.DataFrame, n_bands: int, threshold: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fig10.csv, fig10_bands.csv) of the runs, one energies file per run."""
    probes, bands = [], []
    for path, run in zip(paths, runs, strict=True):
        result = load_energies(path)
        probes.append(probe_rows(result, run, theory))
        bands.append(band_table(result, n_bands, threshold).assign(**run_key(run), **run_scale(result)))
    return _lead(probes), _lead(bands)


def _lead(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True).astype({"patch": "Int64"})
    return table[LEAD + [c for c in table if c not in LEAD]]


def final_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, arch, depth, noise): the probe accuracy after the last trained epoch over seeds (mean, seeds)
    and its change against no noise with the 95% interval of that change (`delta`, `delta_lo`, `delta_hi`, accuracy
    units): paired by seed when both noises ran the same seeds (t on the differences), Welch's t otherwise; NaN
    bounds with one seed."""
    runs = ["dataset", "arch", "depth", "noise_label", "seed"]
    last = table["trained_epochs"] - 1 if "trained_epochs" in table else table.groupby(runs)["epoch"].transform("max")
    final = table[table["epoch"] == last]
    keys = ["dataset", "arch", "depth", "noise_label"]
    first = ["noise", "ratio", "patch", "sigma", "code_size", "K", "K_capped", "rank"]
    first += [c for c in THEORY.values() if c in final]
    out = []
    for (dataset, arch, depth), run in final.groupby(keys[:3], sort=False):
        base = run[run["noise"] == "none"]
        base_acc = dict(zip(base["seed"].astype(int), base["probe_acc"].astype(float)))
        for label, rows in run.groupby("noise_label", sort=False):
            acc = dict(zip(rows["seed"].astype(int), rows["probe_acc"].astype(float)))
            change = difference(acc, base_acc) if base_acc else None
            row = {"dataset": dataset, "arch": arch, "depth": depth, "noise_label": label}
            row |= {c: rows[c].iloc[0] for c in first if c in rows}
            row |= {"acc_mean": float(np.mean(list(acc.values()))), "n_seeds": len(acc)}
            row |= {
                "delta": change.value if change else np.nan,
                "delta_lo": change.lo if change else np.nan,
                "delta_hi": change.hi if change else np.nan,
            }
            out.append(row)
    return pd.DataFrame(out)
