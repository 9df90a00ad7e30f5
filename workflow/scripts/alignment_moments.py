"""Rule alignment_moments: train split -> float64 sufficient statistics for the closed forms."""

from lbr_script import run

from lbr import alignment
from lbr.datasets import load_split
from lbr.device import pick_device


def main(smk):
    cfg = smk.params.cfg
    x, y, classes = load_split(smk.input.train)
    moments = alignment.compute_moments(
        x,
        y,
        len(classes),
        preprocessing=smk.wildcards.prep,
        method=cfg["method"],
        device=pick_device(cfg["device"]),
        chunk_rows=cfg["chunk_rows"],
        chunk_cols=cfg["chunk_cols"],
    )
    alignment.save_moments(smk.output[0], moments)


run(main, snakemake)  # noqa: F821
