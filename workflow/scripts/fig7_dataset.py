"""Rule fig7_dataset: alignment under masking, Gaussian noise and PCA masks (Eq. 9) for every K of one dataset."""

from lbr_script import run

from lbr.config.settings import DenoisingSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.theory import alignment, denoising


def main(smk):
    s, fig = DenoisingSettings.from_config(smk.config), smk.params.noises
    specs = [denoising.NoiseSpec("gaussian", sigma=float(v)) for v in fig["sigmas"]]
    specs += [denoising.NoiseSpec("mask", float(r), int(p)) for p in fig["patches"] for r in fig["ratios"]]
    pca = [denoising.NoiseSpec("pca_mask", float(r), share=fig["pca_share"]) for r in fig["pca_ratios"]]
    specs += [spec.with_draws(s.pca_mask_draws) for spec in pca]
    moments = alignment.load_moments(smk.input.moments)
    basis, xtx = denoising.noise_inputs(moments, specs, s.rank_rtol, pick_device(s.device))
    table = denoising.impact_table(basis, xtx, specs, moments.shape, moments.n, s.jitter)
    table.insert(0, "dataset", smk.wildcards.dataset)
    table["D"], table["preprocessing"] = basis.d, moments.preprocessing
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
