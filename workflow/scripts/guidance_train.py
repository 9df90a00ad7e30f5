"""Rule guidance_train: one guided ResNet autoencoder (latent, guidance, seed) -> history, metrics, recon."""

from lbr_script import run

from lbr.guidance import RUNTIME_KEYS, run_experiment


def main(smk):
    run_experiment(
        smk.input.train,
        smk.input.test,
        {"history": smk.output.history, "metrics": smk.output.metrics, "recon": smk.output.recon},
        dict(smk.params.settings) | {k: smk.config["guidance"][k] for k in RUNTIME_KEYS},
        smk.params.checkpoint,
    )


run(main, snakemake)  # noqa: F821
