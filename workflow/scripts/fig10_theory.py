"""Rule fig10_theory: Theorem 3's alignment under each Fig. 10 noise, for every K, of one dataset (standardized
pixels, the coordinates the trainer's noise is drawn in)."""

from lbr_script import run

from lbr.config.settings import DenoisingSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.theory import alignment, denoising
from lbr.theory.noise import NoiseSpec


def main(smk):
    s = DenoisingSettings.from_config(smk.config)
    specs = [NoiseSpec.from_dict(entry).with_draws(s.pca_mask_draws) for entry in smk.params.noises]
    moments = alignment.load_moments(smk.input.moments)
    basis, xtx = denoising.noise_inputs(moments, specs, s.rank_rtol, pick_device(s.device))
    table = denoising.impact_table(basis, xtx, specs, moments.shape, moments.n, s.jitter)
    table.insert(0, "dataset", smk.wildcards.dataset)
    table.insert(1, "noise_label", [spec.label for spec in specs for _ in range(basis.rank)])
    table["D"], table["rank"], table["preprocessing"] = basis.d, basis.rank, moments.preprocessing
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
