"""The Fig. 4 table (one row per trained classifier) and the accuracy curves and gaps read from it."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from lbr.errors import LbrError
from lbr.io import load_json

TABLE_COLUMNS = [
    "dataset", "arch", "side", "share", "variance_kept", "dims", "aug", "loss", "seed", "epochs", "test_acc",
    "test_acc_macro", "test_loss", "level", "n_directions", "n_classes", "width", "n_params", "train_seconds",
    "images_per_s", "device",
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
    """Mean (and min/max over seeds) accuracy per subspace, in percent, sorted by variance kept."""
    g = rows.groupby("level", sort=False).agg(
        x=("variance_kept", "mean"), acc=("test_acc", "mean"), lo=("test_acc", "min"), hi=("test_acc", "max")
    )
    return (g * 100).sort_values("x")


def gap_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Bottom minus top accuracy (points) at comparable variance, per dataset, arch and aug: the claim in one
    number per curve pair, with what was compared (variance in percent).

    Where the two curves' variance ranges overlap, the gap is the mean over that shared range of the interpolated
    difference (compared = 'shared range', from x_lo to x_hi). Where they do not overlap (bottom levels all hold less
    variance than top levels), nothing is interpolated: the gap is that of the two nearest points
    (compared = 'nearest points', bottom at bottom_x, top at top_x, `distance` apart); the caller decides whether
    they are near enough to compare."""
    out = []
    for key, rows in table.groupby(["dataset", "arch", "aug"]):
        curves = {s: accuracy_curve(rows[rows["side"] == s]) for s in ("top", "bottom")}
        if any(c.empty for c in curves.values()):
            continue
        top, bottom = curves["top"], curves["bottom"]
        ranges = {
            f"{side}_{end}": float(getattr(curves[side]["x"], end)())
            for side in ("top", "bottom")
            for end in ("min", "max")
        }
        lo, hi = max(ranges["top_min"], ranges["bottom_min"]), min(ranges["top_max"], ranges["bottom_max"])
        if hi >= lo:
            grid = np.linspace(lo, hi, 20) if hi > lo else np.array([lo])
            diff = np.interp(grid, bottom["x"], bottom["acc"]) - np.interp(grid, top["x"], top["acc"])
            gap = {"bottom_minus_top": float(diff.mean()), "compared": "shared range", "x_lo": lo, "x_hi": hi}
            gap |= {"bottom_x": np.nan, "top_x": np.nan, "distance": 0.0}
        else:
            apart = np.abs(bottom["x"].to_numpy()[:, None] - top["x"].to_numpy()[None, :])
            i, j = np.unravel_index(int(np.argmin(apart)), apart.shape)
            b, t = bottom.iloc[i], top.iloc[j]
            gap = {"bottom_minus_top": float(b["acc"] - t["acc"]), "compared": "nearest points"}
            gap |= {"x_lo": np.nan, "x_hi": np.nan, "bottom_x": float(b["x"]), "top_x": float(t["x"])}
            gap |= {"distance": float(apart[i, j])}
        out.append(dict(zip(["dataset", "arch", "aug"], key)) | gap | ranges)
    return pd.DataFrame(out)
