"""Rule filter: project train and test onto a top/bottom subspace, renormalised as the paper trains on it."""

import logging

from lbr_script import run

from lbr.data import load_split
from lbr.device import pick_device
from lbr.settings import FilterSettings
from lbr.spectral import basis_file
from lbr.spectral.filtering import filter_dataset
from lbr.spectral.subspaces import Grid, resolve_in

log = logging.getLogger("lbr")


def main(smk):
    s, wc = FilterSettings.from_config(smk.config), smk.wildcards
    spectrum = basis_file.load(smk.input.spectrum)
    sub = resolve_in(spectrum, wc.side, wc.level, Grid.from_config(smk.config))
    log.info("%s-%s: %s, %.4f of the variance", sub.side, sub.level, sub.describe(), sub.variance_kept)
    splits = {split: load_split(smk.input[split])[0] for split in ("train", "test")}
    filter_dataset(splits, spectrum, sub, smk.output, pick_device(s.device), s.chunk_rows, wc.dataset)


run(main, snakemake)  # noqa: F821
