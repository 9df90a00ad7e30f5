"""One settings path: every job kind's settings come from one dataclass built from its config section, recipe
keys are the rule's params (a change reruns exactly the affected jobs) and runtime keys rerun nothing.

The unit tests read the dataclasses; the workflow tests build one tiny job of every trainer and the closed
forms for real, then dry-run the workflow after changing settings (as `test_reruns.py` does for the demo)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml
from test_reruns import job_counts, reasons

from lbr.config.load import load
from lbr.config.settings import (
    AlignmentSettings,
    ClassifierSettings,
    DenoisingAESettings,
    DenoisingGDSettings,
    DenoisingSettings,
    DynamicsSettings,
    FilterSettings,
    GuidanceSettings,
    JobSettings,
    MomentsSettings,
    SpectrumSettings,
    SupervisedGDSettings,
)

from repo_copy import copy_workflow, snakemake

KINDS = [
    SpectrumSettings,
    FilterSettings,
    ClassifierSettings,
    DynamicsSettings,
    DenoisingAESettings,
    GuidanceSettings,
    MomentsSettings,
    AlignmentSettings,
    DenoisingSettings,
    SupervisedGDSettings,
    DenoisingGDSettings,
]
WILDCARDS = {
    ClassifierSettings: {"dataset": "arabic_characters", "arch": "resnet9", "aug": "1", "seed": "0"},
    DynamicsSettings: {"arch": "dcae", "depth": "3"},
    DenoisingAESettings: {"arch": "dcae", "depth": "3", "noise": "mask-0.5-patch4", "seed": "1"},
    GuidanceSettings: {"latent": "512", "guidance": "0.01", "seed": "0"},
}
# Keys of a section that are not a job's settings: what the rules read (grids, threads, cluster time, GPU
# sharing) and what a setting is derived from (epochs_by_dataset gives the classifier's epochs).
RULE_KEYS = {
    "fig4": {
        "datasets",
        "archs",
        "sides",
        "shares",
        "aug",
        "seeds",
        "epochs_by_dataset",
        "by_dataset",
        "threads",
        "jobs_per_gpu",
    },
    "filter": {"grid_points", "bottom_power", "jobs_per_gpu"},
    "spectrum": {"jobs_per_gpu"},
    "closed_form": {"jobs_per_gpu"},
    "dynamics": {"jobs_per_gpu"},
    "fig8": {"dims", "latents", "jobs_per_gpu"},
    "guidance": {"dataset", "source_size", "source_options", "latents", "weights", "seeds", "jobs_per_gpu"},
}
# Fields a kind reads from another section than its own (Fig. 10's runs: the dynamics section, probed per fig10).
OTHER_SECTION = {DenoisingAESettings: {"probe_epochs": "fig10.epochs", "probe_ridge": "fig10.probe_ridge"}}
# Rule keys that are resources, not params: runtime choices too (changing them reruns nothing).
RUNTIME_RULE_KEYS = {
    "fig4": {"threads": 2, "jobs_per_gpu": 3},
    "dynamics": {"jobs_per_gpu": 1},
    "guidance": {"jobs_per_gpu": 2},
    **{section: {"jobs_per_gpu": 6} for section in ("spectrum", "filter", "closed_form", "fig8")},
}


def test_settings_have_no_defaults_and_split_recipe_from_runtime():
    for kind in KINDS:
        names = {f.name for f in dataclasses.fields(kind)}
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(kind)), f"{kind.__name__} has a default"
        assert set(kind.RUNTIME) <= names, kind.__name__
        settings = kind.from_config(load(), WILDCARDS.get(kind))
        assert set(settings.recipe()) == names - set(kind.RUNTIME)


def test_every_key_of_a_section_is_a_setting_or_read_by_the_rules():
    config = load()
    for section in {kind.SECTION for kind in KINDS}:
        kinds = [kind for kind in KINDS if kind.SECTION == section]
        names = {f.name for kind in kinds for f in dataclasses.fields(kind)}
        assert set(config[section]) - names - RULE_KEYS.get(section, set()) == set(), section
    for kind in KINDS:
        from_job = (
            {f.name for f in dataclasses.fields(kind)} - set(config[kind.SECTION]) - set(OTHER_SECTION.get(kind, {}))
        )
        assert from_job <= {"arch", "aug", "seed", "depth", "latent", "guidance", "model", "noise"}, kind.__name__


def test_job_values_come_from_wildcards():
    config = load()
    s = ClassifierSettings.from_config(config, WILDCARDS[ClassifierSettings])
    assert (s.arch, s.aug, s.seed, s.epochs) == ("resnet9", True, 0, 100)  # epochs_by_dataset
    assert ClassifierSettings.from_config(config, {**WILDCARDS[ClassifierSettings], "dataset": "svhn"}).epochs == 50
    g = GuidanceSettings.from_config(config, WILDCARDS[GuidanceSettings])
    assert (g.latent, g.guidance, g.encoder_blocks) == (512, 0.01, (3, 4, 6, 3))
    assert issubclass(GuidanceSettings, JobSettings)


# The workflow: runtime keys rerun nothing, a recipe key reruns exactly its jobs -----------------------------

TINY = """
figures: [fig9]
keep_filtered: true
datasets:
  synthetic: {n_train: 300, n_test: 100, height: 8, width: 8, evidence: 0.3, seed: 0}
spectrum: {device: cpu}
filter: {device: cpu}
fig4: {datasets: [synthetic], archs: [mlp], sides: [bottom], shares: [g4], aug: [0], seeds: [0], epochs: 2,
       batch_size: 50, lr: 0.003, compile: false, device: cpu, eval_every: 1, threads: 1}
dynamics: {latent: 8, epochs: 2, batch_size: 32, lr: 0.003, measure_images: 100, device: cpu}
fig3: {dataset: synthetic, runs: [{arch: dcae, depth: 3}], epochs: [0, 1], bands: 4}
fig10: {datasets: [synthetic], runs: [{arch: dcae, depth: 3}], noises: [{noise: none}, {noise: gaussian, sigma: 1.0}],
        seeds: [0]}
fig1: {dynamics_run: {dataset: synthetic, arch: dcae, depth: 3}}
guidance: {dataset: synthetic, source_size: 32, source_options: {n_train: 48, n_test: 16}, image_size: 32,
           latents: [8], weights: [0.0], width: 4, encoder_blocks: [1, 1, 1, 1], decoder_blocks: [1, 1, 1, 1],
           epochs: 1, batch_size: 16, eval_every: 1, n_reconstructions: 2, device: cpu}
fig5: {image_latent: 8}
closed_form: {device: cpu}
fig2: {datasets: [digits]}
fig7: {datasets: [digits], ratios: [0.0, 0.5], patches: [2], sigmas: [], k_min: 2}
fig8: {device: cpu}
"""
TARGETS = [
    "results/train/synthetic/mlp/bottom-g4/aug0/seed0/metrics.json",
    "results/dynamics/synthetic/dcae-depth3/energies.npz",
    "results/denoising/synthetic/dcae-depth3/gaussian-1/seed0/energies.npz",
    "results/guidance/synthetic/L8/g0/seed0/metrics.json",
    "figures/fig2.pdf",
    "figures/fig7.pdf",
]


def plan(repo: Path, extra: dict | None = None) -> tuple[dict[str, int], dict[str, set[str]]]:
    (repo / "extra.yaml").write_text(yaml.safe_dump(extra or {}))
    result = snakemake(repo, "-n", *TARGETS, "--configfile", "tiny.yaml", "extra.yaml")
    assert result.returncode == 0, result.stdout[-4000:]
    return job_counts(result.stdout), reasons(result.stdout)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    repo = copy_workflow(tmp_path_factory.mktemp("settings") / "repo")
    (repo / "tiny.yaml").write_text(TINY)
    result = snakemake(repo, *TARGETS, "-c", "2", "--configfile", "tiny.yaml")
    assert result.returncode == 0, result.stdout[-4000:]
    return repo


@pytest.fixture
def repo(built, tmp_path):
    return Path(shutil.copytree(built, tmp_path / "repo", symlinks=True))


def changed(key, value):
    """Another valid value of a runtime setting."""
    if key == "device":
        return "cpu" if value == "auto" else "auto"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return {"auto": True, "default": "max-autotune"}[value]  # channels_last / compile, compile_mode


@pytest.mark.workflow
@pytest.mark.slow
def test_changing_every_runtime_key_reruns_nothing(repo):
    config = load(repo / "tiny.yaml", base=repo / "config.yaml")
    extra: dict = {}
    for kind in KINDS:
        for key in kind.RUNTIME:
            extra.setdefault(kind.SECTION, {})[key] = changed(key, config[kind.SECTION][key])
    for section, keys in RUNTIME_RULE_KEYS.items():
        assert all(config[section][key] != value for key, value in keys.items()), section
        extra[section].update(keys)
    extra["fig4"]["by_dataset"] = {"synthetic": {"jobs_per_gpu": 4}}  # a dataset's own share of a GPU
    assert len(extra) == len({kind.SECTION for kind in KINDS}) and plan(repo)[0] == {}
    assert plan(repo, extra)[0] == {}


FIG2 = {"fig2_dataset": 2, "fig2_table": 1, "fig2": 1}  # Fig. 2 on its pixels and on centred ones (the scorecard's)
FIG7 = {"fig7_dataset": 1, "fig7_table": 1, "fig7": 1}


@pytest.mark.workflow
@pytest.mark.slow
@pytest.mark.parametrize(
    "section, key, value, jobs, by_params",
    [
        ("fig4", "lr", 0.002, {"train_classifier": 1}, {"train_classifier"}),
        ("dynamics", "lr", 0.002, {"train_dynamics": 1, "train_denoising": 1}, {"train_dynamics", "train_denoising"}),
        ("fig10", "probe_ridge", 0.1, {"train_denoising": 1}, {"train_denoising"}),
        ("fig10", "dynamics", {"lr": 0.002}, {"train_denoising": 1}, {"train_denoising"}),
        ("guidance", "lr", 0.002, {"train_guidance": 1}, {"train_guidance"}),
        ("fig4", "train_subset", 200, {"train_classifier": 1}, {"train_classifier"}),
        (
            "dynamics",
            "subset_seed",
            1,
            {"train_dynamics": 1, "train_denoising": 1},
            {"train_dynamics", "train_denoising"},
        ),
        ("guidance", "stem", "cifar", {"train_guidance": 1}, {"train_guidance"}),
        ("closed_form", "rank_rtol", 1e-10, FIG2 | FIG7, {"fig2_dataset", "fig7_dataset"}),
        ("closed_form", "jitter", 1e-5, FIG7, {"fig7_dataset"}),
        ("closed_form", "method", "covariance", {"alignment_moments": 2} | FIG2 | FIG7, {"alignment_moments"}),
        # figure-only keys redraw the figure; Fig. 2 drawn on centred pixels reads the centred rows it already
        # computes for the scorecard (fig2.check_preprocessing), so only its table and figure are redone
        ("fig2", "measure", "paper", {"fig2": 1}, {"fig2"}),
        ("fig7", "measure", "paper", {"fig7": 1}, {"fig7"}),
        ("fig2", "preprocessing", "standardize", {"fig2_table": 1, "fig2": 1}, set()),
    ],
)
def test_a_recipe_key_reruns_exactly_its_jobs(repo, section, key, value, jobs, by_params):
    planned, why = plan(repo, {section: {key: value}})
    assert planned == jobs
    assert why.get("params have changed since last execution", set()) == by_params
