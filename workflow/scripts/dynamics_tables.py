"""Rules fig3_tables and fig1_dynamics_table: per-run energies -> tidy tables (directions, and bands)."""

import pandas as pd
from lbr_script import run

from lbr import dynamics
from lbr.dynamics_run import load
from lbr.io import save_text


def main(smk):
    p = smk.params
    directions, bands = [], []
    for path, r in zip(smk.input, p.runs):
        result = load(path)
        key = {"dataset": p.dataset, "arch": r["arch"], "depth": int(r["depth"])}
        directions.append(dynamics.direction_table(result, list(p.epochs)).assign(**key))
        if hasattr(smk.output, "bands"):
            bands.append(dynamics.band_table(result, p.bands, p.threshold).assign(**key))
    lead = ["dataset", "arch", "depth"]
    table = pd.concat(directions, ignore_index=True)
    save_text(smk.output.directions, table[lead + [c for c in table if c not in lead]].to_csv(index=False))
    if bands:
        table = pd.concat(bands, ignore_index=True)
        save_text(smk.output.bands, table[lead + [c for c in table if c not in lead]].to_csv(index=False))


run(main, snakemake)  # noqa: F821
