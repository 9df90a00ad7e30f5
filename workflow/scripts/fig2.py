"""Rule fig2: draw Fig. 2 from its table."""

import pandas as pd
from lbr_script import run

from lbr import plots, theory_figures


def main(smk):
    table = pd.read_csv(smk.input.table)
    fig = theory_figures.fig2(table, **smk.params.options)
    plots.save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
