"""Rule train: one classifier on one subspace-filtered dataset -> metrics.json + history.csv (resumable)."""

import json

from lbr_script import run

from lbr.classify import ClassifierSettings, train_classifier


def main(smk):
    wc = smk.wildcards
    settings = ClassifierSettings(arch=wc.arch, aug=wc.aug == "1", seed=int(wc.seed), **json.loads(smk.params.settings))
    paths = {k: smk.input[k] for k in ("train", "test", "train_info", "test_info", "train_labels", "test_labels")}
    meta = {"dataset": wc.dataset, "side": wc.side, "spec": wc.pct}
    train_classifier(paths, settings, smk.output.metrics, smk.output.history, meta)


run(main, snakemake)  # noqa: F821
