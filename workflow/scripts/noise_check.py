"""Rule noise_check_dataset: can each configured noise ever change what a linear autoencoder keeps?"""

import logging

import pandas as pd
from lbr_script import run

from lbr import alignment, denoising
from lbr.device import pick_device
from lbr.tables import save_csv

log = logging.getLogger("lbr")


def main(smk):
    cfg, check = smk.params.cfg, smk.params.check
    device = pick_device(cfg["device"])
    moments = alignment.load_moments(smk.input.moments)
    specs = [denoising.NoiseSpec.from_dict(entry) for entry in check["noises"]]
    for spec in specs:
        spec.check_shape(moments.shape)
    basis = alignment.pca_basis(moments, cfg["rank_rtol"], device)
    xtx = moments.xtx.to(device)
    rows, angles = [], []
    for spec in specs:
        summary, per_k = denoising.noise_check(
            basis, xtx, spec, moments.shape, moments.n, check["k_max"], check["tol_deg"], cfg["jitter"]
        )
        log.info("%s %s: max angle %.3g deg, verdict %s", smk.wildcards.dataset, spec.label, summary["max_angle_deg"], summary["verdict"])
        rows.append({"dataset": smk.wildcards.dataset, **summary})
        per_k.insert(0, "dataset", smk.wildcards.dataset)
        angles.append(per_k)
    save_csv(pd.DataFrame(rows).astype({"patch": "Int64"}), smk.output.summary)
    save_csv(pd.concat(angles, ignore_index=True), smk.output.angles)


run(main, snakemake)  # noqa: F821
