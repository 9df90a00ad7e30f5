"""Rule fig11_dataset: the reconstruction and joint-embedding optima of one dataset under every augmentation of
the grid, and their Eq. 7 alignment for every K."""

from lbr_script import run

from lbr.config.settings import DenoisingSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.tables import objectives
from lbr.theory import alignment, denoising
from lbr.theory.noise import NoiseSpec


def main(smk):
    s, grid = DenoisingSettings.from_config(smk.config), smk.params.grid
    augs = objectives.augmentations(grid, s.pca_mask_draws)
    moments = alignment.load_moments(smk.input.moments)
    for aug in augs:
        aug.check_shape(moments.shape)
    noises = [a for a in augs if isinstance(a, NoiseSpec)]
    basis, xtx = denoising.noise_inputs(moments, noises, s.rank_rtol, pick_device(s.device))
    table = objectives.dataset_table(basis, xtx, moments, augs, s.jitter, grid["small_k"])
    table.insert(0, "dataset", smk.wildcards.dataset)
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
