"""What a row was computed from, in words: the models, budgets and runs behind a table's rows (its `scale` column)."""

from __future__ import annotations

import pandas as pd

CLOSED_FORM = "closed form on the whole training split"


def values(rows: pd.DataFrame, column: str) -> list:
    return sorted(rows[column].dropna().unique().tolist()) if column in rows else []


def joined(items: list, fmt=str) -> str:
    return "/".join(fmt(v) for v in items)


def seeds_text(rows: pd.DataFrame) -> str:
    n = len(values(rows, "seed"))
    return f"{n} seed{'s' if n != 1 else ''}" if n else ""


def classifier_scale(rows: pd.DataFrame) -> str:
    """Fig. 4 runs: arch and width, training images, epochs, seeds and runs (from the table's columns)."""
    parts = []
    for arch in values(rows, "arch"):
        r = rows[rows["arch"] == arch]
        width = values(r, "width")
        parts.append(arch + (f" width {joined(width, lambda w: f'{w:g}')}" if width and width != [1.0] else ""))
    n_train, epochs = values(rows, "n_train"), values(rows, "epochs")
    if n_train:
        parts.append(f"{joined(n_train, lambda n: f'{int(n):,}')} train images")
    if epochs:
        parts.append(f"{joined(epochs, lambda e: f'{int(e)}')} epochs")
    return ", ".join(parts + [p for p in (seeds_text(rows), f"{len(rows)} runs") if p])


def autoencoder_scale(rows: pd.DataFrame) -> str:
    """Fig. 3 / Figs. 5-6 / Fig. 10 runs: latent(s), training images, epochs, seeds, the guidance network's size."""
    parts = []
    for column, label in (("latent", "latent"), ("width", "width"), ("image_size", "px")):
        found = values(rows, column)
        if found:
            text = joined(found, lambda v: f"{int(v)}")
            parts.append(f"{text} {label}" if label == "px" else f"{label} {text}")
    n_train, epochs = values(rows, "n_train"), values(rows, "trained_epochs")
    if n_train:
        parts.append(f"{joined(n_train, lambda n: f'{int(n):,}')} train images")
    if epochs:
        parts.append(f"{joined(epochs, lambda e: f'{int(e)}')} epochs")
    return ", ".join(parts + ([seeds_text(rows)] if seeds_text(rows) else []))
