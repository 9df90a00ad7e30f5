"""The settings of every kind of job, built in one place: its config section (and the job's wildcards).

One frozen dataclass per kind of job. `from_config(config, wildcards)` is its only constructor: the rule calls
it for its params, the job's script calls it again when the job starts. Its fields are of two kinds:
- recipe fields decide what a job computes. `recipe()` returns them and the rule passes them to Snakemake as
  params, so changing one reruns exactly the jobs that depend on it;
- runtime fields (RUNTIME) decide how a job runs: device, compile and its mode, evaluation batch size,
  checkpoint cadence, keeping checkpoints, chunk sizes. They are read from config when the job starts and rerun
  nothing; each changes the results by round-off at most.
Defaults live only in the schema (workflow/schemas/config.schema.yaml), which fills them into config; no field
here has a default. No torch import: the workflow evaluates these while it plans.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from lbr.config import declared_models
from lbr.config.sections import fig4_for, fig10_dynamics, fig10_probe_epochs
from lbr.errors import LbrError
from lbr.theory.noise import NoiseSpec

PER_SEED = "seed"
"""`subset_seed: seed`: each run draws its training subset with its own seed."""


class JobSettings:
    """Shared behaviour of the settings dataclasses below."""

    SECTION: ClassVar[str]
    RUNTIME: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_config(cls, config: dict, wildcards: Any = None):
        """The settings of one job: the section's keys, then what `_job_values` derives from wildcards."""
        section = cls._section(config, wildcards)
        job = cls._job_values(section, wildcards)
        if any(f.name == "model" for f in fields(cls)):  # a model of the user's: its entry is part of the recipe
            job["model"] = declared_models.entry(config, job.get("arch", section.get("arch")))
        missing = [f.name for f in fields(cls) if f.name not in job and f.name not in section]
        if missing:
            raise LbrError(f"config section {cls.SECTION} lacks {missing}; validate it against the schema.")
        values = {f.name: job[f.name] if f.name in job else section[f.name] for f in fields(cls)}
        if values.get("subset_seed") == PER_SEED:  # the training subset is drawn anew for each seed
            values["subset_seed"] = values["seed"]
        return cls(**values)

    @classmethod
    def _section(cls, config: dict, wildcards: Any) -> dict:
        """The config section the job reads (a dataset may override part of it)."""
        return config[cls.SECTION]

    @classmethod
    def _job_values(cls, section: dict, wildcards: Any) -> dict:
        """Fields that come from the job's wildcards (or differ per job); none by default."""
        return {}

    def recipe(self) -> dict:
        """What the job computes: every field but the runtime ones (the rule's params)."""
        return {k: v for k, v in asdict(self).items() if k not in self.RUNTIME}


def wildcard(wildcards: Any, name: str) -> str:
    """One wildcard of a Snakemake job (attribute access) or of a plain dict (tests, the library)."""
    return wildcards[name] if isinstance(wildcards, dict) else getattr(wildcards, name)


def format_guidance(value: float) -> str:
    """Path form of a guidance weight: 0 -> '0', 0.01 -> '0.01'."""
    return f"{float(value):g}"


@dataclass(frozen=True)
class DeviceSettings(JobSettings):
    """Every job runs on a device (auto: the GPU when one is visible), a runtime choice."""

    RUNTIME = ("device",)

    device: str


# Chunk sizes only bound memory: results agree across them to round-off (tests/test_chunk_sizes.py), so they are
# runtime keys, and tuning one to a machine reruns nothing.
CHUNKS = ("chunk_rows", "chunk_cols")


@dataclass(frozen=True)
class SpectrumSettings(DeviceSettings):
    """The eigenbasis of one dataset (config `spectrum`)."""

    SECTION = "spectrum"
    RUNTIME = (*DeviceSettings.RUNTIME, *CHUNKS)

    method: str
    chunk_rows: int
    chunk_cols: int
    max_vectors: int | None


@dataclass(frozen=True)
class FilterSettings(DeviceSettings):
    """Projection of one dataset onto one subspace (config `filter`; the grid itself is `subspaces.Grid`)."""

    SECTION = "filter"
    RUNTIME = (*DeviceSettings.RUNTIME, "chunk_rows")

    chunk_rows: int


@dataclass(frozen=True)
class TrainerSettings(DeviceSettings):
    """What every training job has: its optimisation budget, its seed, the training images it uses
    (`train_subset` images drawn class-balanced by `subset_seed`, `lbr.data.subsets`; null = the whole split;
    `subset_seed: seed` draws them with the run's own seed),
    its numeric policy (`storage` of the resident images and `autocast` change the numbers; `channels_last` and
    `compile` only the speed; see `lbr.training.policy`) and its checkpoint cadence."""

    RUNTIME = (*DeviceSettings.RUNTIME, "channels_last", "compile", "compile_mode", "checkpoint_minutes")

    seed: int
    train_subset: int | None
    subset_seed: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    storage: str
    autocast: str | bool
    channels_last: str | bool
    compile: str | bool
    compile_mode: str
    checkpoint_minutes: float


@dataclass(frozen=True)
class ClassifierSettings(TrainerSettings):
    """One classifier of the Fig. 4 grid (config `fig4`; wildcards dataset, arch, aug, seed). `model` is the
    `models` entry of a classifier of the user's (factory and kwargs), None for the paper's."""

    SECTION = "fig4"
    RUNTIME = (*TrainerSettings.RUNTIME, "eval_batch_size")

    arch: str
    model: dict | None
    aug: bool
    pct_start: float
    loss: str
    width: float
    eval_every: int
    eval_batch_size: int

    @classmethod
    def _section(cls, config, wildcards):
        return fig4_for(config, wildcard(wildcards, "dataset"))

    @classmethod
    def _job_values(cls, section, wildcards):
        return {
            "arch": wildcard(wildcards, "arch"),
            "aug": str(wildcard(wildcards, "aug")) == "1",
            "seed": int(wildcard(wildcards, "seed")),
        }


@dataclass(frozen=True)
class DynamicsSettings(TrainerSettings):
    """One learning-dynamics autoencoder (config `dynamics`; wildcards arch, depth; `model` as for classifiers)."""

    SECTION = "dynamics"
    RUNTIME = (*TrainerSettings.RUNTIME, "measure_batch", "keep_checkpoint")

    arch: str
    model: dict | None
    depth: int
    latent: int
    measure_images: int | None
    measure_batch: int
    keep_checkpoint: bool

    @classmethod
    def _job_values(cls, section, wildcards):
        return {"arch": wildcard(wildcards, "arch"), "depth": int(wildcard(wildcards, "depth"))}


@dataclass(frozen=True)
class DenoisingAESettings(DynamicsSettings):
    """One Fig. 10 run: a Fig. 3 autoencoder (config `dynamics` with `fig10.dynamics` over it) trained on corrupted
    inputs (wildcards arch, depth, noise, seed), its code probed at chosen epochs. From config `fig10`:
    `probe_epochs` (`lbr.config.fig10_probe_epochs`) and `probe_ridge`. `noise` is the `lbr.theory.noise` entry
    {noise, ratio, patch, sigma} parsed from the path form of the noise (none, gaussian-0.5, mask-0.25-patch4)."""

    noise: dict
    probe_epochs: tuple[int, ...]
    probe_ridge: float

    @classmethod
    def _section(cls, config, wildcards):
        probe = {"probe_epochs": fig10_probe_epochs(config), "probe_ridge": config["fig10"]["probe_ridge"]}
        return fig10_dynamics(config) | probe

    @classmethod
    def _job_values(cls, section, wildcards):
        spec = NoiseSpec.from_label(wildcard(wildcards, "noise"))
        entry = {k: v for k, v in spec.columns().items() if v == v}  # NaN (not applicable) left out
        return super()._job_values(section, wildcards) | {"noise": entry, "seed": int(wildcard(wildcards, "seed"))}


@dataclass(frozen=True)
class GuidanceSettings(TrainerSettings):
    """One guided ResNet autoencoder of Figs. 5-6 (config `guidance`; wildcards latent, guidance, seed).

    The section's grid (dataset, latents, weights, seeds), data (source_size, source_options) and cluster time
    (runtime) are read by the rules, not by the job. `stem` adapts the network to small images
    (`lbr.models.guided_autoencoder`). The fields image_size to val_crop are the views: how images become
    network inputs (training augmentation, validation crop). `arch` is resnet_ae (ours: stem, width and the
    blocks) or a declared model, whose `models` entry is `model`."""

    SECTION = "guidance"
    RUNTIME = (*TrainerSettings.RUNTIME, "eval_batch_size", "keep_checkpoint")

    arch: str
    model: dict | None
    latent: int
    guidance: float
    stem: str
    width: int
    encoder_blocks: tuple[int, ...]
    decoder_blocks: tuple[int, ...]
    optimizer: str
    pct_start: float
    eval_every: int
    image_size: int
    scale: tuple[float, float]
    ratio: tuple[float, float]
    flip: float
    grayscale: float
    val_crop: float
    n_reconstructions: int
    eval_batch_size: int
    keep_checkpoint: bool

    @classmethod
    def _job_values(cls, section, wildcards):
        return {
            "latent": int(wildcard(wildcards, "latent")),
            "guidance": float(wildcard(wildcards, "guidance")),
            "seed": int(wildcard(wildcards, "seed")),
            **{k: tuple(section[k]) for k in ("encoder_blocks", "decoder_blocks", "scale", "ratio")},
        }


@dataclass(frozen=True)
class MomentsSettings(DeviceSettings):
    """The float64 sufficient statistics of a train split behind Figs. 2 and 7 and the noise check (config
    `closed_form`)."""

    SECTION = "closed_form"
    RUNTIME = (*DeviceSettings.RUNTIME, *CHUNKS)

    method: str
    chunk_rows: int
    chunk_cols: int


@dataclass(frozen=True)
class AlignmentSettings(DeviceSettings):
    """Eq. 7 for every K from the statistics, Fig. 2 (config `closed_form`)."""

    SECTION = "closed_form"

    rank_rtol: float


@dataclass(frozen=True)
class DenoisingSettings(AlignmentSettings):
    """Theorem 3 from the statistics, Figs. 7, 10 and 11 and the noise check (config `closed_form`);
    `pca_mask_draws` is read by a variance-share pca_mask only."""

    jitter: float
    pca_mask_draws: int


@dataclass(frozen=True)
class SupervisedGDSettings(DeviceSettings):
    """Theorem 1 against Adam on synthetic data for one (D, K) of Fig. 8 (config `fig8`; the rules read dims and
    latents)."""

    SECTION = "fig8"

    n: int
    classes: int
    lams: list[float]
    lrs: list[float]
    steps: int
    select_last: int
    record_every: int
    seed: int


@dataclass(frozen=True)
class DenoisingGDSettings(DeviceSettings):
    """Theorem 3 (Gaussian noise) against SGD on synthetic data, Fig. 8's last row (config `fig8`)."""

    SECTION = "fig8"

    n: int
    denoising: dict
