"""Rules fig3_tables and fig1_dynamics_table: per-run energies -> tidy tables (directions, and bands)."""

from lbr_script import run

from lbr.io import save_csv
from lbr.tables.dynamics import run_tables


def main(smk):
    p = smk.params
    with_bands = hasattr(smk.output, "bands")
    directions, bands = run_tables(list(smk.input), p.runs, p.dataset, p.epochs, p.get("bands"), p.get("threshold"))
    save_csv(directions, smk.output.directions)
    if with_bands:
        save_csv(bands, smk.output.bands)


run(main, snakemake)  # noqa: F821
