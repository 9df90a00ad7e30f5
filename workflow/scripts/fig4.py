"""Rule fig4: test accuracy against the share of variance kept, top vs bottom subspace (reads the table)."""

import pandas as pd
from lbr_script import run

from lbr import plots
from lbr.plots_accuracy import accuracy_vs_variance


def main(smk):
    fig = accuracy_vs_variance(pd.read_csv(smk.input[0]))
    plots.save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
