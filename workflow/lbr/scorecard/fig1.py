"""Fig. 1 (top): bottom 20% against top 90% of the variance, read from the Fig. 4 table over seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lbr.scorecard.claims import FIG1_BOTTOM, FIG1_ORDER, FIG1_TOP
from lbr.scorecard.scale import classifier_scale
from lbr.scorecard.stats import mean_over_runs
from lbr.scorecard.verdicts import NOT_BUILT, NOT_COMPARABLE, directional, equivalence
from lbr.tables.accuracy import seed_curves

LEVEL_SLACK = 2.0  # points of variance: a level this close to the paper's share is that share
ORDER_EFFECT, VALUE_MARGIN = 1.0, 5.0


def at_share(curve: pd.DataFrame, target: float) -> tuple[float, str] | None:
    """(accuracy, how) of one seed's curve at `target` percent of the variance: the nearest level within
    LEVEL_SLACK points, else interpolated between the two levels that bracket it; None when neither exists."""
    xs, ys = curve["x"].to_numpy(), curve["acc"].to_numpy()
    i = int(np.argmin(np.abs(xs - target)))
    if abs(xs[i] - target) <= LEVEL_SLACK:
        return float(ys[i]), f"level at {xs[i]:.1f}%"
    below, above = xs[xs < target], xs[xs > target]
    if len(below) and len(above):
        return float(np.interp(target, xs, ys)), f"interpolated between {below.max():.1f}% and {above.min():.1f}%"
    return None


def side_at(rows: pd.DataFrame, side: str, target: float) -> tuple[dict[int, float], str, str]:
    """{seed: accuracy at target} of one side, how it was read, and why not (empty dict) when it cannot be."""
    curves = seed_curves(rows[rows["side"] == side])
    if not curves:
        return {}, "", f"no {side} levels"
    read = {seed: at_share(curve, target) for seed, curve in curves.items()}
    if any(r is None for r in read.values()):
        xs = sorted({round(x, 1) for c in curves.values() for x in c["x"]})
        return {}, "", f"no {side} level within {LEVEL_SLACK:g} points of {target:g}% of the variance or around it " + (
            f"(levels at {', '.join(f'{x:g}%' for x in xs)})")  # fmt: skip
    how = sorted({h for _, h in read.values()})
    return {s: r[0] for s, r in read.items()}, "; ".join(how), ""


def fig1_claims(fig4: pd.DataFrame, aug: bool, dataset: str = "tinyimagenet", arch: str = "resnet9") -> list[dict]:
    """Fig. 1 (top) as configured (fig1.dataset_top, arch_top, aug). The paper's two accuracies are numbers of its
    own setting, checked only on TinyImageNet ResNet9; the order has no scale in it and is checked on whatever
    dataset Fig. 1 shows."""
    rows = fig4[(fig4["dataset"] == dataset) & (fig4["arch"] == arch) & (fig4["aug"].astype(int) == int(aug))]
    where = f"{dataset} {arch} aug {int(aug)}"
    if rows.empty:
        return [c.row(NOT_BUILT, f"no {where} runs in fig4.csv") for c in (FIG1_TOP, FIG1_BOTTOM, FIG1_ORDER)]
    scale = classifier_scale(rows)
    top, top_how, top_why = side_at(rows, "top", 90.0)
    bottom, bottom_how, bottom_why = side_at(rows, "bottom", 20.0)
    out = []
    for claim, values, how, why, paper in ((FIG1_TOP, top, top_how, top_why, 45.0),
                                           (FIG1_BOTTOM, bottom, bottom_how, bottom_why, 55.0)):  # fmt: skip
        if dataset != "tinyimagenet" or arch != "resnet9":
            out.append(
                claim.row(NOT_BUILT, f"the paper's number is for TinyImageNet ResNet9; Fig. 1 here shows {where}")
            )
        elif not values:
            out.append(claim.row(NOT_COMPARABLE, f"{why} ({where})", data=dataset, scale=scale))
        else:
            est = mean_over_runs(list(values.values())).shifted(paper)
            text = f"{est.value + paper:.1f}% ({how}; {where}); accuracy - {paper:g}: {est.interval_text(' points')}"
            out.append(claim.row(equivalence(est, VALUE_MARGIN), text, est, dataset, scale))
    order = {"claim": f"{dataset} {arch}: the bottom 20% of the variance classifies better than the top 90%"}
    if not (top and bottom):
        why = "; ".join(w for w in (bottom_why, top_why) if w)
        return out + [FIG1_ORDER.row(NOT_COMPARABLE, f"{why} ({where})", data=dataset, scale=scale, **order)]
    seeds = sorted(set(top) & set(bottom))
    est = mean_over_runs([bottom[s] - top[s] for s in seeds], method="paired t over seeds")
    mean = {k: float(np.mean([v[s] for s in seeds])) for k, v in (("top", top), ("bottom", bottom))}
    text = (
        f"bottom 20% {mean['bottom']:.1f}% ({bottom_how}), top 90% {mean['top']:.1f}% ({top_how}); bottom - top "
        f"{est.interval_text(' points')} ({where})"
    )
    status = directional(est, ORDER_EFFECT) if math.isfinite(est.value) else NOT_COMPARABLE
    return out + [FIG1_ORDER.row(status, text, est, dataset, scale, **order)]
