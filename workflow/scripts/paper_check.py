"""Rule paper_check: the tidy tables of the configured figures -> the rebuilt-vs-paper scorecard."""

import logging

import pandas as pd
from lbr_script import run

from lbr.io import save_csv, save_text
from lbr.tables.scorecard import as_html, scorecard

log = logging.getLogger("lbr")


def main(smk):
    card = scorecard({name: pd.read_csv(path) for name, path in smk.input.items()}, smk.params.fig1)
    log.info("%s", card["status"].value_counts().to_dict())
    save_csv(card, smk.output.csv)
    save_text(smk.output.html, as_html(card))


run(main, snakemake)  # noqa: F821
