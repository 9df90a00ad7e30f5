"""Models of the user's own, declared under `models:` and usable wherever an architecture name is accepted.

An entry names a factory by import path and the keyword arguments it gets besides the ones its role passes:

    models: {mine: {factory: "mypkg.nets:build", kwargs: {width: 64}}}

Roles and calls (`lbr.models.declared` makes them in the job):
- classifier (fig4.archs, fig1.arch_top): factory(in_shape=(C, H, W), n_classes=K, **kwargs);
- autoencoder (fig3.runs[].arch, fig1.dynamics_run.arch, fig10.runs[].arch): factory(in_shape,
  latent=dynamics.latent, **kwargs), plus depth=<the run's depth> when the factory has a `depth` parameter
  (otherwise depth is only a label);
- guidance autoencoder (guidance.arch): factory(in_shape, latent=L, **kwargs).

Everything here runs while Snakemake plans, so it never imports the user's module nor torch: it checks the factory
string's form, finds the module file without executing it (`importlib.util.find_spec` of the top package, then the
import system's own path finder below it) and, when the file is plain Python, that it binds the attribute. The
import itself and a one-batch check happen when the job starts. Modules are looked up on the Python path
(PYTHONPATH, installed packages), then in the working directory (the folder Snakemake runs in); jobs do the same.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import re
import sys
from pathlib import Path

from lbr.config.schema_errors import did_you_mean
from lbr.errors import LbrError

BUILTIN = {"classifier": ("resnet9", "mlp"), "autoencoder": ("dcae", "mlpae"), "guidance": ("resnet_ae",)}
"""The paper's architectures of each role (`lbr.models`)."""

PASSED = {"classifier": ("in_shape", "n_classes"), "autoencoder": ("in_shape", "latent", "depth"),
          "guidance": ("in_shape", "latent")}  # fmt: skip
"""Arguments the workflow passes to a factory in each role (kwargs may not set them)."""

ROLE_WORDS = {"classifier": "a classifier", "autoencoder": "an autoencoder", "guidance": "a guidance autoencoder"}
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
FACTORY_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def declared(config: dict) -> dict[str, dict]:
    """The `models` section: {name: {factory, kwargs}}."""
    return config.get("models") or {}


def names(config: dict, role: str) -> list[str]:
    """Every architecture name accepted in `role`: the paper's, then the declared ones."""
    return [*BUILTIN[role], *sorted(declared(config))]


def wildcard_pattern(config: dict, role: str) -> str:
    """A regular expression matching exactly the names of `role` (for a rule's wildcard_constraints)."""
    return "|".join(names(config, role))


def entry(config: dict, arch: str) -> dict | None:
    """What a job of architecture `arch` records in its recipe: the declared model's factory and kwargs (keys sorted,
    so that reordering a file reruns nothing), or None for a paper architecture."""
    model = declared(config).get(arch)
    if model is None:
        return None
    return {"factory": model["factory"], "kwargs": _sorted(model.get("kwargs") or {})}


def _sorted(value):
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def uses(config: dict) -> list[tuple[str, str, str]]:
    """(config key, name, role) of every place the configuration names an architecture."""
    found = [("fig4.archs", name, "classifier") for name in config["fig4"]["archs"]]
    for dataset, entry in (config["fig4"].get("by_dataset") or {}).items():
        found += [(f"fig4.by_dataset.{dataset}.archs", name, "classifier") for name in entry.get("archs", [])]
    found.append(("fig1.arch_top", config["fig1"]["arch_top"], "classifier"))
    found += [(f"fig3.runs[{i}].arch", run["arch"], "autoencoder") for i, run in enumerate(config["fig3"]["runs"])]
    found.append(("fig1.dynamics_run.arch", config["fig1"]["dynamics_run"]["arch"], "autoencoder"))
    found += [(f"fig10.runs[{i}].arch", run["arch"], "autoencoder") for i, run in enumerate(config["fig10"]["runs"])]
    found.append(("guidance.arch", config["guidance"]["arch"], "guidance"))
    return found


def check(config: dict) -> None:
    """One sentence for the first problem of the `models` section or of an architecture name (config time)."""
    models = declared(config)
    for name, model in models.items():
        where = f"models.{name}"
        if not NAME_RE.match(name):
            raise LbrError(
                f"{where}: a model name must start with a letter and hold only letters, digits and underscores "
                "(it becomes part of result paths); rename it."
            )
        taken = [role for role, builtin in BUILTIN.items() if name in builtin]
        if taken:
            raise LbrError(f"{where} reuses the name of the paper's {taken[0]} '{name}'; give your model another name.")
        check_factory(where, model["factory"])
    for key, name, role in uses(config):
        if name not in names(config, role):
            close = did_you_mean(name, names(config, role))
            hint = f"; did you mean '{close}'?" if close else ";"
            raise LbrError(
                f"{key} names unknown model '{name}'{hint} declare it under models: {{{name}: {{factory: "
                f"'module:function'}}}} ({ROLE_WORDS[role]} of yours, docs/own_models.md), or use one of the paper's "
                f"({', '.join(BUILTIN[role])})."
            )
        reserved = sorted(set(PASSED[role]) & set((models.get(name) or {}).get("kwargs") or {}))
        if reserved:
            raise LbrError(
                f"models.{name}.kwargs sets {', '.join(reserved)}, which the workflow passes itself when {key} uses "
                "it; remove it from kwargs (in_shape and n_classes come from the data, latent and depth from the "
                "run's settings)."
            )


def check_factory(where: str, factory: str) -> None:
    """The factory string's form, that its module exists and (for a plain Python file) binds the attribute, without
    executing any of it."""
    key = f"{where}.factory"
    if not FACTORY_RE.match(factory):
        raise LbrError(
            f"{key} must be 'module.sub:function' (a module's import path, a colon, a function or class in it), "
            f"not '{factory}'."
        )
    module, attr = factory.split(":")
    spec = find_module(module)
    if spec is None:
        raise LbrError(
            f"{key} names module '{module}', which is not on the Python path nor in the working directory "
            f"{os.getcwd()}; put its folder on PYTHONPATH or install its package."
        )
    bound = module_bindings(spec.origin)
    if bound is not None and attr not in bound:
        close = did_you_mean(attr, sorted(bound))
        hint = f" (did you mean '{close}'?)" if close else ""
        raise LbrError(
            f"{key} names '{attr}', which {spec.origin} does not define{hint}; fix the name after the colon."
        )


def search_path() -> list[str]:
    """Where modules are looked up: the Python path, then the working directory (jobs use the same order)."""
    return [*sys.path, os.getcwd()]


def find_module(module: str):
    """The module's spec, found without executing it or its parent packages; None when it does not exist.

    The top-level name goes through `importlib.util.find_spec` (every finder, editable installs included; a top-level
    find executes nothing), else the path finder over `search_path()`; each submodule is looked for in its parent's
    package folders, as the import system does, without importing the parent."""
    parts = module.split(".")
    spec = _top_spec(parts[0])
    for i in range(1, len(parts)):
        locations = None if spec is None else spec.submodule_search_locations
        if not locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), list(locations))
    return spec


def _top_spec(name: str):
    if name in sys.modules:
        return getattr(sys.modules[name], "__spec__", None)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    return spec or importlib.machinery.PathFinder.find_spec(name, search_path())


def module_bindings(origin: str | None) -> set[str] | None:
    """Names a Python source file binds at module level; None when that cannot be known without running it (not a
    .py file, unreadable, `import *`, a module `__getattr__`, or writes through `globals()`)."""
    if not origin or not origin.endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None  # the import in the job reports it
    bound: set[str] = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            continue
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                bound.add(sub.id)
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in ("globals", "setattr"):
                return None
        for field in ("body", "orelse", "finalbody", "handlers"):
            pending += [n for n in getattr(node, field, []) if isinstance(n, ast.stmt | ast.excepthandler)]
    return None if "__getattr__" in bound else bound
