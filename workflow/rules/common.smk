"""Helpers for every stage: target lists, settings as params, per-dataset resources, temp() policy."""

import json
import os
from dataclasses import asdict
from functools import cache

from snakemake.exceptions import IncompleteCheckpointException
from snakemake.logging import logger

from lbr.config.checks import fig1_top_problem, source_problem
from lbr.config.sections import dataset_names, dataset_options, fig4_for, fig4_levels
from lbr.cost import jobs as job_costs
from lbr.cost.throughput import load as load_throughput
from lbr.data.content import dataset_fingerprint
from lbr.data.registry import dataset_spec, resized_options
from lbr.config.declared_models import wildcard_pattern
from lbr.errors import LbrError
from lbr.config.settings import (
    AlignmentSettings,
    ClassifierSettings,
    DenoisingAESettings,
    DenoisingGDSettings,
    DenoisingSettings,
    DynamicsSettings,
    FilterSettings,
    GuidanceSettings,
    MomentsSettings,
    SpectrumSettings,
    SupervisedGDSettings,
    format_guidance,
)
from lbr.figures.scale import denoising_scale, dynamics_scale, fig4_scale, guidance_scale
from lbr.spectral.basis_file import load_eigenvalues
from lbr.spectral.subspaces import ANNOUNCED, Grid, distinct_levels, feasible_shares
from lbr.theory.method import covariance_consumers
from lbr.theory.noise import LABEL_PATTERN, NoiseSpec

DATASETS = dataset_names(config)
THROUGHPUT = load_throughput(config["gpu_throughput"])  # GPU rates behind the training jobs' Slurm runtimes
BIG_DATASETS = {"imagenette": 24000, "tinyimagenet": 16000}
GRID = asdict(Grid.from_config(config))  # the authors' variance grid, one params entry for every rule that resolves it
CLASSIFIER_ARCHS = wildcard_pattern(config, "classifier")  # the paper's and the user's (config `models`)
AUTOENCODER_ARCHS = wildcard_pattern(config, "autoencoder")


def all_targets():
    """What `all` builds: the PDFs of config['figures'], the label-free noise check table and the scorecard."""
    targets = [f"figures/{name}.pdf" for name in config["figures"]]
    if config["noise_check"]["datasets"]:
        targets.append("results/tables/noise_check.csv")
    return targets + ["results/tables/paper_check.csv"]


# The tables the scorecard reads, each with the figures whose rules build it. The scorecard declares as inputs
# only the tables that the configured figures build anyway, so it reruns when one of them changes and never
# reads a table that this configuration does not produce.
SCORECARD_TABLES = {
    "fig2": ["fig2"],
    "fig3_bands": ["fig3"],
    "fig4": ["fig1", "fig4"],
    "fig6": ["fig5", "fig6"],
    "fig7": ["fig7"],
    "fig8": ["fig8"],
    "fig10": ["fig10"],
    "fig11": ["fig11"],
}


TABLE_DATASETS = {
    "fig2": lambda c: c["fig2"]["datasets"],
    "fig3_bands": lambda c: [c["fig3"]["dataset"]],
    "fig4": lambda c: c["fig4"]["datasets"],
    "fig6": lambda c: [c["guidance"]["dataset"]],
    "fig7": lambda c: c["fig7"]["datasets"],
    "fig8": lambda c: [],
    "fig10": lambda c: c["fig10"]["datasets"],
    "fig11": lambda c: c["fig11"]["datasets"],
    "noise_check": lambda c: c["noise_check"]["datasets"],
}
"""The datasets each scorecard table is computed from (a failed prepare of one of them keeps it from being built)."""


def scorecard_tables(wildcards):
    """{table: path} of the scorecard's inputs: the tables of config['figures'] and the noise check's."""
    figures = set(config["figures"])
    tables = {name: f"results/tables/{name}.csv" for name, figs in SCORECARD_TABLES.items() if figures & set(figs)}
    if config["noise_check"]["datasets"]:
        tables["noise_check"] = "results/tables/noise_check.csv"
    return tables


FIG2_PREPS = [p for p in dict.fromkeys([config["fig2"]["preprocessing"], config["fig2"]["check_preprocessing"]]) if p]
"""The pixels Fig. 2 is computed on: the figure's, and the one the scorecard also judges the class-count claim on."""


def report_failures(logs):
    """onerror: the failed jobs, each with its one sentence, and a partial scorecard whose rows say which inputs
    failed (results/tables/paper_check_partial.csv; `lbr check --table` shows it)."""
    import pandas as pd

    from lbr.io import save_csv
    from lbr.machine.failures import failed_jobs, failed_tables, summary
    from lbr.scorecard.card import scorecard
    from lbr.scorecard.render import summary as card_summary

    failures = failed_jobs(logs[0]) if logs else []
    logger.error(summary(failures))
    tables = scorecard_tables(None)
    failed = failed_tables(failures, {name: TABLE_DATASETS[name](config) for name in tables})
    if not failed:
        return
    read = {name: pd.read_csv(path) for name, path in tables.items() if name not in failed and os.path.isfile(path)}
    path = "results/tables/paper_check_partial.csv"
    card = scorecard(read, scorecard_options(), failed)
    save_csv(card, path)
    logger.error(f"lbr: partial scorecard in {path} (`lbr check --table {path}`): " + "; ".join(card_summary(card)))


def scorecard_options():
    """What the scorecard needs to know of the configuration: Fig. 1's top panel and the pixels Fig. 2 draws."""
    fig1 = {k: config["fig1"][k] for k in ("dataset_top", "arch_top", "aug")}
    return {"fig1": fig1, "fig2_preprocessing": config["fig2"]["preprocessing"]}


def run_description():
    """The run a scorecard describes (paper_check.json): configuration files, figures, the datasets by role."""
    here = os.getcwd()
    # relative to the working directory where they lie in it, so that a record copied into the docs names no machine
    files = [str(f) for f in workflow.configfiles]
    files = [os.path.relpath(f) if os.path.abspath(f).startswith(here + os.sep) else f for f in files]
    files.sort(key=lambda f: f != "config.yaml")  # the Snakefile's own file first: the others are layered over it
    return {
        "configfiles": files,
        "figures": list(config["figures"]),
        "roles": dict(config.get("roles") or {}),
        "data_root": config["data_root"],
    }


def recipe(kind):
    """Params function: the recipe of a job's settings (`lbr.config.settings`), so that changing a recipe key reruns
    exactly the jobs it affects while runtime keys (device, compile, ...) rerun nothing."""

    def params(wildcards):
        return kind.from_config(config, wildcards).recipe()

    return params


def moments_consumers(wildcards):
    """Params entry of a dataset's closed-form statistics: the sections (fig7, noise_check) whose Theorem 3 solve
    reads them and needs the D x D covariance, whatever N (`lbr.theory.method`); an explicit
    closed_form.method gram that cannot serve them stops the planning with one sentence."""
    try:
        return covariance_consumers(config, wildcards.dataset, wildcards.prep)
    except LbrError as err:
        raise LbrError(str(err)) from None


def needs_download(name):
    return dataset_spec(name, dataset_options(config, name), config["custom_datasets"]).kind in (
        "remote",
        "local_archive",
    )


FLAGGED = set()  # datasets already flagged by source_check in this plan


def source_check(wildcards):
    """No input; flags, while the plan is built, a dataset whose raw files can be neither found nor downloaded
    (the Arabic datasets without datasets.<name>.archive): an error before any job runs when the plan is to be
    executed, a warning otherwise (a dry run still shows the whole plan; --report, --summary run nothing)."""
    problem = source_problem(config, wildcards.dataset)
    if problem and workflow.executor_plugin is not None and not (workflow.dryrun or workflow.touch):
        raise LbrError(problem)
    if problem and wildcards.dataset not in FLAGGED:
        FLAGGED.add(wildcards.dataset)
        logger.warning(f"lbr: {problem}")
    return []


def fig1_top_check(wildcards):
    """No input; stops the plan when Fig. 1 is in it but its top panel's dataset, arch or aug is not in the Fig. 4
    grid whose table it reads (it would fail after the whole sweep)."""
    problem = fig1_top_problem(config)
    if problem:
        raise LbrError(problem)
    return []


def manifest_input(wildcards):
    """The raw-file manifest, for datasets that have raw files."""
    if needs_download(wildcards.dataset):
        return f"resources/manifests/{wildcards.dataset}.json"
    return []


def prepare_options(wildcards):
    """Params entry of the jobs that read a dataset (download, prepare): its options, and under `content` the
    fingerprint of its files when it has files to list, so that any change to them reruns those jobs and
    what depends on them. (Datasets with nothing to list keep the options as they were.)"""
    return with_content(dataset_options(config, wildcards.dataset), wildcards.dataset)


def with_content(options, name):
    """`options` with the dataset's content fingerprint, as JSON. A problem found while listing (class folders
    that differ between train and test, a missing folder) stops the planning with its sentence."""
    try:
        content = dataset_content(name)
    except LbrError as err:
        raise LbrError(str(err)) from None  # the sentence, without the listing's frames
    return json.dumps(options | ({"content": content} if content else {}), sort_keys=True)


@cache
def dataset_content(name):
    """Fingerprint of the files a dataset is read from (`lbr.data.content`), listed once per planning: a
    custom image folder's images (its class folders checked here), a custom npz pair, a registered dataset's
    copies in data_root; None when there is nothing to list."""
    options = dataset_options(config, name)
    spec = dataset_spec(name, options, config["custom_datasets"])
    return dataset_fingerprint(spec, options, config["data_root"], config["download_dir"])


def custom_files(wildcards):
    """A custom npz dataset's two files, inputs of its prepare jobs (a folder's images are its fingerprint)."""
    entry = config["custom_datasets"].get(wildcards.dataset, {})
    return [entry["train"], entry["test"]] if entry.get("format") == "npz" else []


def dataset_mem_mb(wildcards, attempt):
    return BIG_DATASETS.get(wildcards.dataset, 4000) * attempt


def filtered(path):
    """Projected datasets are large: temp() unless keep_filtered."""
    return path if config["keep_filtered"] else temp(path)


def dynamics_energies(dataset, runs):
    """Energy files of learning-dynamics runs [{arch, depth}, ...] on one dataset."""
    return [f"results/dynamics/{dataset}/{r['arch']}-depth{r['depth']}/energies.npz" for r in runs]


# Fig. 4: classifier training grid -----------------------------------------------------------------------------
TRAIN_RUN = "results/train/{dataset}/{arch}/{side}-{level}/aug{aug}/seed{seed}"
TRAIN_MEM_MB = {"tinyimagenet": 16000, "imagenette": 24000}


def fig4_runs(wildcards=None):
    """Input function: metrics.json of every run of the Fig. 4 grid in config['fig4'], per dataset (fig4.by_dataset
    may change its grid), each side at its own levels resolved on the dataset's spectrum (the `spectrum` checkpoint):
    each distinct subspace once, named by the first level that resolves to it."""
    runs, pending = [], None
    for dataset in config["fig4"]["datasets"]:  # every dataset, so that each pending one is announced
        c = fig4_for(config, dataset)
        for side, levels in fig4_levels(c).items():
            try:
                distinct = fig4_subspaces(dataset, side, tuple(levels))
            except IncompleteCheckpointException as err:
                pending = pending or err
                break
            runs += expand(
                f"{TRAIN_RUN}/metrics.json",
                dataset=dataset,
                arch=c["archs"],
                side=side,
                level=[sub.level for sub, _ in distinct],
                aug=c["aug"],
                seed=c["seeds"],
            )
    if pending is not None:
        raise pending
    return runs


def fig4_spectra():
    """The spectra the Fig. 4 levels are resolved on, in the order of fig4.datasets: plain inputs of the table (so
    that every dataset's spectrum is planned at once, not one checkpoint after another), from which it also names
    each run's requested levels."""
    return [f"results/spectrum/{d}.npz" for d in config["fig4"]["datasets"]]


PENDING = ANNOUNCED.setdefault("pending", set())  # datasets whose pending levels were announced in this process
RESOLVED = ANNOUNCED.setdefault("resolved", set())  # (dataset, side) whose resolved levels were announced


def fig4_subspaces(dataset, side, levels):
    """The distinct subspaces of `levels` on `dataset`'s spectrum, [(subspace, requested levels)], once the
    spectrum checkpoint has run; announces (once per plan) that the levels wait for it, then what they became."""
    try:
        path = checkpoints.spectrum.get(dataset=dataset).output[0]
    except IncompleteCheckpointException:
        if dataset not in PENDING:
            PENDING.add(dataset)
            grid = fig4_levels(fig4_for(config, dataset))
            asked = "; ".join(f"{s}: {', '.join(map(str, v))}" for s, v in grid.items())
            logger.info(
                f"lbr: the Fig. 4 levels of {dataset} ({asked}) depend on results/spectrum/{dataset}.npz, not yet "
                "computed: their filter and training jobs are planned once it exists (levels that keep no direction "
                "or every one become the nearest subspace that exists; levels that keep the same directions train once)."
            )
        raise
    distinct = resolved_levels(path, os.path.getmtime(path), side, levels)
    if (dataset, side) not in RESOLVED:
        RESOLVED.add((dataset, side))
        announce_levels(dataset, path, side, distinct)
    return distinct


@cache
def resolved_levels(path, mtime, side, levels):
    """`distinct_levels` on the spectrum at `path` (read once per plan and version of the file)."""
    return distinct_levels(load_eigenvalues(path), side, list(levels), Grid.from_config(config))


def announce_levels(dataset, path, side, distinct):
    """One log line per side: what each requested level keeps on this dataset, substitutions and merges named."""
    parts = []
    for sub, requested in distinct:
        what = f"{sub.side}-{'/'.join(requested)}: {sub.describe()}, {100 * sub.variance_kept:.1f}%"
        parts.append(what + (" (substituted: the nearest subspace that exists)" if sub.substituted else ""))
    text = f"lbr: {dataset} {side} levels on its spectrum: " + "; ".join(parts)
    if any(sub.substituted for sub, _ in distinct):
        logger.warning(f"{text}. {feasible_shares(load_eigenvalues(path)).capitalize()}.")
    else:
        logger.info(text)


def train_mem_mb(wildcards, attempt):
    return TRAIN_MEM_MB.get(wildcards.dataset, 8000) * attempt


def device_gpus(section):
    """Resource value of a closed-form or spectral rule: 1 (a GPU job: it holds a share of a GPU, 12 / k slots for
    `<section>.jobs_per_gpu: k`, and runs on the GPU its slot names) unless `<section>.device` is cpu (a CPU job,
    on the CPU even where torch sees GPUs). A job is thus a GPU job or a CPU job by its rule, never by accident."""
    return 0 if config[section]["device"] == "cpu" else 1


def fig4_jobs_per_gpu(wildcards):
    """Resource function: how many classifier jobs of this dataset share one GPU (fig4.jobs_per_gpu, or its
    fig4.by_dataset override); a resource, so changing it reruns nothing."""
    return fig4_for(config, wildcards.dataset)["jobs_per_gpu"]


def gpu_runtime(rule):
    """Resource function: the minutes a Slurm job of a training `rule` asks for, from its estimated cost on one GPU
    (`lbr.cost.jobs`: 3x the estimate + 10 min, doubled per retry)."""

    def runtime(wildcards, attempt):
        return job_costs.slurm_minutes(job_costs.job_cost(rule, config, wildcards, THROUGHPUT), attempt)

    return runtime


# Figs. 5-6: guided autoencoders ------------------------------------------------------------------------
GUIDANCE = config["guidance"]
GUIDANCE_RUN = "results/guidance/{dataset}/L{latent}/g{guidance}/seed{seed}"


def guidance_runs():
    """Every (dataset, latent, guidance, seed) of the grid, guidance in its path form."""
    return [
        {"dataset": GUIDANCE["dataset"], "latent": latent, "guidance": format_guidance(weight), "seed": seed}
        for latent in GUIDANCE["latents"]
        for weight in GUIDANCE["weights"]
        for seed in GUIDANCE["seeds"]
    ]


def guidance_run_files(name):
    """One file (history.csv, metrics.json, recon.npz) of every run of the grid."""
    return [f"{GUIDANCE_RUN.format(**run)}/{name}" for run in guidance_runs()]


def guidance_data(wildcards):
    """The splits a guidance run reads: its own square copy, or the canonical arrays."""
    size = GUIDANCE["source_size"]
    folder = f"results/data/{wildcards.dataset}" + (f"-{size}px" if size else "")
    return {"train": f"{folder}/train.npz", "test": f"{folder}/test.npz"}


def resized_data_options(wildcards):
    """Options of the guidance experiment's own square copy of a dataset (rule prepare_resized)."""
    options = dataset_options(config, wildcards.dataset) | GUIDANCE["source_options"]
    spec = dataset_spec(wildcards.dataset, options, config["custom_datasets"])
    return with_content(resized_options(spec, options, int(wildcards.size)), wildcards.dataset)


def fig5_recon_inputs():
    """Validation reconstructions shown by Fig. 5: the chosen latent, every guidance weight, the first seed."""
    latent = config["fig5"]["image_latent"] or GUIDANCE["latents"][0]
    run = {"dataset": GUIDANCE["dataset"], "latent": latent, "seed": GUIDANCE["seeds"][0]}
    return [f"{GUIDANCE_RUN.format(**run, guidance=format_guidance(w))}/recon.npz" for w in GUIDANCE["weights"]]


# Fig. 10: denoising autoencoders ------------------------------------------------------------------------------
DENOISING_RUN = "results/denoising/{dataset}/{arch}-depth{depth}/{noise}/seed{seed}"
NOISE_LABEL = LABEL_PATTERN  # none, gaussian-0.5, mask-0.25-patch4 (`lbr.theory.noise.NoiseSpec.label`)


def fig10_runs():
    """Every (dataset, arch, depth, noise, seed) of Fig. 10, the noise in its path form."""
    f = config["fig10"]
    return [
        {
            "dataset": dataset,
            "arch": r["arch"],
            "depth": int(r["depth"]),
            "noise": NoiseSpec.from_dict(n).label,
            "seed": s,
        }
        for dataset in f["datasets"]
        for r in f["runs"]
        for n in f["noises"]
        for s in f["seeds"]
    ]
