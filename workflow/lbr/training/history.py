"""The per-epoch history.csv every trainer writes, and its reader (no torch import).

In the file, `epoch` counts completed epochs (1 = after the first); the loop's rows count from 0. Cells a row
lacks (epochs without evaluation) are empty, and floats keep every digit, so a resumed run's file equals an
uninterrupted one's byte for byte.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from lbr.io import save_text


def history_csv(history: list[dict]) -> str:
    """The loop's history rows as CSV text (columns in first-seen order)."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    lines = [",".join(columns)]
    for row in history:
        cells = []
        for k in columns:
            value = row.get(k, "")
            if k == "epoch":
                value = int(value) + 1
            cells.append(repr(float(value)) if isinstance(value, float) else str(value))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_history(path: str | os.PathLike, history: list[dict]) -> None:
    save_text(path, history_csv(history))


def read_history(path: str | Path) -> list[dict]:
    """Rows of a history.csv as floats (NaN for empty cells)."""
    with open(path, newline="") as fh:
        return [{k: (float(v) if v != "" else math.nan) for k, v in row.items()} for row in csv.DictReader(fh)]
