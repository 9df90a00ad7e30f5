"""Device choice and seeding: the GPU when one is visible, the CPU otherwise, same code on both."""

from __future__ import annotations

import random

import numpy as np
import torch

from lbr.errors import LbrError


def pick_device(preference: str = "auto") -> torch.device:
    """Resolve 'auto' | 'cpu' | 'cuda' | 'cuda:N' to a torch device, failing clearly if CUDA is absent."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise LbrError(f"device '{preference}' was requested but no CUDA GPU is visible; set device: auto or cpu.")
    return torch.device(preference)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for explicit draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
