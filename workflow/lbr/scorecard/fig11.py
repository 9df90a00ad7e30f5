"""Fig. 11 (beyond the paper): component masking against pixel masking, and joint embedding against reconstruction,
through their linear closed forms at small K."""

from __future__ import annotations

import pandas as pd

from lbr.scorecard.claims import FIG11_JE, FIG11_PCA
from lbr.scorecard.scale import CLOSED_FORM
from lbr.scorecard.stats import monte_carlo_range
from lbr.scorecard.verdicts import NOT_BUILT, directional, non_inferior

PCA_EFFECT, JE_MARGIN = 1.0, 1.0  # points of alignment
RANGE = "Monte Carlo range of the PCA mask's keep probabilities, 3 SE"
ROLE_NAMES = {"best_pixel_mask": "best pixel mask", "best_pca_mask": "best PCA mask", "crop_flip": "crop/flip"}


def head(rows: pd.DataFrame, objective: str, role: str) -> pd.DataFrame:
    """One curve (objective, role) of one dataset over K = 1..small_k."""
    curve = rows[(rows["objective"] == objective) & (rows["role"] == role)]
    return curve[curve["K"] <= curve["small_k"]]


def mean_range(curve: pd.DataFrame) -> tuple[float, float]:
    """Mean alignment over the curve, in points, at the low and the high end of its range."""
    return 100 * float(curve["alignment_low"].mean()), 100 * float(curve["alignment_high"].mean())


def fig11_claims(fig11: pd.DataFrame) -> list[dict]:
    out = []
    for dataset, rows in fig11.groupby("dataset", sort=True):
        k = int(rows["small_k"].iloc[0])
        pca, pixel = head(rows, "reconstruction", "best_pca_mask"), head(rows, "reconstruction", "best_pixel_mask")
        ids = {"id": f"{FIG11_PCA.id}-{dataset}", "claim": f"{dataset}: {FIG11_PCA.claim}"}
        if pca.empty or pixel.empty:
            out.append(FIG11_PCA.row(NOT_BUILT, "needs pixel masks and PCA masks in fig11", **ids))
        else:
            (p_lo, p_hi), (x_lo, x_hi) = mean_range(pca), mean_range(pixel)
            est = monte_carlo_range(p_lo - x_hi, p_hi - x_lo, k, RANGE)
            text = (
                f"{pca['augmentation'].iloc[0]} {(p_lo + p_hi) / 2:.1f} vs {pixel['augmentation'].iloc[0]} "
                f"{(x_lo + x_hi) / 2:.1f} (mean alignment, points, K = 1..{k}); "
                f"difference {est.interval_text(' points')}"
            )
            out.append(FIG11_PCA.row(directional(est, PCA_EFFECT), text, est, dataset, CLOSED_FORM, **ids))
        for role, name in ROLE_NAMES.items():
            je, rc = head(rows, "joint_embedding", role), head(rows, "reconstruction", role)
            if je.empty or rc.empty:
                continue
            (j_lo, j_hi), (r_lo, r_hi) = mean_range(je), mean_range(rc)
            est = monte_carlo_range(j_lo - r_hi, j_hi - r_lo, k, RANGE)
            ids = {"id": f"{FIG11_JE.id}-{dataset}-{role.replace('_', '-')}",
                   "claim": f"{dataset}, {name} ({je['augmentation'].iloc[0]}): {FIG11_JE.claim}"}  # fmt: skip
            text = (
                f"joint embedding {(j_lo + j_hi) / 2:.1f}, reconstruction {(r_lo + r_hi) / 2:.1f} (mean alignment, "
                f"points, K = 1..{k}); difference {est.interval_text(' points')}"
            )
            out.append(FIG11_JE.row(non_inferior(est, JE_MARGIN), text, est, dataset, CLOSED_FORM, **ids))
        if not any(r["id"].startswith(f"{FIG11_JE.id}-{dataset}") for r in out):
            out.append(FIG11_JE.row(NOT_BUILT, "no augmentation with both objectives in fig11",
                                    id=f"{FIG11_JE.id}-{dataset}"))  # fmt: skip
    return out or [c.row(NOT_BUILT, "no rows in fig11.csv") for c in (FIG11_PCA, FIG11_JE)]
