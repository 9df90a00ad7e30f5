"""Rule guidance_tables: every run's history -> results/tables/fig5.csv (curves) and fig6.csv (final points)."""

from lbr_script import run

from lbr.tables.guidance import write_tables


def main(smk):
    write_tables(list(smk.input.history), list(smk.params.runs), smk.output.fig5, smk.output.fig6)


run(main, snakemake)  # noqa: F821
