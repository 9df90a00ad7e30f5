"""Rule fig3: page 1 = the paper's four spectrum panels, page 2 = learning time per eigenvalue band."""

import pandas as pd
from lbr_script import run

from lbr import dynamics_plots as dp


def main(smk):
    directions = pd.read_csv(smk.input.directions)
    bands = pd.read_csv(smk.input.bands)
    runs, dataset = smk.params.runs, smk.params.dataset
    pages = [dp.fig3_spectra(directions, dataset, runs), dp.fig3_bands(bands, dataset, runs)]
    dp.save_pages(pages, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
