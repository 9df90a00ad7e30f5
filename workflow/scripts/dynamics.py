"""Rule dynamics: train one autoencoder and record its reconstruction energy per eigen-direction."""

from lbr_script import run

from lbr.datasets import load_split
from lbr.device import pick_device
from lbr.dynamics_run import run as run_dynamics
from lbr.dynamics_run import settings_from_config


def main(smk):
    cfg = smk.params.settings
    x_train, _, _ = load_split(smk.input.train)
    x_test, _, _ = load_split(smk.input.test)
    settings = settings_from_config(smk.wildcards.arch, int(smk.wildcards.depth), cfg)
    run_dynamics(
        x_train,
        x_test,
        settings,
        pick_device(cfg["device"]),
        smk.output.energies,
        smk.output.history,
        keep_checkpoint=cfg["keep_checkpoint"],
    )


run(main, snakemake)  # noqa: F821
