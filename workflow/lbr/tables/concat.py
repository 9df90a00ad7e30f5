"""Per-part tables concatenated into one, and the column check every figure makes on what it reads."""

from __future__ import annotations

import os

import pandas as pd

from lbr.errors import LbrError
from lbr.io import save_csv

INTEGER_COLUMNS = ("K", "D", "patch", "views", "step", "rank", "n_train", "K_at_max", "k_max")


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LbrError(f"{what} lacks columns {missing}; rebuild it with the current workflow.")


def require_rows(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """The column check, and an empty table refused as well: a figure drawn from no rows would look finished."""
    require_columns(frame, columns, what)
    if frame.empty:
        raise LbrError(f"{what} has no rows; rebuild it with the current workflow after its jobs have run.")


def concat_csv(paths: list[str], out: str | os.PathLike) -> pd.DataFrame:
    """Concatenate tables with the same columns (union of columns, in first-seen order)."""
    if not paths:
        raise LbrError(f"no tables to combine into {out}; list at least one dataset in the config.")
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    ints = {c: "Int64" for c in INTEGER_COLUMNS if c in frame and frame[c].dropna().mod(1).eq(0).all()}
    frame = frame.astype(ints)
    save_csv(frame, out)
    return frame
