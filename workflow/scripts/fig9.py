"""Rule fig9: originals, bottom- and top-subspace projections of random training images."""

from lbr_script import run

from lbr import plots, spectrum, subspace
from lbr.datasets import load_split


def main(smk):
    cfg = smk.params.cfg
    x, _, _ = load_split(smk.input.train)
    spec = spectrum.load(smk.input.spectrum)
    subs = [
        subspace.resolve(spec["eigenvalues"], side, cfg[side], smk.params.grid_points, smk.params.bottom_power)
        for side in ("bottom", "top")
    ]
    fig = plots.subspace_gallery(x, spec, subs, cfg["n_images"], cfg["columns"], cfg["seed"], cfg["dataset"])
    plots.save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
