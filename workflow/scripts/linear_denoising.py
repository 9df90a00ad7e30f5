"""Rule fig8_denoising: Theorem 3 (Gaussian noise) closed form vs SGD with several noisy views per step."""

from lbr_script import run

from lbr import linear
from lbr.device import pick_device
from lbr.tables import save_csv


def main(smk):
    cfg = smk.params.cfg
    table = linear.denoising_table({**cfg["denoising"], "n": cfg["n"]}, pick_device(cfg["device"]))
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
