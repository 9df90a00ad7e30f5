"""Rule filter: project train and test onto a top/bottom subspace, renormalised as the paper trains on it."""

import logging

from lbr_script import run

from lbr.config.settings import FilterSettings
from lbr.data import load_split
from lbr.machine.device import pick_device
from lbr.spectral import basis_file
from lbr.spectral.filtering import filter_dataset
from lbr.spectral.subspaces import Grid, feasible_shares, resolve, substitution

log = logging.getLogger("lbr")


def main(smk):
    s, wc = FilterSettings.from_config(smk.config), smk.wildcards
    spectrum = basis_file.load(smk.input.spectrum)
    sub = resolve(spectrum["eigenvalues"], wc.side, wc.level, Grid.from_config(smk.config))
    log.info("%s-%s: %d of %d directions, %.4f of the variance", *(sub.side, sub.level, sub.dims), *(
        sub.n_directions, sub.variance_kept))  # fmt: skip
    if sub.substituted:
        log.warning("lbr: %s: %s (%s)", wc.dataset, substitution(sub), feasible_shares(spectrum["eigenvalues"]))
    splits = {split: load_split(smk.input[split])[0] for split in ("train", "test")}
    filter_dataset(splits, spectrum, sub, smk.output, pick_device(s.device), s.chunk_rows, wc.dataset)


run(main, snakemake)  # noqa: F821
