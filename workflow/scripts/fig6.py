"""Rule fig6: validation accuracy against validation reconstruction error, one point per (latent, guidance)."""

import pandas as pd
from lbr_script import run

from lbr.figures.guidance import fig6
from lbr.figures.save import save_figure


def main(smk):
    save_figure(fig6(pd.read_csv(smk.input.table)), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
