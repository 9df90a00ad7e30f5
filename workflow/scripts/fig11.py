"""Rule fig11: draw Fig. 11 from its table."""

import pandas as pd
from lbr_script import run

from lbr.figures.objectives import fig11
from lbr.figures.save import save_figure


def main(smk):
    save_figure(fig11(pd.read_csv(smk.input.table), **smk.params.options), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
