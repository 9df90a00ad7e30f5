"""Rule paper_check: the tidy tables of the configured figures -> the rebuilt-vs-paper scorecard, and a record of the
run it describes (for `lbr check --markdown`)."""

import logging

import pandas as pd
from lbr_script import run

from lbr.io import save_csv, save_json, save_text
from lbr.scorecard.card import scorecard
from lbr.scorecard.render import as_html, summary
from lbr.scorecard.run_record import run_record

log = logging.getLogger("lbr")


def main(smk):
    card = scorecard({name: pd.read_csv(path) for name, path in smk.input.items()}, smk.params.options)
    log.info("%s", "; ".join(summary(card)))
    save_csv(card, smk.output.csv)
    save_text(smk.output.html, as_html(card))
    save_json(smk.output.run, run_record(smk.params.run))


run(main, snakemake)  # noqa: F821
