"""Rules fig2_table, fig7_table, fig8_table, fig11_table, noise_check_table: concatenate per-part tables."""

from lbr_script import run

from lbr.tables.concat import concat_csv


def main(smk):
    concat_csv(list(smk.input), smk.output[0])


run(main, snakemake)  # noqa: F821
