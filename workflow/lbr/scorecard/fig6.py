"""Figs. 5-6: guided against unguided autoencoders at equal reconstruction error, over seeds."""

from __future__ import annotations

import pandas as pd

from lbr.scorecard.claims import FIG6_GAP, FIG6_VALUES, SAME_RECON
from lbr.scorecard.scale import autoencoder_scale
from lbr.scorecard.stats import difference, mean_over_runs
from lbr.scorecard.verdicts import NOT_BUILT, NOT_COMPARABLE, all_of, directional, equivalence

GAP_EFFECT, VALUE_MARGIN = 20.0, 10.0


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def equal_recon_pair(fig6: pd.DataFrame) -> tuple[pd.Series | None, str]:
    """The (unguided, guided) pair of runs with the closest reconstruction: the seed means of the train and the
    validation MSE of every unguided latent against every guided (latent, weight), the distance the larger relative
    difference of the two, the closest pair kept when both are within SAME_RECON. The rule reads no accuracy."""
    splits = ["recon_loss"] + (["train_recon_loss"] if "train_recon_loss" in fig6 else [])
    means = fig6.groupby(["latent", "guidance"], as_index=False)[splits].mean()
    unguided, guided = means[means["guidance"] == 0], means[means["guidance"] > 0]
    pairs = unguided.merge(guided, how="cross", suffixes=("_u", "_g"))
    if pairs.empty:
        return None, ""
    pairs["distance"] = pairs.apply(lambda p: max(relative(p[f"{c}_u"], p[f"{c}_g"]) for c in splits), axis=1)
    best = pairs.loc[pairs["distance"].idxmin()]
    which = "train and validation" if len(splits) == 2 else "validation (the table has no train MSE)"
    if best["distance"] > SAME_RECON:
        return None, (
            f"no unguided and guided runs within {100 * SAME_RECON:g}% on the {which} reconstruction MSE (closest: "
            f"latents {int(best['latent_u'])}/{int(best['latent_g'])}, {100 * best['distance']:.0f}% apart)"
        )
    return best, which


def accuracies(fig6: pd.DataFrame, latent, guidance) -> dict[int, float]:
    rows = fig6[(fig6["latent"] == latent) & (fig6["guidance"] == guidance)]
    return {int(r["seed"]): 100 * float(r["acc_linear"]) for _, r in rows.iterrows()}


def fig6_claims(fig6: pd.DataFrame) -> list[dict]:
    if not ((fig6["guidance"] == 0).any() and (fig6["guidance"] > 0).any()):
        return [c.row(NOT_BUILT, "needs runs with guidance 0 and > 0") for c in (FIG6_GAP, FIG6_VALUES)]
    data, scale = ", ".join(map(str, fig6["dataset"].unique())), autoencoder_scale(fig6)
    pair, which = equal_recon_pair(fig6)
    if pair is None:
        out = [FIG6_GAP.row(NOT_COMPARABLE, which, data=data, scale=scale)]
    else:
        u = accuracies(fig6, pair["latent_u"], 0.0)
        g = accuracies(fig6, pair["latent_g"], pair["guidance_g"])
        est = difference(g, u)
        text = (
            f"{sum(u.values()) / len(u):.1f}% -> {sum(g.values()) / len(g):.1f}% (latents {int(pair['latent_u'])} / "
            f"{int(pair['latent_g'])}, guidance {pair['guidance_g']:g}, {which} MSE within "
            f"{100 * pair['distance']:.1f}%); guided - unguided {est.interval_text(' points')}"
        )
        out = [FIG6_GAP.row(directional(est, GAP_EFFECT), text, est, data, scale)]
    if not (fig6["dataset"] == "imagenette").any():
        return out + [
            FIG6_VALUES.row(NOT_BUILT, f"the paper's numbers are for Imagenette; the guidance runs used {data}")
        ]
    imagenette = fig6[fig6["dataset"] == "imagenette"]
    pair, which = equal_recon_pair(imagenette)
    scale = autoencoder_scale(imagenette)
    if pair is None:
        return out + [FIG6_VALUES.row(NOT_COMPARABLE, which, data="imagenette", scale=scale)]
    u = mean_over_runs(list(accuracies(imagenette, pair["latent_u"], 0.0).values())).shifted(50.0)
    g = mean_over_runs(list(accuracies(imagenette, pair["latent_g"], pair["guidance_g"]).values())).shifted(90.0)
    status = all_of([equivalence(u, VALUE_MARGIN), equivalence(g, VALUE_MARGIN)])
    text = f"unguided - 50: {u.interval_text(' points')}; guided - 90: {g.interval_text(' points')}"
    return out + [FIG6_VALUES.row(status, text, g, "imagenette", scale)]
