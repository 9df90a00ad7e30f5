"""Fig. 8: the closed forms against gradient descent (self-checks of the implementation)."""

from __future__ import annotations

import pandas as pd

from lbr.scorecard.claims import FIG8_THM1, FIG8_THM3
from lbr.scorecard.scale import joined, values
from lbr.scorecard.stats import exact
from lbr.scorecard.verdicts import NOT_BUILT, check

LEFT, BELOW = 1e-3, 1e-6  # of the initial gap


def remaining_gap(run: pd.DataFrame) -> float:
    """(best loss - closed form) / (first loss - closed form) of one gradient-descent run."""
    run = run.sort_values("step")
    optimum = float(run["loss_closed_form"].iloc[0])
    start, best = float(run["loss_gd"].iloc[0]) - optimum, float(run["loss_gd"].min()) - optimum
    return best / start if start > 0 else 0.0  # a run that starts at the optimum has nothing left


def fig8_claims(fig8: pd.DataFrame) -> list[dict]:
    out = []
    for claim, variant, key in ((FIG8_THM1, "supervised", "lam"), (FIG8_THM3, "denoising", "views")):
        rows = fig8[(fig8["variant"] == variant) & fig8["selected"].astype(bool)]
        if rows.empty:
            out.append(claim.row(NOT_BUILT, f"no {variant} runs in fig8.csv"))
            continue
        gaps = {k: remaining_gap(run) for k, run in rows.groupby(["D", "K", key])}
        (d, k, v), worst = max(gaps.items(), key=lambda item: abs(item[1]))
        text = f"worst {worst:.2g} of the initial gap left (D={d}, K={k}, {key} {v:g})"
        scale = f"D {joined(values(rows, 'D'))}, K {joined(values(rows, 'K'))}, {rows['step'].max():,} steps"
        ok = all(-BELOW <= g <= LEFT for g in gaps.values())
        out.append(claim.row(check(ok), text, exact(worst, len(gaps)), "synthetic X = 1[randn(D, N) > 0]", scale))
    return out
