"""Rule fig1: accuracy on top vs bottom subspace (fig4 table), example images, learning dynamics (fig1 table)."""

import pandas as pd
from lbr_script import run

from lbr.data import load_split
from lbr.figures.images import example_images
from lbr.figures.overview import fig1
from lbr.figures.save import save_figure
from lbr.spectral import basis_file
from lbr.spectral.subspaces import Grid, resolve_sides


def main(smk):
    cfg = smk.params.cfg
    x, _, _ = load_split(smk.input.train)
    spectrum = basis_file.load(smk.input.spectrum)
    subs = resolve_sides(spectrum["eigenvalues"], cfg, Grid(**smk.params.grid))
    images = example_images(x, spectrum, subs, list(cfg["image_indices"]), cfg["display"])
    top = {"dataset": cfg["dataset_top"], "arch": cfg["arch_top"], "aug": cfg["aug"]}
    acc, dyn = pd.read_csv(smk.input.accuracy), pd.read_csv(smk.input.dynamics)
    save_figure(fig1(acc, top, images, subs, dyn, cfg["dynamics_run"]), smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
