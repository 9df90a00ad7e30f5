"""Rule train_guidance: one guided ResNet autoencoder (latent, guidance, seed) -> history, metrics, recon.

Its checkpoint, checkpoint.pt next to the outputs, is not a declared output, so a rerun resumes from it."""

from pathlib import Path

from lbr_script import run

from lbr.config.settings import GuidanceSettings
from lbr.training.guidance import run_experiment


def main(smk):
    settings = GuidanceSettings.from_config(smk.config, smk.wildcards)
    outputs = {"history": smk.output.history, "metrics": smk.output.metrics, "recon": smk.output.recon}
    checkpoint = Path(smk.output.metrics).parent / "checkpoint.pt"
    run_experiment(smk.input.train, smk.input.test, outputs, settings, checkpoint)


run(main, snakemake)  # noqa: F821
