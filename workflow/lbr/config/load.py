"""Loading the configuration a workflow run sees: config.yaml, the user's files and overrides merged as Snakemake
merges them, the null rule, the schema's defaults and validation, then the checks across sections."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from lbr.config.checks import check, check_fig4_by_dataset, check_fig10_dynamics, level_problem, relative_note
from lbr.config.roles import resolve_roles
from lbr.config.schema_errors import shown
from lbr.config.sections import dataset_names
from lbr.errors import LbrError

REPO = Path(__file__).resolve().parents[3]


SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def load(
    *files: str | os.PathLike,
    overrides: dict | None = None,
    base: str | os.PathLike = REPO / "config.yaml",
    checked: bool = True,
) -> dict:
    """The configuration a workflow run sees: `base` (config.yaml), each of `files`, then `overrides`, merged
    as Snakemake merges --configfile and --config, then completed as the Snakefile completes it (`complete`)."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in (base, *files):
        update_config(config, read_yaml(path))
    update_config(config, overrides or {})
    complete(config, checked)
    return config


def read_yaml(path: str | os.PathLike) -> dict:
    """One config file as a mapping; LbrError when it is missing, is not YAML, or is not a mapping."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise LbrError(f"the config file {path} does not exist{relative_note(path)}.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LbrError(f"the config file {path} is not valid YAML{at} ({getattr(err, 'problem', err)}).") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LbrError(f"the config file {path} holds {shown(data)}, not a mapping of settings (key: value lines).")
    return data


def complete(config: dict, checked: bool = True) -> None:
    """Turn a merged config into the one the workflow plans with, in place: the null rule (`unset_nulls`), the
    schema's defaults for absent keys, validation, and (when `checked`) the checks across sections."""
    import yaml

    schema = yaml.safe_load(SCHEMA.read_text())
    unset_nulls(config, schema, schema["$defs"])
    validate(config, schema)
    resolve_roles(config, dataset_names(config))
    check_fig4_by_dataset(config, schema)
    check_fig10_dynamics(config, schema)
    if checked:
        check(config)


def validate(config: dict, schema: dict) -> None:
    """Fill the schema's defaults into `config` (as snakemake.utils.validate does) and raise LbrError with one
    sentence for the most relevant violation (`jsonschema.exceptions.best_match`), never the schema itself."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import best_match

    from lbr.config.schema_errors import sentence

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, sub):
        if isinstance(instance, dict):
            for key, prop in properties.items():
                if "default" in prop:
                    instance.setdefault(key, copy.deepcopy(prop["default"]))
        yield from check_properties(validator, properties, instance, sub)

    validator = validators.extend(Draft202012Validator, {"properties": properties_with_defaults})(schema)
    errors = list(validator.iter_errors(config))
    if errors:
        points = config.get("filter", {}).get("grid_points") if isinstance(config.get("filter"), dict) else None
        points = (
            points
            if isinstance(points, int)
            else schema["properties"]["filter"]["properties"]["grid_points"]["default"]
        )
        raise LbrError(sentence(best_match(errors), lambda path, value: level_problem(path, value, points)))


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
