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
# Fig. 4: classifier training grid -----------------------------------------------------------------------------
TRAIN_RUN = "results/train/{dataset}/{arch}/{side}-{pct}/aug{aug}/seed{seed}"
TRAIN_MEM_MB = {"tinyimagenet": 16000, "imagenette": 24000}
TRAIN_RUNTIME_MIN = {"tinyimagenet": 240, "imagenette": 240, "arabic_characters": 60}


def fig4_runs():
    """metrics.json of every run of the Fig. 4 grid in config['fig4']."""
    c = config["fig4"]
    return expand(
        f"{TRAIN_RUN}/metrics.json",
        dataset=c["datasets"],
        arch=c["archs"],
        side=c["sides"],
        pct=c["shares"],
        aug=c["aug"],
        seed=c["seeds"],
    )


def train_settings(wildcards):
    """The training recipe of one run as a JSON string (stable, so only real changes trigger reruns)."""
    c = config["fig4"]
    keys = ("batch_size", "lr", "weight_decay", "pct_start", "loss", "width", "compile", "compile_mode", "device")
    settings = {k: c[k] for k in keys} | {
        "epochs": c["epochs_by_dataset"].get(wildcards.dataset, c["epochs"]),
        "eval_every": c["eval_every"],
        "checkpoint_every": c["checkpoint_every"],
    }
    return json.dumps(settings, sort_keys=True)


def train_mem_mb(wildcards, attempt):
    return TRAIN_MEM_MB.get(wildcards.dataset, 8000) * attempt


def train_runtime(wildcards, attempt):
    """Minutes for one run on one GPU (generous for older cards), doubled per retry."""
    return TRAIN_RUNTIME_MIN.get(wildcards.dataset, 30) * 2 ** (attempt - 1)
