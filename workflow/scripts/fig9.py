"""Rule fig9: originals, bottom- and top-subspace projections of random training images."""

from lbr_script import run

from lbr.data import load_split
from lbr.figures.images import subspace_gallery
from lbr.figures.save import save_figure
from lbr.spectral import basis_file
from lbr.spectral.subspaces import Grid, resolve_sides


def main(smk):
    cfg = smk.params.cfg
    x, _, _ = load_split(smk.input.train)
    spectrum = basis_file.load(smk.input.spectrum)
    subs = resolve_sides(spectrum["eigenvalues"], cfg, Grid(**smk.params.grid))
    fig = subspace_gallery(
        x, spectrum, subs, cfg["n_images"], cfg["columns"], cfg["seed"], cfg["dataset"], cfg["display"]
    )
    save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
