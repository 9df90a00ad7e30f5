"""The Fig. 4 table (one row per trained classifier) and the accuracy curves and gaps read from it."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from lbr.errors import LbrError
from lbr.io import load_json
from lbr.scorecard.stats import t_bound

TABLE_COLUMNS = [
    "dataset", "arch", "side", "share", "variance_kept", "dims", "aug", "loss", "seed", "epochs", "test_acc",
    "test_acc_macro", "test_loss", "level", "n_directions", "n_classes", "width", "n_params", "train_seconds",
    "images_per_s", "device", "substituted", "requested",
]  # fmt: skip


def metrics_table(paths: list[str | os.PathLike]) -> pd.DataFrame:
    """The Fig. 4 table: one row per run's metrics.json, the fixed columns first (accuracies in [0, 1])."""
    if not paths:
        raise LbrError("the Fig. 4 grid is empty; list datasets, archs, sides, shares, aug and seeds under fig4.")
    df = pd.DataFrame([load_json(p) for p in paths])
    for col in TABLE_COLUMNS:
        if col not in df:
            df[col] = None
    extra = sorted(c for c in df.columns if c not in TABLE_COLUMNS)
    df = df[TABLE_COLUMNS + extra]
    order = ["dataset", "arch", "side", "aug", "seed", "variance_kept"]
    return df.sort_values(order, kind="stable").reset_index(drop=True)


def accuracy_curve(rows: pd.DataFrame) -> pd.DataFrame:
    """Per subspace (level) of one side, in percent and sorted by variance kept: the seed mean of the accuracy
    (`acc`), its 95% t interval over seeds (`lo`, `hi`; the mean itself with one seed), the seeds (`n`), and whether
    the level was substituted by the nearest one that exists (`substituted`, when the table says)."""
    out = []
    for level, part in rows.groupby("level", sort=False):
        acc = 100 * part["test_acc"].to_numpy(dtype=float)
        lo, hi = t_bound(acc, 0.05) if len(acc) > 1 else (acc.mean(), acc.mean())
        sub = bool(part["substituted"].fillna(False).astype(bool).any()) if "substituted" in part else False
        x = 100 * float(part["variance_kept"].mean())
        out.append({"level": level, "x": x, "acc": acc.mean(), "lo": lo, "hi": hi, "n": len(acc), "substituted": sub})
    columns = ["level", "x", "acc", "lo", "hi", "n", "substituted"]
    return pd.DataFrame(out, columns=columns).sort_values("x").set_index("level")


def seed_curves(rows: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """{seed: its curve (x = variance kept, acc; percent, sorted by x)} of one side."""
    return {
        int(seed): pd.DataFrame({"x": 100 * part["variance_kept"].astype(float), "acc": 100 * part["test_acc"]})
        .sort_values("x")
        .reset_index(drop=True)
        for seed, part in rows.groupby("seed")
    }


def at_variance(curve: pd.DataFrame, x: float) -> float:
    """A curve's accuracy at variance x (percent): interpolated inside its range; NaN outside it."""
    xs, ys = curve["x"].to_numpy(), curve["acc"].to_numpy()
    if x < xs[0] - 1e-9 or x > xs[-1] + 1e-9:
        return float("nan")
    return float(np.interp(x, xs, ys))


def level_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """Bottom minus top accuracy (points) at each bottom level of one (dataset, arch, aug), per seed (seeds present
    on both sides): the top curve of the same seed interpolated at the bottom level's variance (`compared` = 'equal
    variance'), or, where the bottom level holds less variance than every top level, the top's lowest level
    ('a fortiori': top subspaces are nested, so the top curve below its range can only be lower). Bottom levels
    above the top curve's range are not compared. One row per (level, seed)."""
    sides = {s: seed_curves(rows[rows["side"] == s]) for s in ("top", "bottom")}
    seeds = sorted(set(sides["top"]) & set(sides["bottom"]))
    out = []
    for seed in seeds:
        top, bottom = sides["top"][seed], sides["bottom"][seed]
        low = top.iloc[0]
        for _, point in bottom.iterrows():
            if point["x"] < low["x"] - 1e-9:
                top_acc, compared, top_x = float(low["acc"]), "a fortiori", float(low["x"])
            else:
                top_acc, compared, top_x = at_variance(top, point["x"]), "equal variance", float(point["x"])
            if np.isnan(top_acc):
                continue
            out.append({"seed": seed, "bottom_x": float(point["x"]), "top_x": top_x, "compared": compared,
                        "bottom_acc": float(point["acc"]), "top_acc": top_acc,
                        "gap": float(point["acc"]) - top_acc})  # fmt: skip
    columns = ["seed", "bottom_x", "top_x", "compared", "bottom_acc", "top_acc", "gap"]
    return pd.DataFrame(out, columns=columns)
