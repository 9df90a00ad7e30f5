"""The checks of a configuration that the JSON schema cannot express: known datasets, levels, paths, sources,
settings across sections; each stops with one sentence naming the key."""

from __future__ import annotations

import os
from pathlib import Path

from lbr.config import declared_models
from lbr.config.schema_errors import did_you_mean, key_path, shown
from lbr.config.sections import (
    BY_DATASET_FIXED,
    GUIDANCE_STEM_STRIDE,
    dataset_names,
    dataset_options,
    fig4_for,
    fig4_levels,
    fig10_dynamics,
)
from lbr.data.registry import REGISTRY, dataset_spec
from lbr.data.sizes import dataset_size
from lbr.errors import LbrError
from lbr.spectral.subspaces import LEVEL_RE
from lbr.theory.noise import NoiseSpec


def check_fig4_by_dataset(config: dict, schema: dict) -> None:
    """Each entry of fig4.by_dataset is a partial fig4 section for a dataset of fig4.datasets: validated as the
    fig4 section it yields."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from lbr.config.schema_errors import sentence

    fig4 = config["fig4"]
    validator = Draft202012Validator({**schema["properties"]["fig4"], "$defs": schema["$defs"]})
    points = config["filter"]["grid_points"]
    for dataset, entry in fig4.get("by_dataset", {}).items():
        where = f"fig4.by_dataset.{dataset}"
        if dataset not in fig4["datasets"]:
            raise LbrError(f"{where} is not one of fig4.datasets {fig4['datasets']}; add it there or drop the entry.")
        fixed = [k for k in entry if k in BY_DATASET_FIXED]
        if fixed:
            raise LbrError(f"{where} sets {fixed}, which apply to the whole figure; set them in fig4 itself.")
        errors = list(validator.iter_errors(fig4_for(config, dataset)))
        if errors:
            prefix = ["fig4", "by_dataset", dataset]
            raise LbrError(sentence(best_match(errors), lambda path, v: level_problem(path, v, points), prefix))


def check_fig10_dynamics(config: dict, schema: dict) -> None:
    """fig10.dynamics is a partial dynamics section: validated as the dynamics section it yields."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from lbr.config.schema_errors import sentence

    entry = config["fig10"].get("dynamics") or {}
    if "jobs_per_gpu" in entry:
        raise LbrError("fig10.dynamics sets jobs_per_gpu, a resource of every autoencoder job; set it in dynamics.")
    validator = Draft202012Validator({**schema["properties"]["dynamics"], "$defs": schema["$defs"]})
    errors = list(validator.iter_errors(fig10_dynamics(config)))
    if errors:
        raise LbrError(sentence(best_match(errors), prefix=["fig10", "dynamics"]))


def check_dataset(config: dict, name: str, where: str) -> None:
    if name not in dataset_names(config):
        close = did_you_mean(name, dataset_names(config))
        hint = f" (did you mean {close}?)" if close else ""
        known = ", ".join(dataset_names(config))
        raise LbrError(
            f"{where} names unknown dataset '{name}'{hint}; known datasets are {known}, and your own go under "
            "custom_datasets."
        )


def level_problem(path: str, value, grid_points: int) -> str | None:
    """What is wrong with a subspace level (a variance share in (0, 1] written as a string, or a point g0..gN of
    the authors' grid with N = filter.grid_points), in one sentence naming the key; None when it is valid."""
    grid = f"a grid point g0..g{grid_points} (filter.grid_points is {grid_points})"
    share = 'a share of the variance in (0, 1] in quotes ("0.25"; "1" keeps everything)'
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1:
        return f'{path} is {value}, a number; write the share in quotes ("{value}").'
    m = LEVEL_RE.match(value) if isinstance(value, str) else None
    if m and m.group(1) is not None:
        if int(m.group(1)) <= grid_points:
            return None
        return (
            f"{path} is {shown(value)}, but the authors' grid has only g0..g{grid_points} (filter.grid_points is "
            f"{grid_points}); use one of those or raise filter.grid_points."
        )
    if m and float(value) > 0:
        return None
    if m:
        return f"{path} is {shown(value)}, a share that keeps no direction; give {share} or {grid}."
    return f"{path} is {shown(value)}, which is not a subspace level; give {share} or {grid}."


def level_items(config: dict) -> list[tuple[str, object]]:
    """(key path, level) of every subspace level in config: Fig. 4's shares (list or per side, also those of
    fig4.by_dataset), Figs. 1 and 9."""
    items = [(f"{fig}.{side}", config[fig][side]) for fig in ("fig1", "fig9") for side in ("top", "bottom")]
    sections = [(["fig4"], config["fig4"])]
    sections += [(["fig4", "by_dataset", name], entry) for name, entry in config["fig4"].get("by_dataset", {}).items()]
    for where, section in sections:
        shares = section.get("shares", [])
        per_side = shares.items() if isinstance(shares, dict) else [(None, shares)]
        for side, levels in per_side:
            items += [(key_path([*where, "shares", *([side] if side else []), i]), v) for i, v in enumerate(levels)]
    return items


def check_levels(config: dict) -> None:
    points = config["filter"]["grid_points"]
    for path, value in level_items(config):
        problem = level_problem(path, value, points)
        if problem:
            raise LbrError(problem)


def relative_note(path: str | os.PathLike) -> str:
    """How a relative path was read: from the working directory (where snakemake runs, the repository)."""
    if Path(path).is_absolute():
        return ""
    tilde = "; ~ is not expanded, write the full path" if str(path).startswith("~") else ""
    return f" (a relative path is read from the working directory, {Path.cwd()}{tilde})"


def path_problem(key: str, value: str, kind: str) -> str | None:
    """One sentence when the path a config key gives does not exist or is not a `kind` (file | folder)."""
    path = Path(value)
    if not path.exists():
        return f"{key} {value} does not exist{relative_note(value)}; fix the path."
    if kind == "folder" and not path.is_dir():
        return f"{key} {value} is a file, not a folder; give the folder."
    if kind == "file" and not path.is_file():
        return f"{key} {value} is a folder, not a file; give the file."
    return None


def user_paths(config: dict) -> list[tuple[str, str, str]]:
    """(key, path, file | folder) of every input path in config: data_root, datasets.<name>.archive, and the
    files or folders of custom_datasets."""
    paths = [("data_root", config["data_root"], "folder")] if config["data_root"] else []
    for name, options in config["datasets"].items():
        if options.get("archive"):
            paths.append((f"datasets.{name}.archive", options["archive"], "file"))
    for name, entry in config["custom_datasets"].items():
        for key in ("train", "test") if entry["format"] == "npz" else ("root",):
            paths.append((f"custom_datasets.{name}.{key}", entry[key], "file" if key != "root" else "folder"))
    return paths


def check_paths(config: dict) -> None:
    """Every path config gives exists (relative paths from the working directory), and a folder dataset's root
    holds train/ and test/."""
    for key, value, kind in user_paths(config):
        problem = path_problem(key, value, kind)
        if problem:
            raise LbrError(problem)
    for name, entry in config["custom_datasets"].items():
        if entry["format"] == "folder":
            missing = [s for s in ("train", "test") if not (Path(entry["root"]) / s).is_dir()]
            if missing:
                raise LbrError(
                    f"custom_datasets.{name}.root {entry['root']} has no {' or '.join(m + '/' for m in missing)} "
                    "folder; it must hold train/<class>/<image> and test/<class>/<image>."
                )


def source_problem(config: dict, name: str) -> str | None:
    """Why the raw files of dataset `name` can be neither found nor downloaded (no URL, as for the Arabic
    datasets, and no local archive or copy in data_root or download_dir), in one sentence naming the key to set;
    None when they can, or when they were already found (resources/manifests/<name>.json exists)."""
    spec = dataset_spec(name, dataset_options(config, name), config["custom_datasets"])
    options = dataset_options(config, name)
    if spec.kind != "local_archive" or options.get("archive") or Path(f"resources/manifests/{name}.json").exists():
        return None
    roots = [Path(r) for r in (config["data_root"], config["download_dir"]) if r]
    sources = config["sources"].get(name, {})
    for rf in spec.files:
        urls = (sources.get(rf.name) or sources.get(rf.key) or {}).get("urls") or rf.urls
        found = any((root / k).exists() for root in roots for k in (rf.name, rf.unpacked) if k)
        if not urls and not found:
            return (
                f"{spec.how_to_get}, or place it in data_root as {rf.name}; neither is done, so {name} cannot be "
                "prepared."
            )
    return None


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
    check_fig10(config)
    check_fig11(config)
    declared_models.check(config)
    for name in config.get("sources", {}):
        check_dataset(config, name, "sources")
    check_levels(config)
    check_paths(config)


def fig1_top_problem(config: dict) -> str | None:
    """Why Fig. 1 cannot be drawn from the Fig. 4 table this config builds (its top panel plots the rows of
    fig1.dataset_top, arch_top and aug, which must be in the Fig. 4 grid), in one sentence; None when it can.
    Checked only when Fig. 1 is planned (common.smk), so other targets of the same config are not refused."""
    fig1, fig4 = config["fig1"], config["fig4"]
    top = fig1["dataset_top"]
    grid = fig4_for(config, top) if top in fig4["datasets"] else fig4
    where = f"fig4.by_dataset.{top}" if top in fig4.get("by_dataset", {}) else "fig4"
    for key, value, other in [
        ("dataset_top", top, "datasets"),
        ("arch_top", fig1["arch_top"], "archs"),
        ("aug", int(fig1["aug"]), "aug"),
    ]:
        if value not in grid[other]:
            section = "fig4" if other == "datasets" else where
            return (
                f"fig1.{key} is {shown(fig1[key])} but {section}.{other} {shown(grid[other])} does not include it, "
                f"and Fig. 1 (top) plots rows of the Fig. 4 table; add it to {section}.{other}, change fig1.{key}, "
                "or drop fig1 from figures."
            )
    return None


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


def check_fig10(config: dict) -> None:
    """Fig. 10 settings the schema cannot check: known datasets, one clean baseline, distinct noises and seeds, mask
    patches that tile every dataset's images, probe epochs that are trained."""
    f = config["fig10"]
    for name in f["datasets"]:
        check_dataset(config, name, "fig10.datasets")
    labels: dict[str, int] = {}
    for i, entry in enumerate(f["noises"]):
        spec = NoiseSpec.from_dict(entry)
        where = f"fig10.noises[{i}] {shown(entry)}"
        if spec.clean and spec.kind != "none":
            raise LbrError(f"{where} leaves the input clean; drop it ({{noise: none}} is the baseline) or give it a "
                           "ratio or sigma above 0.")  # fmt: skip
        if spec.label in labels:
            raise LbrError(f"{where} repeats fig10.noises[{labels[spec.label]}]; list each noise once.")
        labels[spec.label] = i
        for name in f["datasets"]:
            size = dataset_size(config, name)
            _, h, w = size.shape
            if spec.kind == "mask" and size.source != "assumed" and (h % spec.patch or w % spec.patch):
                raise LbrError(
                    f"{where}: patch {spec.patch} does not divide the {h} x {w} images of {name} (fig10.datasets), "
                    "and masks tile the image with k x k patches; pick a patch size that divides both sides."
                )
    if "none" not in labels:
        raise LbrError("fig10.noises lacks {noise: none}, the baseline every change is measured against; add it.")
    if len(set(f["seeds"])) != len(f["seeds"]):
        raise LbrError(f"fig10.seeds lists a seed twice: {f['seeds']}.")
    trained = fig10_dynamics(config)["epochs"]
    late = [e for e in f["epochs"] or [] if e >= trained]
    if late:
        where = "fig10.dynamics.epochs" if "epochs" in (f.get("dynamics") or {}) else "dynamics.epochs"
        raise LbrError(f"fig10.epochs {late} are not below {where} ({trained}); drop them or train longer.")


def check_fig11(config: dict) -> None:
    """Fig. 11's pixel masks must tile, and its crops fit, the images of every dataset it names."""
    f = config["fig11"]
    for name in f["datasets"]:
        size = dataset_size(config, name)
        if size.source == "assumed":
            continue
        _, h, w = size.shape
        untiled = [k for k in f["mask_patches"] if h % k or w % k]
        if untiled:
            raise LbrError(
                f"fig11.mask_patches {untiled} do not divide the {h} x {w} images of {name} (fig11.datasets), and "
                "masks tile the image with k x k patches; pick patch sizes that divide both sides."
            )
        wide = [pad for pad in f["crop_pads"] if pad >= min(h, w)]
        if wide:
            raise LbrError(
                f"fig11.crop_pads {wide} are not below the {h} x {w} images of {name} (fig11.datasets), which reflect "
                "padding needs; pick smaller pads."
            )


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
    for section in ("fig2", "fig7", "noise_check", "fig11"):
        for name in config[section]["datasets"]:
            check_dataset(config, name, f"{section}.datasets")
    fig8 = config["fig8"]
    too_big = [k for k in fig8["latents"] if k > min(fig8["dims"])]
    if too_big:
        raise LbrError(f"fig8.latents {too_big} exceed the smallest of fig8.dims {fig8['dims']}; K must be <= D.")
    den = fig8["denoising"]
    if den["K"] > den["D"]:
        raise LbrError(f"fig8.denoising.K={den['K']} exceeds fig8.denoising.D={den['D']}; K must be <= D.")
