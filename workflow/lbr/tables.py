"""Tidy CSV tables: written atomically, concatenated from per-dataset parts."""

from __future__ import annotations

import os

import pandas as pd

from lbr.errors import LbrError
from lbr.io import atomic_path

INTEGER_COLUMNS = ("K", "D", "patch", "views", "step", "rank", "n_train", "K_at_max", "k_max")


def save_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LbrError(f"{what} lacks columns {missing}; rebuild it with the current workflow.")


def concat_csv(paths: list[str], out: str | os.PathLike) -> pd.DataFrame:
    """Concatenate tables with the same columns (union of columns, in first-seen order)."""
    if not paths:
        raise LbrError(f"no tables to combine into {out}; list at least one dataset in the config.")
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    ints = {c: "Int64" for c in INTEGER_COLUMNS if c in frame and frame[c].dropna().mod(1).eq(0).all()}
    frame = frame.astype(ints)
    save_csv(frame, out)
    return frame
