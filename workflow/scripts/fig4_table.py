"""Rule fig4_table: every run's metrics.json -> the tidy table results/tables/fig4.csv."""

from lbr_script import run

from lbr.classify import metrics_table
from lbr.io import save_text


def main(smk):
    save_text(smk.output[0], metrics_table(list(smk.input)).to_csv(index=False))


run(main, snakemake)  # noqa: F821
