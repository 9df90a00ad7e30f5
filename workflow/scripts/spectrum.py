"""Checkpoint spectrum: eigenbasis of the preprocessed train images, and which variance shares exist on them."""

import logging

from lbr_script import run

from lbr.config.settings import SpectrumSettings
from lbr.data import load_split
from lbr.machine.device import pick_device
from lbr.spectral import basis_file, eigenbasis
from lbr.spectral.subspaces import feasible_shares

log = logging.getLogger("lbr")


def main(smk):
    s = SpectrumSettings.from_config(smk.config)
    x, _, _ = load_split(smk.input.train)
    result = eigenbasis.compute(x, pick_device(s.device), s.chunk_rows, s.chunk_cols, s.max_vectors, s.method)
    basis_file.save(smk.output[0], result)
    log.info("%s: %s", smk.wildcards.dataset, feasible_shares(result["eigenvalues"]))


run(main, snakemake)  # noqa: F821
