"""Rule fig8_supervised: Theorem 1 closed form vs Adam on the paper's synthetic problem, one (D, K)."""

from lbr_script import run

from lbr import linear
from lbr.device import pick_device
from lbr.tables import save_csv


def main(smk):
    cfg = smk.params.cfg
    table = linear.supervised_table(int(smk.wildcards.d), int(smk.wildcards.k), cfg, pick_device(cfg["device"]))
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
