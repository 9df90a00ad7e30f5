"""Fig. 10 (beyond the paper): do trained nonlinear autoencoders follow Theorem 3? Each noise's change of the final
probe accuracy against no noise, over seeds."""

from __future__ import annotations

import math

import pandas as pd

from lbr.scorecard.claims import FIG10_GAUSS, FIG10_MASK, PROBE_MARGIN
from lbr.scorecard.scale import autoencoder_scale
from lbr.scorecard.stats import difference
from lbr.scorecard.verdicts import NOT_BUILT, NOT_COMPARABLE, all_of, directional, equivalence

ROUND_OFF_PCT = 1e-6  # a predicted change of alignment at most this (percent) is no change


def final_accuracy(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (noise_label, seed): the probe accuracy (points) after the last trained epoch."""
    last = rows["trained_epochs"] - 1 if "trained_epochs" in rows else rows.groupby(
        ["noise_label", "seed"])["epoch"].transform("max")  # fmt: skip
    final = rows[rows["epoch"] == last].copy()
    final["acc"] = 100 * final["probe_acc"]
    return final


def per_seed(final: pd.DataFrame, label: str) -> dict[int, float]:
    rows = final[final["noise_label"] == label]
    return {int(r["seed"]): float(r["acc"]) for _, r in rows.iterrows()}


def fig10_claims(fig10: pd.DataFrame) -> list[dict]:
    out = []
    for (dataset, arch, depth), rows in fig10.groupby(["dataset", "arch", "depth"], sort=True):
        final = final_accuracy(rows)
        name = f"{dataset}-{arch}{depth}"
        scale = f"{arch} depth {depth}, {autoencoder_scale(rows)}"
        base = per_seed(final, "none")
        gauss = final[final["noise"] == "gaussian"].drop_duplicates("noise_label")
        masks = final[~final["noise"].isin(["none", "gaussian"])].drop_duplicates("noise_label")
        ids = {"id": f"{FIG10_GAUSS.id}-{name}", "claim": f"{dataset} {arch}-depth{depth}: {FIG10_GAUSS.claim}"}
        if not base or gauss.empty:
            out.append(FIG10_GAUSS.row(NOT_BUILT, "needs {noise: none} and a Gaussian noise in fig10.noises", **ids))
        else:
            statuses, parts, ests = [], [], []
            for _, g in gauss.iterrows():
                est = difference(per_seed(final, g["noise_label"]), base)
                statuses.append(equivalence(est, PROBE_MARGIN))
                ests.append(est)
                parts.append(f"sigma {g['sigma']:g}: {est.interval_text(' points', 2)}")
            worst = max(ests, key=lambda e: abs(e.value))
            out.append(FIG10_GAUSS.row(all_of(statuses), "; ".join(parts), worst, dataset, scale, **ids))
        for _, m in masks.iterrows():
            label = m["noise_label"]
            ids = {"id": f"{FIG10_MASK.id}-{name}-{label}", "claim": f"{dataset} {arch}-depth{depth}, {label}: "
                   + FIG10_MASK.claim}  # fmt: skip
            if not base:
                out.append(FIG10_MASK.row(NOT_BUILT, "needs {noise: none} in fig10.noises", **ids))
                continue
            predicted = float(m.get("theory_impact_pct", math.nan))
            k = f"K = {int(m['K'])}" + (" (capped at the rank)" if bool(m.get("K_capped", False)) else "")
            raw = difference(per_seed(final, label), base)
            measured = f"measured {raw.interval_text(' points', 2)}"
            if not math.isfinite(predicted) or abs(predicted) <= ROUND_OFF_PCT:
                text = f"the linear theory predicts no change at {k} ({predicted:+.2g}%); {measured}"
                out.append(FIG10_MASK.row(NOT_COMPARABLE, text, raw, dataset, scale, **ids))
                continue
            sign = 1.0 if predicted > 0 else -1.0
            est = raw.scaled(sign)
            text = f"predicted {predicted:+.2f}% alignment at {k}; {measured}"
            out.append(FIG10_MASK.row(directional(est, PROBE_MARGIN), text, est, dataset, scale, **ids))
    return out or [c.row(NOT_BUILT, "no runs in fig10.csv") for c in (FIG10_GAUSS, FIG10_MASK)]
