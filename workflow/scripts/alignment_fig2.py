"""Rule fig2_dataset: Eq. 7 alignment for every K of one dataset."""

import pandas as pd
from lbr_script import run

from lbr import alignment
from lbr.device import pick_device
from lbr.tables import save_csv


def main(smk):
    cfg = smk.params.cfg
    moments = alignment.load_moments(smk.input.moments)
    basis = alignment.pca_basis(moments, cfg["rank_rtol"], pick_device(cfg["device"]))
    sweep = alignment.sweep(basis)
    table = pd.DataFrame(
        {
            "dataset": smk.wildcards.dataset,
            "K": sweep["K"],
            "K_frac": sweep["K"] / basis.d,
            "alignment": sweep["alignment"],
            "alignment_code": sweep["alignment_code"],
            "D": basis.d,
            "rank": basis.rank,
            "n_train": moments.n,
            "preprocessing": moments.preprocessing,
        }
    )
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
