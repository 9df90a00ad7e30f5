"""Helpers for every stage: target lists, per-dataset resources, temp() policy."""

import json

from lbr.config import dataset_names, dataset_options
from lbr.datasets.registry import dataset_spec

DATASETS = dataset_names(config)
BIG_DATASETS = {"imagenette": 24000, "tinyimagenet": 16000}


def figure_targets():
    """PDFs built by `all`, from config['figures']."""
    return [f"figures/{name}.pdf" for name in config["figures"]]


def needs_download(name):
    return dataset_spec(name, dataset_options(config, name), config["custom_datasets"]).kind in (
        "remote",
        "local_archive",
    )


def manifest_input(wildcards):
    """The raw-file manifest, for datasets that have raw files."""
    if needs_download(wildcards.dataset):
        return f"resources/manifests/{wildcards.dataset}.json"
    return []


def prepare_options(wildcards):
    return json.dumps(dataset_options(config, wildcards.dataset), sort_keys=True)


def dataset_mem_mb(wildcards, attempt):
    return BIG_DATASETS.get(wildcards.dataset, 4000) * attempt


def filtered(path):
    """Projected datasets are large: temp() unless keep_filtered."""
    return path if config["keep_filtered"] else temp(path)


def dynamics_energies(dataset, runs):
    """Energy files of learning-dynamics runs [{arch, depth}, ...] on one dataset."""
    return [f"results/dynamics/{dataset}/{r['arch']}-depth{r['depth']}/energies.npz" for r in runs]
