"""Rule fig8_supervised: Theorem 1 closed form vs Adam on the paper's synthetic problem, one (D, K)."""

from lbr_script import run

from lbr.config.settings import SupervisedGDSettings
from lbr.io import save_csv
from lbr.machine.device import pick_device
from lbr.theory import linear


def main(smk):
    s = SupervisedGDSettings.from_config(smk.config)
    table = linear.supervised_table(int(smk.wildcards.d), int(smk.wildcards.k), s.recipe(), pick_device(s.device))
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
