"""Rule fig2_dataset: Eq. 7 alignment for every K of one dataset."""

from lbr_script import run

from lbr.config.settings import AlignmentSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.theory import alignment


def main(smk):
    s = AlignmentSettings.from_config(smk.config)
    moments = alignment.load_moments(smk.input.moments)
    basis = alignment.pca_basis(moments, s.rank_rtol, pick_device(s.device))
    save_csv(alignment.sweep_table(basis, moments, smk.wildcards.dataset), smk.output[0])


run(main, snakemake)  # noqa: F821
