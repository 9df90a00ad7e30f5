"""Fig. 7 and the noise check: masking moves what a linear autoencoder keeps (a claim); Gaussian noise cannot (an
identity, checked as consistency)."""

from __future__ import annotations

import pandas as pd

from lbr.scorecard.claims import CHECK_GAUSS, CHECK_MASK, FIG7_GAUSS, FIG7_MASK
from lbr.scorecard.scale import CLOSED_FORM
from lbr.scorecard.stats import exact
from lbr.scorecard.verdicts import DIFFERS, NOT_BUILT, REPRODUCED, all_of, check, directional

MASK_EFFECT, ROUND_OFF = 1.0, 1e-6  # percent change of alignment
THEOREM3 = "Theorem 3 " + CLOSED_FORM


def fig7_claims(fig7: pd.DataFrame) -> list[dict]:
    gauss = fig7[fig7["noise"] == "gaussian"]
    masks = fig7[(fig7["noise"] == "mask") & (fig7["ratio"] > 0)]
    if gauss.empty:
        out = [FIG7_GAUSS.row(NOT_BUILT, "no Gaussian noise in fig7.sigmas")]
    else:
        worst = float(gauss["impact_pct"].abs().max())
        data = ", ".join(map(str, gauss["dataset"].unique()))
        est = exact(worst, points=len(gauss))
        out = [FIG7_GAUSS.row(check(worst <= ROUND_OFF), f"largest |change| {worst:.2g}%", est, data, THEOREM3)]
    if masks.empty:
        return out + [FIG7_MASK.row(NOT_BUILT, "no mask with ratio > 0 in fig7")]
    best = masks.groupby("dataset")["impact_pct"].max()
    statuses = [directional(exact(v), MASK_EFFECT) for v in best]
    text = "; ".join(f"{d}: up to {v:+.1f}%" for d, v in best.items())
    est = exact(float(best.min()), points=len(masks))
    return out + [FIG7_MASK.row(all_of(statuses), text, est, ", ".join(map(str, best.index)), THEOREM3)]


def _noise_label(row: pd.Series) -> str:
    if row["noise"] == "gaussian":
        return f"sigma {row['sigma']:g}"
    if row["noise"] == "mask":
        return f"mask {row['ratio']:g} patch {int(row['patch'])}"
    return str(row.get("noise_label", row["noise"]))


def noise_check_claims(table: pd.DataFrame) -> list[dict]:
    gauss = table[table["noise"] == "gaussian"]
    masks = table[(table["noise"] != "gaussian") & (table["noise"] != "none") & (table["ratio"].fillna(0) > 0)]
    out = []
    for claim, rows, wanted in ((CHECK_MASK, masks, "sometimes"), (CHECK_GAUSS, gauss, "never")):
        if rows.empty:
            out.append(claim.row(NOT_BUILT, "no such noise in noise_check.noises"))
            continue
        text = "; ".join(f"{r['dataset']} {_noise_label(r)}: {r['verdict']}" for _, r in rows.iterrows())
        data = ", ".join(map(str, rows["dataset"].unique()))
        ok = bool((rows["verdict"] == wanted).all())
        status = check(ok) if claim.kind == "consistency" else REPRODUCED if ok else DIFFERS
        out.append(claim.row(status, text, None, data, THEOREM3))
    return out
