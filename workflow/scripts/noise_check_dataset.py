"""Rule noise_check_dataset: can each configured noise ever change what a linear autoencoder keeps?"""

import logging

import pandas as pd
from lbr_script import run

from lbr.config.settings import DenoisingSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.machine.progress import track
from lbr.theory import alignment, denoising

log = logging.getLogger("lbr")


def main(smk):
    s, check, dataset = DenoisingSettings.from_config(smk.config), smk.params.check, smk.wildcards.dataset
    specs = [denoising.NoiseSpec.from_dict(entry).with_draws(s.pca_mask_draws) for entry in check["noises"]]
    moments = alignment.load_moments(smk.input.moments)
    basis, xtx = denoising.noise_inputs(moments, specs, s.rank_rtol, pick_device(s.device))
    rows, angles = [], []
    for spec in track(specs, f"noise check of {dataset}", len(specs), "noises"):
        summary, per_k = denoising.noise_check(
            basis, xtx, spec, moments.shape, moments.n, check["k_max"], check["tol_deg"], s.jitter
        )
        log.info(
            "%s %s: max angle %.3g deg, verdict %s", dataset, spec.label, summary["max_angle_deg"], summary["verdict"]
        )
        rows.append({"dataset": dataset, **summary})
        angles.append(per_k.assign(dataset=dataset)[["dataset", *per_k.columns]])
    save_csv(pd.DataFrame(rows).astype({"patch": "Int64"}), smk.output.summary)
    save_csv(pd.concat(angles, ignore_index=True), smk.output.angles)


run(main, snakemake)  # noqa: F821
