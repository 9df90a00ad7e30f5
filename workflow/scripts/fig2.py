"""Rule fig2: draw Fig. 2 from its table."""

import pandas as pd
from lbr_script import run

from lbr.figures.save import save_figure
from lbr.figures.theory import fig2


def main(smk):
    table = pd.read_csv(smk.input.table)
    if "preprocessing" in table:  # the table also holds the pixels the scorecard checks on (fig2.check_preprocessing)
        table = table[table["preprocessing"] == smk.params.preprocessing]
    save_figure(fig2(table, **smk.params.options), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
