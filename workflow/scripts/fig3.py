"""Rule fig3: page 1 = the paper's four spectrum panels, page 2 = learning time per eigenvalue band."""

import pandas as pd
from lbr_script import run

from lbr.figures.dynamics import fig3_bands, fig3_spectra
from lbr.figures.save import save_figure


def main(smk):
    runs, dataset = smk.params.runs, smk.params.dataset
    pages = [
        fig3_spectra(pd.read_csv(smk.input.directions), dataset, runs),
        fig3_bands(pd.read_csv(smk.input.bands), dataset, runs),
    ]
    save_figure(pages, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
