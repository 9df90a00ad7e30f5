"""Fig. 3: the rate at which an autoencoder learns the bands of the spectrum, per run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lbr.scorecard.claims import FIG3_RATE, MIN_BANDS
from lbr.scorecard.scale import autoencoder_scale
from lbr.scorecard.stats import slope
from lbr.scorecard.verdicts import INCONCLUSIVE, NOT_BUILT, directional

RATE_EFFECT = 1.0  # epochs per decade of eigenvalue


def band_capture(run: pd.DataFrame) -> pd.DataFrame:
    """One row per band of a run, by descending eigenvalue: its eigenvalue and capture epoch (-1: before training,
    NaN: never)."""
    per_band = run.drop_duplicates("band_eigenvalue").sort_values("band_eigenvalue", ascending=False)
    return per_band[["band_eigenvalue", "capture_epoch"]].reset_index(drop=True)


def fig3_claims(bands: pd.DataFrame) -> list[dict]:
    out = []
    for (dataset, arch, depth), run in bands.groupby(["dataset", "arch", "depth"], sort=True):
        per_band = band_capture(run)
        epochs = per_band["capture_epoch"].to_numpy(dtype=float)
        before, never = int((epochs < 0).sum()), int(np.isnan(epochs).sum())
        learned = per_band[(per_band["capture_epoch"] >= 0) & per_band["band_eigenvalue"].gt(0)]
        counts = (
            f"{len(learned)} of {len(per_band)} bands captured after training began ({before} before training, "
            f"{never} never within {int(run['epoch'].max()) + 1} epochs)"
        )
        ids = {"id": f"fig3-rate-{arch}{depth}", "claim": f"{dataset} {arch}-depth{depth}: {FIG3_RATE.claim}"}
        scale = f"{arch} depth {depth}, {autoencoder_scale(run)}"
        if len(learned) < 2:
            out.append(FIG3_RATE.row(INCONCLUSIVE, f"{counts}: no rate to measure", None, dataset, scale, **ids))
            continue
        est = slope(np.log10(learned["band_eigenvalue"]), learned["capture_epoch"] + 1).scaled(-1.0)
        text = f"{counts}; epochs later per decade lower: {est.interval_text(' epochs/decade', 2)}"
        if len(learned) < MIN_BANDS or not math.isfinite(est.value):
            out.append(FIG3_RATE.row(INCONCLUSIVE, f"{text}; fewer than {MIN_BANDS} bands", est, dataset, scale, **ids))
            continue
        out.append(FIG3_RATE.row(directional(est, RATE_EFFECT), text, est, dataset, scale, **ids))
    return out or [FIG3_RATE.row(NOT_BUILT, "no runs in fig3_bands.csv")]
