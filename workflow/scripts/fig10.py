"""Rule fig10: probe accuracy over epochs per noise, capture epochs per band, measured change vs Theorem 3."""

import pandas as pd
from lbr_script import run

from lbr.figures.denoising import fig10
from lbr.figures.save import save_figure


def main(smk):
    table, bands = pd.read_csv(smk.input.table), pd.read_csv(smk.input.bands)
    save_figure(fig10(table, bands, smk.params.datasets, smk.params.runs), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
