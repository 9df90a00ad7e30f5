"""Rule train_denoising: train one autoencoder on corrupted inputs (Fig. 10), recording its reconstruction energy
per eigen-direction and the ridge-probe accuracy of its code."""

from lbr_script import run

from lbr.config.settings import DenoisingAESettings
from lbr.data import load_split
from lbr.machine.device import pick_device
from lbr.training.dynamics import run as run_dynamics


def main(smk):
    settings = DenoisingAESettings.from_config(smk.config, smk.wildcards)
    x_train, y_train, classes = load_split(smk.input.train)
    x_test, y_test, _ = load_split(smk.input.test)
    device = pick_device(settings.device)
    out = smk.output
    run_dynamics(x_train, x_test, settings, device, out.energies, out.history, y_train=y_train, y_test=y_test,
                 n_classes=len(classes))  # fmt: skip


run(main, snakemake)  # noqa: F821
