"""Fig. 4: the bottom subspace against the top one at equal variance, per dataset, architecture and augmentation,
over seeds."""

from __future__ import annotations

import pandas as pd

from lbr.scorecard.claims import FIG4_GAP
from lbr.scorecard.scale import classifier_scale
from lbr.scorecard.stats import mean_over_runs, t_bound
from lbr.scorecard.verdicts import DIFFERS, INCONCLUSIVE, NOT_BUILT, NOT_COMPARABLE, directional
from lbr.tables.accuracy import level_gaps

GAP_EFFECT = 1.0  # points


def substitutions(rows: pd.DataFrame) -> str:
    """'; substituted: bottom-0.9 -> 39.5% (...)' for levels that were replaced by the nearest one that exists."""
    if "substituted" not in rows:
        return ""
    subs = rows[rows["substituted"].fillna(False).astype(bool)].drop_duplicates(["side", "level"])
    if subs.empty:
        return ""
    parts = [
        f"{r['side']}-{r['requested'] or r['level']} kept {100 * r['variance_kept']:.1f}%" for _, r in subs.iterrows()
    ]
    return "; substituted by the nearest level that exists: " + ", ".join(parts)


def judge(gaps: pd.DataFrame) -> tuple[str, str, object]:
    """(status, text, estimate) of one (dataset, arch, aug) from its per-(level, seed) gaps.

    A bottom level below the top curve's range is compared with the top's lowest level ('a fortiori': top subspaces
    are nested, so the top at equal variance can only be lower). That gap is a lower bound of the equal-variance gap:
    it can show the bottom better, never the top better. So the mean over all levels is a lower bound that can
    reproduce the claim, and only equal-variance levels can make it differ."""
    levels = gaps.groupby("bottom_x", sort=True)
    n_levels, seeds = levels.ngroups, sorted(gaps["seed"].unique())
    per_seed = gaps.groupby("seed")["gap"].mean()
    est = mean_over_runs(per_seed.to_numpy(), points=n_levels, method="t over seeds")
    crossing, parts = [], []
    for x, part in levels:
        _, hi = t_bound(part["gap"].to_numpy(), 0.05 / n_levels)
        bound = part["compared"].iloc[0] == "a fortiori"
        where = f"{x:.1f}%" + (f" vs top at {part['top_x'].iloc[0]:.1f}%" if bound else "")
        gap = part["gap"].mean()
        parts.append(f"{where}: {gap:+.1f}" + (" (a lower bound: says nothing against)" if bound and gap <= 0 else ""))
        if hi < 0 and not bound:
            crossing.append(where)
    share = float((levels["gap"].mean() > 0).mean())
    text = (
        f"mean gap {est.interval_text(' points')} over {n_levels} level{'s' if n_levels > 1 else ''} and {len(seeds)} "
        f"seed{'s' if len(seeds) > 1 else ''}; bottom above top at {100 * share:.0f}% of levels ("
        + ", ".join(parts)
        + ")"
    )
    bounded = (gaps["compared"] == "a fortiori").any()
    if bounded:
        text += "; 'vs top at' = a fortiori against the top's lowest level, so the mean is a lower bound"
    if crossing:
        return DIFFERS, text + f"; the top is significantly better at {', '.join(crossing)}", est
    status = directional(est, GAP_EFFECT)
    if status != DIFFERS or not bounded:
        return status, text, est
    equal = gaps[gaps["compared"] != "a fortiori"]
    if (
        not equal.empty
        and directional(mean_over_runs(equal.groupby("seed")["gap"].mean().to_numpy()), GAP_EFFECT) == DIFFERS
    ):
        return DIFFERS, text + "; the equal-variance levels alone differ too", est
    return INCONCLUSIVE, text + "; the lower bound is below the effect and the equal-variance levels do not differ", est


def fig4_claims(fig4: pd.DataFrame) -> list[dict]:
    out = []
    for (dataset, arch, aug), rows in fig4.groupby(["dataset", "arch", "aug"], sort=True):
        ids = {
            "id": f"fig4-{dataset}-{arch}-aug{int(aug)}",
            "claim": f"{dataset} {arch} aug {int(aug)}: {FIG4_GAP.claim}",
        }
        scale = classifier_scale(rows)
        if not {"top", "bottom"} <= set(rows["side"]):
            out.append(FIG4_GAP.row(NOT_BUILT, "needs runs on both sides", data=dataset, scale=scale, **ids))
            continue
        gaps = level_gaps(rows)
        if gaps.empty:
            x = {s: 100 * rows.loc[rows["side"] == s, "variance_kept"] for s in ("top", "bottom")}
            text = (
                f"no bottom level at or below the top curve's variance (bottom {x['bottom'].min():.1f}-"
                f"{x['bottom'].max():.1f}%, top {x['top'].min():.1f}-{x['top'].max():.1f}%, or no seed on both sides)"
            )
            out.append(FIG4_GAP.row(NOT_COMPARABLE, text, data=dataset, scale=scale, **ids))
            continue
        status, text, est = judge(gaps)
        out.append(FIG4_GAP.row(status, text + substitutions(rows), est, dataset, scale, **ids))
    return out or [FIG4_GAP.row(NOT_BUILT, "no dataset and arch with runs")]
