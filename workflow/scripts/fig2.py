"""Rule fig2: draw Fig. 2 from its table."""

import pandas as pd
from lbr_script import run

from lbr.figures.save import save_figure
from lbr.figures.theory import fig2


def main(smk):
    save_figure(fig2(pd.read_csv(smk.input.table), **smk.params.options), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
