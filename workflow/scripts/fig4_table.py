"""Rule fig4_table: every run's metrics.json -> the tidy table results/tables/fig4.csv."""

from lbr_script import run

from lbr.io import save_csv
from lbr.tables.accuracy import metrics_table


def main(smk):
    save_csv(metrics_table(list(smk.input)), smk.output[0])


run(main, snakemake)  # noqa: F821
