"""Rule fig4: test accuracy against the share of variance kept, top vs bottom subspace (reads the table)."""

import pandas as pd
from lbr_script import run

from lbr.figures.accuracy import accuracy_vs_variance
from lbr.figures.save import save_figure


def main(smk):
    save_figure(accuracy_vs_variance(pd.read_csv(smk.input[0])), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
