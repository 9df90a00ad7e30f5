"""Fig. 2: the three regimes of task alignment, each judged under both measures (the plotted 100 sqrt variant and
Eq. 7's ratio); the class-count comparison also on centred pixels."""

from __future__ import annotations

import pandas as pd

from lbr.scorecard.claims import FIG2_CIFAR, FIG2_EARLY, FIG2_LINEAR
from lbr.scorecard.scale import CLOSED_FORM
from lbr.scorecard.stats import exact
from lbr.scorecard.verdicts import NOT_BUILT, agree, all_of, at_most, directional

MEASURES = {"alignment_code": "plotted", "alignment": "Eq. 7 ratio"}  # column: name, both in [0, 100] below
PREP_NAMES = {"raw": "raw pixels", "standardize": "centred pixels", "per_image": "per-image standardised pixels"}
NO_BACKGROUND = ("arabic_characters", "arabic_digits", "fashion_mnist", "mnist")
SMALL_K, CIFAR_EFFECT, EARLY_SHARE, LINE_BOUND = 32, 1.0, 0.10, 15.0


def curve(fig2: pd.DataFrame, dataset: str, prep: str, column: str) -> pd.DataFrame:
    """K, K_frac and the alignment in points (0-100) of one dataset under one preprocessing and measure."""
    rows = fig2[(fig2["dataset"] == dataset) & (fig2["preprocessing"] == prep)].sort_values("K")
    scale = 100.0 if column == "alignment" else 1.0
    return pd.DataFrame({"K": rows["K"], "K_frac": rows["K_frac"], "a": rows[column] * scale})


def variants_text(results: list[tuple[str, str, str]]) -> str:
    """'plotted, raw pixels: +3.1 points (reproduced); ...' and a note when the verdicts disagree."""
    text = "; ".join(f"{name}: {value} ({status})" for name, value, status in results)
    if len({s for _, _, s in results}) > 1:
        text += "; the verdict depends on the measure or the pixels"
    return text


def fig2_claims(fig2: pd.DataFrame, published: str = "raw") -> list[dict]:
    """The rows of Fig. 2. `published`: the preprocessing the figure draws (fig2.preprocessing); the class-count row
    also reads every other preprocessing the table holds."""
    if "preprocessing" not in fig2:
        fig2 = fig2.assign(preprocessing=published)
    preps = [published] + sorted(set(fig2["preprocessing"]) - {published})
    data = set(fig2["dataset"])
    out = []
    if {"cifar10", "cifar100"} <= data:
        results, ests = [], []
        for prep in preps:
            if not all((fig2["dataset"].eq(d) & fig2["preprocessing"].eq(prep)).any() for d in ("cifar10", "cifar100")):
                continue
            for column, name in MEASURES.items():
                c10, c100 = (curve(fig2, d, prep, column) for d in ("cifar10", "cifar100"))
                diff = c10.loc[c10["K"] <= SMALL_K, "a"].mean() - c100.loc[c100["K"] <= SMALL_K, "a"].mean()
                est = exact(diff, points=SMALL_K)
                ests.append(est)
                results.append(
                    (f"{name}, {PREP_NAMES.get(prep, prep)}", f"{diff:+.1f} points", directional(est, CIFAR_EFFECT))
                )
        status = agree([s for _, _, s in results])
        text = "CIFAR-10 minus CIFAR-100, mean over K <= 32: " + variants_text(results)
        out.append(FIG2_CIFAR.row(status, text, ests[0], "cifar10, cifar100", CLOSED_FORM))
    else:
        out.append(FIG2_CIFAR.row(NOT_BUILT, "needs cifar10 and cifar100 in fig2.datasets"))
    early = [
        d for d in NO_BACKGROUND if d in data and (fig2["dataset"].eq(d) & fig2["preprocessing"].eq(published)).any()
    ]
    if early:
        per_measure, parts = [], []
        for column, name in MEASURES.items():
            statuses = []
            for d in early:
                c = curve(fig2, d, published, column)
                reached = c.loc[c["a"] >= 90.0, "K_frac"]
                share = float(reached.min()) if len(reached) else 1.0
                statuses.append(at_most(share, EARLY_SHARE))
                parts.append(f"{d} {name}: 90% at {100 * share:.1f}% of D")
            per_measure.append(all_of(statuses))
        status = agree(per_measure)
        text = "; ".join(parts) + ("" if len(set(per_measure)) == 1 else "; the verdict depends on the measure")
        out.append(FIG2_EARLY.row(status, text, None, ", ".join(early), CLOSED_FORM))
    else:
        out.append(FIG2_EARLY.row(NOT_BUILT, f"none of {', '.join(NO_BACKGROUND)} in fig2.datasets"))
    if "tinyimagenet" in data:
        results = []
        for column, name in MEASURES.items():
            c = curve(fig2, "tinyimagenet", published, column)
            off = (c["a"] - 100 * c["K_frac"]).abs()
            worst = int(c["K"].iloc[int(off.to_numpy().argmax())])
            status = at_most(float(off.max()), LINE_BOUND)
            results.append((name, f"at most {off.max():.1f} points from the line (at K = {worst})", status))
        out.append(FIG2_LINEAR.row(agree([s for _, _, s in results]), variants_text(results), None, "tinyimagenet",
                                   CLOSED_FORM))  # fmt: skip
    else:
        out.append(FIG2_LINEAR.row(NOT_BUILT, "no tinyimagenet in fig2.datasets"))
    return out
