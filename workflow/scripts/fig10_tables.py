"""Rule fig10_tables: the denoising runs' energies and Theorem 3 per noise -> fig10.csv and fig10_bands.csv."""

import pandas as pd
from lbr_script import run

from lbr.io import save_csv
from lbr.tables.denoising import fig10_tables


def main(smk):
    p = smk.params
    theory = pd.concat([pd.read_csv(path) for path in smk.input.theory], ignore_index=True)
    probe, bands = fig10_tables(list(smk.input.runs), p.runs, theory, p.bands, p.threshold)
    save_csv(probe, smk.output.probe)
    save_csv(bands, smk.output.bands)


run(main, snakemake)  # noqa: F821
