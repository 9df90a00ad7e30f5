"""Rule fig1: accuracy on top vs bottom subspace (fig4 table), example images, learning dynamics (fig1 table)."""

import pandas as pd
from lbr_script import run

from lbr import dynamics_plots as dp
from lbr import spectrum, subspace
from lbr.datasets import load_split


def main(smk):
    cfg = smk.params.cfg
    x, _, _ = load_split(smk.input.train)
    spec = spectrum.load(smk.input.spectrum)
    subs = [
        subspace.resolve(spec["eigenvalues"], side, cfg[side], smk.params.grid_points, smk.params.bottom_power)
        for side in ("bottom", "top")
    ]
    images = dp.example_images(x, spec, subs, list(cfg["image_indices"]))
    top = {"dataset": cfg["dataset_top"], "arch": cfg["arch_top"], "aug": cfg["aug"]}
    acc, dyn = pd.read_csv(smk.input.accuracy), pd.read_csv(smk.input.dynamics)
    fig = dp.fig1(acc, top, images, subs, dyn, cfg["dynamics_run"])
    dp.save_pages([fig], smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
