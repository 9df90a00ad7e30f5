"""Rule train_dynamics: train one autoencoder and record its reconstruction energy per eigen-direction."""

from lbr_script import run

from lbr.config.settings import DynamicsSettings
from lbr.data import load_split
from lbr.machine.device import pick_device
from lbr.training.dynamics import run as run_dynamics


def main(smk):
    settings = DynamicsSettings.from_config(smk.config, smk.wildcards)
    x_train, y_train, _ = load_split(smk.input.train)
    x_test, _, _ = load_split(smk.input.test)
    device = pick_device(settings.device)
    run_dynamics(x_train, x_test, settings, device, smk.output.energies, smk.output.history, y_train=y_train)


run(main, snakemake)  # noqa: F821
