"""Rule train_classifier: one classifier on one subspace-filtered dataset -> metrics.json + history.csv."""

from lbr_script import run

from lbr.config.settings import ClassifierSettings
from lbr.training.classifier import train_classifier


def main(smk):
    wc = smk.wildcards
    settings = ClassifierSettings.from_config(smk.config, wc)
    paths = {k: smk.input[k] for k in ("train", "test", "train_info", "test_info", "train_labels", "test_labels")}
    meta = {"dataset": wc.dataset, "side": wc.side, "level": wc.level}
    train_classifier(paths, settings, smk.output.metrics, smk.output.history, meta)


run(main, snakemake)  # noqa: F821
