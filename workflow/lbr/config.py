"""The workflow's configuration: loading it as a run sees it, the checks the JSON schema cannot express, and
small accessors rules share."""

from __future__ import annotations

import os
from pathlib import Path

from lbr.data.registry import REGISTRY
from lbr.errors import LbrError
from lbr.roles import resolve_roles

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
GUIDANCE_STEM_STRIDE = {"imagenet": 32, "cifar": 8}
"""How much the guided autoencoder's encoder downsamples with each stem (`lbr.models.guided_autoencoder`)."""


def load(
    *files: str | os.PathLike,
    overrides: dict | None = None,
    base: str | os.PathLike = REPO / "config.yaml",
    checked: bool = True,
) -> dict:
    """The configuration a workflow run sees: `base` (config.yaml), each of `files`, then `overrides`, merged
    as Snakemake merges --configfile and --config, then completed as the Snakefile completes it (`complete`)."""
    import yaml
    from snakemake.utils import update_config

    config: dict = {}
    for path in (base, *files):
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    update_config(config, overrides or {})
    complete(config, checked)
    return config


def complete(config: dict, checked: bool = True) -> None:
    """Turn a merged config into the one the workflow plans with, in place: the null rule (`unset_nulls`), the
    schema's defaults for absent keys, validation, and (when `checked`) the checks across sections."""
    import yaml
    from snakemake.utils import validate

    schema = yaml.safe_load(SCHEMA.read_text())
    unset_nulls(config, schema, schema["$defs"])
    validate(config, str(SCHEMA))
    resolve_roles(config, dataset_names(config))
    check_fig4_by_dataset(config, schema)
    if checked:
        check(config)


def unset_nulls(node: dict, schema: dict, defs: dict) -> None:
    """Null takes back what earlier files set (Snakemake merges files mapping by mapping, so `{}` cannot): where
    null is not a valid value, a key set to null is removed, so its schema default applies, except that a
    mapping keyed by name (fig4.epochs_by_dataset, custom_datasets, sources) becomes empty."""
    for key in list(node):
        sub = _key_schema(schema, key, defs)
        if sub is None:
            continue
        if node[key] is None and not _accepts(sub, None, defs):
            if _keyed_by_name(sub):
                node[key] = {}
            else:
                del node[key]
        elif isinstance(node[key], dict):
            unset_nulls(node[key], sub, defs)


def _keyed_by_name(schema: dict) -> bool:
    """A mapping whose keys are names the user chooses (datasets, files), not fixed properties."""
    return (
        schema.get("type") == "object"
        and isinstance(schema.get("additionalProperties"), dict)
        and not schema.get("properties")
    )


def _key_schema(schema: dict, key: str, defs: dict) -> dict | None:
    """The schema of `key` inside an object schema (its property, else its additionalProperties), with a
    top-level $ref resolved; None when the schema says nothing about it."""
    sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
    if not isinstance(sub, dict):
        return None
    if "$ref" in sub:
        sub = {**defs[sub["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub


def _accepts(schema: dict, value, defs: dict) -> bool:
    """Whether `value` is valid under `schema` (null is a value of data_root, spectrum.max_vectors, ...)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "$defs": defs}).is_valid(value)


def dataset_names(config: dict) -> list[str]:
    """Every dataset name the workflow accepts: the registry plus the user's own."""
    return sorted(REGISTRY) + sorted(config.get("custom_datasets", {}))


def dataset_options(config: dict, name: str) -> dict:
    """Options of one dataset as the prepare step needs them (custom datasets: their whole entry)."""
    if name in config.get("custom_datasets", {}):
        return dict(config["custom_datasets"][name])
    return dict(config.get("datasets", {}).get(name, {}))


def fig4_for(config: dict, dataset: str) -> dict:
    """The Fig. 4 settings of one dataset: the fig4 section with fig4.by_dataset[dataset] over it, and the epochs
    of fig4.epochs_by_dataset unless by_dataset sets them."""
    fig4 = config["fig4"]
    section = {k: v for k, v in fig4.items() if k != "by_dataset"}
    if dataset in fig4["epochs_by_dataset"]:
        section["epochs"] = fig4["epochs_by_dataset"][dataset]
    return section | fig4.get("by_dataset", {}).get(dataset, {})


BY_DATASET_FIXED = ("datasets", "by_dataset", "epochs_by_dataset")


def check_fig4_by_dataset(config: dict, schema: dict) -> None:
    """Each entry of fig4.by_dataset is a partial fig4 section for a dataset of fig4.datasets: validated as the
    fig4 section it yields."""
    from jsonschema import Draft202012Validator

    fig4 = config["fig4"]
    validator = Draft202012Validator({**schema["properties"]["fig4"], "$defs": schema["$defs"]})
    for dataset, entry in fig4.get("by_dataset", {}).items():
        where = f"fig4.by_dataset.{dataset}"
        if dataset not in fig4["datasets"]:
            raise LbrError(f"{where} is not one of fig4.datasets {fig4['datasets']}; add it there or drop the entry.")
        fixed = [k for k in entry if k in BY_DATASET_FIXED]
        if fixed:
            raise LbrError(f"{where} sets {fixed}, which apply to the whole figure; set them in fig4 itself.")
        for error in validator.iter_errors(fig4_for(config, dataset)):
            key = ".".join(str(p) for p in error.absolute_path)
            raise LbrError(f"{where}.{key}: {error.message}; fix that value.")


def fig4_levels(fig4: dict) -> dict[str, list[str]]:
    """The Fig. 4 grid side by side, {side: [levels]}: a list of shares serves every side of fig4.sides; a
    {top: [...], bottom: [...]} mapping gives each side its own, and its keys are the sides trained (each must
    be one of fig4.sides, whose default lists both)."""
    shares, sides = fig4["shares"], fig4["sides"]
    if isinstance(shares, list):
        return {side: list(shares) for side in sides}
    left_out = [side for side in shares if side not in sides]
    if left_out:
        raise LbrError(
            f"fig4.shares gives shares for {left_out} but fig4.sides {sides} leaves it out; "
            "add it to fig4.sides or remove it from fig4.shares."
        )
    return {side: list(shares[side]) for side in sides if side in shares}


def check_dataset(config: dict, name: str, where: str) -> None:
    if name not in dataset_names(config):
        known = ", ".join(dataset_names(config))
        raise LbrError(f"{where} names unknown dataset '{name}'; known datasets are {known}.")


def check(config: dict) -> None:
    """Raise LbrError with one sentence for the first semantic problem in a schema-valid config."""
    clash = sorted(set(config.get("custom_datasets", {})) & set(REGISTRY))
    if clash:
        raise LbrError(f"custom_datasets {clash} reuse built-in dataset names; rename them.")
    for name, entry in config.get("custom_datasets", {}).items():
        need = ("train", "test") if entry["format"] == "npz" else ("root",)
        missing = [k for k in need if k not in entry]
        if missing:
            raise LbrError(f"custom_datasets.{name} (format {entry['format']}) needs keys {missing}.")
    check_dataset(config, config["fig9"]["dataset"], "fig9.dataset")
    check_dynamics(config)
    fig4 = config.get("fig4", {})
    for name in fig4.get("datasets", []):
        check_dataset(config, name, "fig4.datasets")
    for name in fig4.get("epochs_by_dataset", {}):
        check_dataset(config, name, "fig4.epochs_by_dataset")
    for name in fig4.get("datasets", []):
        fig4_levels(fig4_for(config, name))
    check_guidance(config)
    check_theory(config)
    for name in config.get("sources", {}):
        check_dataset(config, name, "sources")


def check_dynamics(config: dict) -> None:
    """Datasets and epochs of Figs. 3 and 1 that the schema cannot relate to each other."""
    check_dataset(config, config["fig3"]["dataset"], "fig3.dataset")
    fig1 = config["fig1"]
    for key in ("dataset_top", "dataset_images"):
        check_dataset(config, fig1[key], f"fig1.{key}")
    check_dataset(config, fig1["dynamics_run"]["dataset"], "fig1.dynamics_run.dataset")
    trained = config["dynamics"]["epochs"]
    late = [e for e in config["fig3"]["epochs"] if e >= trained]
    if late:
        raise LbrError(f"fig3.epochs {late} are not below dynamics.epochs ({trained}); drop them or train longer.")


def check_guidance(config: dict) -> None:
    """Figs. 5-6 settings the schema cannot check (sizes the network can invert, ranges, figure choices)."""
    g = config.get("guidance")
    if not g:
        return
    check_dataset(config, g["dataset"], "guidance.dataset")
    stride = GUIDANCE_STEM_STRIDE[g["stem"]]
    if g["image_size"] % stride:
        raise LbrError(
            f"guidance.image_size must be a multiple of {stride} with guidance.stem {g['stem']} (224 in the paper), "
            f"not {g['image_size']}."
        )
    for key in ("scale", "ratio"):
        lo, hi = g[key]
        if lo > hi:
            raise LbrError(f"guidance.{key} must be [low, high] with low <= high, not {g[key]}.")
    for key in ("latents", "weights", "seeds"):
        if len({f"{float(v):g}" for v in g[key]}) != len(g[key]):
            raise LbrError(f"guidance.{key} lists a value twice: {g[key]}.")
    shown = config.get("fig5", {}).get("image_latent")
    if shown is not None and shown not in g["latents"]:
        raise LbrError(f"fig5.image_latent {shown} is not one of guidance.latents {g['latents']}.")


def check_theory(config: dict) -> None:
    """Closed-form figures: known datasets, latent sizes that fit the synthetic inputs of Fig. 8."""
    for section in ("fig2", "fig7", "noise_check"):
        for name in config[section]["datasets"]:
            check_dataset(config, name, f"{section}.datasets")
    fig8 = config["fig8"]
    too_big = [k for k in fig8["latents"] if k > min(fig8["dims"])]
    if too_big:
        raise LbrError(f"fig8.latents {too_big} exceed the smallest of fig8.dims {fig8['dims']}; K must be <= D.")
    den = fig8["denoising"]
    if den["K"] > den["D"]:
        raise LbrError(f"fig8.denoising.K={den['K']} exceeds fig8.denoising.D={den['D']}; K must be <= D.")
