"""Rule fig5: reconstruction loss and validation accuracy over epochs, guided vs unguided, and reconstructions."""

import numpy as np
import pandas as pd
from lbr_script import run

from lbr.figures.guidance import fig5
from lbr.figures.save import save_figure


def main(smk):
    recon = []
    for path, weight in zip(smk.input.recon, smk.params.weights, strict=True):
        with np.load(path) as z:
            recon.append({"x": z["x"], "recon": z["recon"], "guidance": float(weight)})
    fig = fig5(pd.read_csv(smk.input.table), recon, smk.params.image_latent, smk.params.n_images)
    save_figure(fig, smk.output.pdf, smk.output.png)


run(main, snakemake)  # noqa: F821
