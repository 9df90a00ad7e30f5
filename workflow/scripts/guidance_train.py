"""Rule guidance_train: one guided ResNet autoencoder (latent, guidance, seed) -> history, metrics, recon."""

from lbr_script import run

from lbr.guidance import run_experiment


def main(smk):
    run_experiment(
        smk.input.train,
        smk.input.test,
        {"history": smk.output.history, "metrics": smk.output.metrics, "recon": smk.output.recon},
        dict(smk.params.settings),
        smk.params.checkpoint,
    )


run(main, snakemake)  # noqa: F821
