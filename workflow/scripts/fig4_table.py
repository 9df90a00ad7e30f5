"""Rule fig4_table: every run's metrics.json -> the tidy table results/tables/fig4.csv, each run with the levels the
configuration requested that resolve to its subspace (`requested`)."""

from lbr_script import run

from lbr.io import save_csv
from lbr.spectral.basis_file import load_eigenvalues
from lbr.spectral.subspaces import Grid, distinct_levels
from lbr.tables.accuracy import metrics_table


def main(smk):
    table = metrics_table(list(smk.input.runs))
    grid = Grid(**smk.params.grid)
    requested = {}
    for (dataset, sides), spectrum in zip(smk.params.levels.items(), smk.input.spectra, strict=True):
        eigenvalues = load_eigenvalues(spectrum)
        for side, levels in sides.items():
            for sub, names in distinct_levels(eigenvalues, side, levels, grid):
                requested[(dataset, side, sub.level)] = "/".join(names)
    keys = zip(table["dataset"], table["side"], table["level"].astype(str))
    table["requested"] = [requested.get(key, level) for key, level in zip(keys, table["level"].astype(str))]
    save_csv(table, smk.output[0])


run(main, snakemake)  # noqa: F821
