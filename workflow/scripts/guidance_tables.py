"""Rule guidance_tables: every run's history -> results/tables/fig5.csv (curves) and fig6.csv (final points)."""

from lbr_script import run

from lbr.tables.guidance import write_tables


def main(smk):
    histories, metrics = list(smk.input.history), list(smk.input.metrics)
    write_tables(histories, list(smk.params.runs), smk.output.fig5, smk.output.fig6, metrics)


run(main, snakemake)  # noqa: F821
