"""The scorecard assembled: every claim's row, in figure order, from the tidy tables a run built. A table that was not
built, lacks the rows a claim needs, or whose jobs failed gives 'not built' (saying which), never an error."""

from __future__ import annotations

import os
from functools import partial

import pandas as pd

from lbr.scorecard import claims as c
from lbr.scorecard.claims import COLUMNS
from lbr.scorecard.fig1 import fig1_claims
from lbr.scorecard.fig2 import fig2_claims
from lbr.scorecard.fig3 import fig3_claims
from lbr.scorecard.fig4 import fig4_claims
from lbr.scorecard.fig6 import fig6_claims
from lbr.scorecard.fig7 import fig7_claims, noise_check_claims
from lbr.scorecard.fig8 import fig8_claims
from lbr.scorecard.fig10 import fig10_claims
from lbr.scorecard.fig11 import fig11_claims
from lbr.scorecard.verdicts import KINDS, NOT_BUILT

NEEDS = {
    "fig2": ["dataset", "K", "K_frac", "alignment", "alignment_code"],
    "fig3_bands": ["dataset", "arch", "depth", "epoch", "band_eigenvalue", "capture_epoch"],
    "fig4": ["dataset", "arch", "side", "level", "variance_kept", "aug", "seed", "test_acc"],
    "fig6": ["dataset", "latent", "guidance", "seed", "recon_loss", "acc_linear"],
    "fig7": ["dataset", "noise", "ratio", "impact_pct"],
    "fig8": ["variant", "D", "K", "lam", "views", "step", "loss_gd", "loss_closed_form", "selected"],
    "noise_check": ["dataset", "noise", "ratio", "patch", "sigma", "verdict"],
    "fig10": ["dataset", "arch", "depth", "noise", "noise_label", "seed", "epoch", "probe_acc", "K", "K_capped"]
    + ["theory_impact_pct"],
    "fig11": ["dataset", "objective", "augmentation", "K", "alignment_low", "alignment_high", "role", "small_k"],
}  # the tables the scorecard reads, and the columns it reads from each


def scorecard(
    tables: dict[str, pd.DataFrame | None], options: dict | None = None, failed: dict[str, str] | None = None
) -> pd.DataFrame:
    """Every claim's row from the tables given (name -> frame; absent or None = not built). `options`: Fig. 1's top
    panel as configured (`fig1`: {dataset_top, arch_top, aug}; default TinyImageNet, ResNet9, aug) and the
    preprocessing Fig. 2 draws (`fig2_preprocessing`, default raw). `failed`: {table: why} for tables whose jobs
    failed in this run (their rows say so)."""
    options = options or {}
    fig1 = {"dataset_top": "tinyimagenet", "arch_top": "resnet9", "aug": True} | (options.get("fig1") or {})
    top = partial(fig1_claims, aug=bool(fig1["aug"]), dataset=fig1["dataset_top"], arch=fig1["arch_top"])
    groups = [
        ("fig4", [c.FIG1_TOP, c.FIG1_BOTTOM, c.FIG1_ORDER], top),
        ("fig2", [c.FIG2_CIFAR, c.FIG2_EARLY, c.FIG2_LINEAR],
         partial(fig2_claims, published=options.get("fig2_preprocessing", "raw"))),
        ("fig3_bands", [c.FIG3_RATE], fig3_claims),
        ("fig4", [c.FIG4_GAP], fig4_claims),
        ("fig6", [c.FIG6_GAP, c.FIG6_VALUES], fig6_claims),
        ("fig7", [c.FIG7_MASK, c.FIG7_GAUSS], fig7_claims),
        ("noise_check", [c.CHECK_MASK, c.CHECK_GAUSS], noise_check_claims),
        ("fig8", [c.FIG8_THM1, c.FIG8_THM3], fig8_claims),
        ("fig10", [c.FIG10_GAUSS, c.FIG10_MASK], fig10_claims),
        ("fig11", [c.FIG11_PCA, c.FIG11_JE], fig11_claims),
    ]  # fmt: skip
    failed = failed or {}
    rows = []
    for name, group, evaluate in groups:
        missing = f"input failed: {failed[name]}" if name in failed else unusable(name, tables.get(name))
        rows += [claim.row(NOT_BUILT, missing) for claim in group] if missing else evaluate(tables[name])
    card = pd.DataFrame(rows, columns=COLUMNS)
    order = {kind: i for i, kind in enumerate(KINDS)}
    return card.sort_values("kind", key=lambda k: k.map(order), kind="stable").reset_index(drop=True)


def unusable(name: str, table: pd.DataFrame | None) -> str | None:
    """Why a table cannot be read (not built, empty, or lacking columns), or None when it can."""
    if table is None:
        return f"{name}.csv not built"
    lacking = [col for col in NEEDS[name] if col not in table.columns]
    if lacking:
        return f"{name}.csv lacks columns {', '.join(lacking)}; rebuild it"
    return f"{name}.csv is empty" if table.empty else None


def read_tables(folder: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The tables of `folder` that the scorecard reads and that exist (for `lbr check --build`)."""
    paths = {name: os.path.join(folder, f"{name}.csv") for name in NEEDS}
    return {name: pd.read_csv(path) for name, path in paths.items() if os.path.isfile(path)}


def counts(card: pd.DataFrame) -> dict[str, dict[str, int]]:
    """{kind: {status: rows}} in the order of KINDS."""
    return {kind: card.loc[card["kind"] == kind, "status"].value_counts().to_dict() for kind in KINDS}


__all__ = ["COLUMNS", "NEEDS", "NOT_BUILT", "counts", "read_tables", "scorecard", "unusable"]
