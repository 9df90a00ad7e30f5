"""Device choice, float32 math precision and seeding: the GPU when one is visible, the CPU otherwise, same code
on both."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

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


@contextlib.contextmanager
def float32_math(tf32: bool = False, cudnn_benchmark: bool = False) -> Iterator[None]:
    """Inside the block, float32 matmuls and cuDNN convolutions run in TF32 (10-bit mantissa) only when `tf32`,
    in IEEE float32 otherwise; the previous switches come back on exit, so nothing leaks into later work of the
    same process. PyTorch's own defaults are IEEE matmuls but **TF32 cuDNN convolutions**, so float32 code that
    wants float32 must say so. Only the legacy switches are touched (the newer fp32_precision API refuses a mix
    of both); on a CPU they are inert, and the CPU's own matmul precision is left as it is."""
    matmul, cudnn, benchmark = torch.backends.cuda.matmul, torch.backends.cudnn, torch.backends.cudnn.benchmark
    saved = (matmul.allow_tf32, cudnn.allow_tf32)
    matmul.allow_tf32 = cudnn.allow_tf32 = bool(tf32)
    torch.backends.cudnn.benchmark = bool(cudnn_benchmark) or benchmark
    try:
        yield
    finally:
        (matmul.allow_tf32, cudnn.allow_tf32), torch.backends.cudnn.benchmark = saved, benchmark


def float32_math_now() -> dict:
    """The switches in force (for tests and records): whether float32 matmuls and cuDNN convolutions use TF32."""
    return {"matmul_tf32": torch.backends.cuda.matmul.allow_tf32, "cudnn_tf32": torch.backends.cudnn.allow_tf32}
