"""Rule fig8_denoising: Theorem 3 (Gaussian noise) closed form vs SGD with several noisy views per step."""

from lbr_script import run

from lbr.config.settings import DenoisingGDSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.theory import linear


def main(smk):
    s = DenoisingGDSettings.from_config(smk.config)
    table = linear.denoising_table({**s.denoising, "n": s.n}, pick_device(s.device))
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
