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
    """Bottom minus top accuracy (points) at comparable variance, per dataset, arch and aug: the claim in
    one number per curve pair (mean over the grid of the interpolated difference)."""
    out = []
    for key, rows in table.groupby(["dataset", "arch", "aug"]):
        curves = {s: accuracy_curve(rows[rows["side"] == s]) for s in ("top", "bottom")}
        if any(c.empty for c in curves.values()):
            continue
        lo = max(curves["top"]["x"].min(), curves["bottom"]["x"].min())
        hi = min(curves["top"]["x"].max(), curves["bottom"]["x"].max())
        grid = np.linspace(lo, hi, 20) if hi > lo else np.array([lo])
        diff = np.interp(grid, curves["bottom"]["x"], curves["bottom"]["acc"]) - np.interp(
            grid, curves["top"]["x"], curves["top"]["acc"]
        )
        out.append(dict(zip(["dataset", "arch", "aug"], key)) | {"bottom_minus_top": float(diff.mean())})
    return pd.DataFrame(out)
