"""Rule alignment_moments: train split -> float64 sufficient statistics for the closed forms."""

from lbr_script import run

from lbr.config.settings import MomentsSettings
from lbr.data import load_split
from lbr.machine.device import pick_device
from lbr.theory import alignment


def main(smk):
    s = MomentsSettings.from_config(smk.config)
    x, y, classes = load_split(smk.input.train)
    moments = alignment.compute_moments(
        x,
        y,
        len(classes),
        smk.wildcards.prep,
        s.method,
        pick_device(s.device),
        s.chunk_rows,
        s.chunk_cols,
        need_covariance=bool(smk.params.covariance_for),
    )
    alignment.save_moments(smk.output[0], moments)


run(main, snakemake)  # noqa: F821
