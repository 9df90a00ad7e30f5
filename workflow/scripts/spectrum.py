"""Rule spectrum: eigenbasis of the preprocessed train images."""

from lbr_script import run

from lbr.config.settings import SpectrumSettings
from lbr.data import load_split
from lbr.machine.device import pick_device
from lbr.spectral import basis_file, eigenbasis


def main(smk):
    s = SpectrumSettings.from_config(smk.config)
    x, _, _ = load_split(smk.input.train)
    result = eigenbasis.compute(x, pick_device(s.device), s.chunk_rows, s.chunk_cols, s.max_vectors, s.method)
    basis_file.save(smk.output[0], result)


run(main, snakemake)  # noqa: F821
