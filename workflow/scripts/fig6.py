"""Rule fig6: validation accuracy against validation reconstruction error, one point per (latent, guidance)."""

import pandas as pd
from lbr_script import run

from lbr import guidance_plots, plots


def main(smk):
    fig = guidance_plots.fig6(pd.read_csv(smk.input.table))
    plots.save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
