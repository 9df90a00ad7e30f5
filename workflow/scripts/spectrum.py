"""Rule spectrum: eigenbasis of the preprocessed train images."""

from lbr_script import run

from lbr import spectrum
from lbr.datasets import load_split
from lbr.device import pick_device


def main(smk):
    x, _, _ = load_split(smk.input.train)
    result = spectrum.compute(
        x,
        pick_device(smk.params.device),
        chunk_rows=smk.params.chunk_rows,
        chunk_cols=smk.params.chunk_cols,
        max_vectors=smk.params.max_vectors,
        method=smk.params.method,
    )
    spectrum.save(smk.output[0], result)


run(main, snakemake)  # noqa: F821
