"""Rule fig7_dataset: alignment under masking and Gaussian noise (Eq. 9) for every K of one dataset."""

import logging

from lbr_script import run

from lbr import alignment, denoising
from lbr.device import pick_device
from lbr.tables import save_csv

log = logging.getLogger("lbr")


def main(smk):
    cfg, fig = smk.params.cfg, smk.params.fig
    device = pick_device(cfg["device"])
    moments = alignment.load_moments(smk.input.moments)
    specs = [denoising.NoiseSpec("gaussian", sigma=float(s)) for s in fig["sigmas"]]
    specs += [denoising.NoiseSpec("mask", float(r), int(p)) for p in fig["patches"] for r in fig["ratios"]]
    for spec in specs:
        spec.check_shape(moments.shape)
    basis = alignment.pca_basis(moments, cfg["rank_rtol"], device)
    xtx = moments.xtx.to(device)
    table = denoising.impact_table(basis, xtx, specs, moments.shape, moments.n, cfg["jitter"], fig["measure"], log)
    table.insert(0, "dataset", smk.wildcards.dataset)
    table["D"] = basis.d
    table["preprocessing"] = moments.preprocessing
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
