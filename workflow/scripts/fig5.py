"""Rule fig5: reconstruction loss and validation accuracy over epochs, guided vs unguided, and reconstructions."""

import numpy as np
import pandas as pd
from lbr_script import run

from lbr import guidance_plots, plots


def main(smk):
    recon = []
    for path, weight in zip(smk.input.recon, smk.params.weights, strict=True):
        with np.load(path) as z:
            recon.append({"x": z["x"], "recon": z["recon"], "guidance": float(weight)})
    fig = guidance_plots.fig5(pd.read_csv(smk.input.table), recon, smk.params.image_latent, smk.params.n_images)
    plots.save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
