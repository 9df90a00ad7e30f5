"""The tables of Figs. 5-6 from the guided autoencoders' histories: the curves over epochs (fig5.csv) and the
last validation point of every run (fig6.csv)."""

from __future__ import annotations

import math

import pandas as pd

from lbr.io import load_json, save_csv
from lbr.training.history import read_history

TABLE_COLUMNS = ["latent", "guidance", "epoch", "split", "recon_loss", "acc_linear", "acc_mlp"]
EXTRA_COLUMNS = ["dataset", "seed", "acc_linear_macro", "acc_mlp_macro", "ce_linear", "ce_mlp", "train_recon_loss"]
SCALE_COLUMNS = ["n_train", "trained_epochs", "image_size", "width"]  # what the run was trained on (metrics.json)


def table_rows(history: list[dict], dataset: str, latent: int, guidance: float, seed: int) -> list[dict]:
    """Tidy rows of one run: split 'train' every epoch (running means under augmentation), 'valid' when evaluated."""
    base = {"dataset": dataset, "latent": int(latent), "guidance": float(guidance), "seed": int(seed)}
    rows = []
    for r in history:
        epoch = int(r["epoch"])
        rows.append(
            base
            | {
                "epoch": epoch,
                "split": "train",
                "recon_loss": r["train_recon"],
                "acc_linear": r["train_acc_linear"],
                "acc_mlp": r["train_acc_mlp"],
                "acc_linear_macro": math.nan,
                "acc_mlp_macro": math.nan,
                "ce_linear": r["train_ce_linear"],
                "ce_mlp": r["train_ce_mlp"],
                "train_recon_loss": r["train_recon"],
            }
        )
        if not math.isnan(r.get("valid_recon", math.nan)):
            rows.append(
                base
                | {
                    "epoch": epoch,
                    "split": "valid",
                    "recon_loss": r["valid_recon"],
                    "acc_linear": r["valid_acc_linear"],
                    "acc_mlp": r["valid_acc_mlp"],
                    "acc_linear_macro": r["valid_acc_linear_macro"],
                    "acc_mlp_macro": r["valid_acc_mlp_macro"],
                    "ce_linear": r["valid_ce_linear"],
                    "ce_mlp": r["valid_ce_mlp"],
                    "train_recon_loss": r["train_recon"],  # the epoch's training MSE beside its validation MSE
                }
            )
    return rows


def final_rows(rows: list[dict]) -> list[dict]:
    """Fig. 6: the last validation row of each (latent, guidance, seed)."""
    last: dict[tuple, dict] = {}
    for r in rows:
        if r["split"] == "valid":
            key = (r["latent"], r["guidance"], r["seed"])
            if key not in last or r["epoch"] >= last[key]["epoch"]:
                last[key] = r
    return [last[k] for k in sorted(last)]


def run_scale(metrics: dict) -> dict:
    """What a run was trained on, from its metrics.json."""
    renamed = {"n_train": "n_train", "epochs": "trained_epochs", "image_size": "image_size", "width": "width"}
    return {new: metrics.get(old) for old, new in renamed.items()}


def write_tables(
    histories: list[str], runs: list[dict], fig5_path: str, fig6_path: str, metrics: list[str] | None = None
) -> None:
    """Tidy tables of Figs. 5 and 6 from the runs' histories (`runs`, and their `metrics` files when given, in the
    same order as `histories`)."""
    rows = []
    for i, (path, run) in enumerate(zip(histories, runs, strict=True)):
        scale = run_scale(load_json(metrics[i])) if metrics else {}
        rows += [
            row | scale
            for row in table_rows(
                read_history(path), run["dataset"], int(run["latent"]), float(run["guidance"]), int(run["seed"])
            )
        ]
    columns = TABLE_COLUMNS + EXTRA_COLUMNS + (SCALE_COLUMNS if metrics else [])
    curves = pd.DataFrame(rows, columns=columns).sort_values(["latent", "guidance", "seed", "split", "epoch"])
    save_csv(curves, fig5_path, float_format="%.8g")
    save_csv(pd.DataFrame(final_rows(rows), columns=columns), fig6_path, float_format="%.8g")
