"""Name -> model constructor, so that configs and wildcards can pick an architecture by name."""

from __future__ import annotations

from collections.abc import Callable

import torch

from lbr.errors import LbrError

_BUILDERS: dict[str, Callable[..., torch.nn.Module]] = {}


def register(name: str):
    """Decorator: make a constructor available as `build(name, ...)`."""

    def deco(fn):
        if name in _BUILDERS:
            raise LbrError(f"model name '{name}' is registered twice; rename one of them.")
        _BUILDERS[name] = fn
        return fn

    return deco


def names() -> list[str]:
    return sorted(_BUILDERS)


def build(name: str, **kwargs) -> torch.nn.Module:
    if name not in _BUILDERS:
        raise LbrError(f"unknown model '{name}'; known models are {', '.join(names())}.")
    return _BUILDERS[name](**kwargs)
