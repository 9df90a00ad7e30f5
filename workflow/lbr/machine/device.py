"""Device choice, float32 math precision and seeding: the GPU when one is visible, the CPU otherwise, same code
on both; a GPU job that was given a GPU never falls back to the CPU silently."""

from __future__ import annotations

import contextlib
import glob
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.machine.gpuslots import JOB_GPUS_VAR


def pick_device(preference: str = "auto") -> torch.device:
    """Resolve 'auto' | 'cpu' | 'cuda' | 'cuda:N' to a torch device, failing clearly if CUDA is absent.

    'auto' is the CPU when torch sees no CUDA device, except in a GPU job (the rule declares `gpu>=1`, the
    runner sets LBR_JOB_GPUS) that was given a GPU (a non-empty CUDA_VISIBLE_DEVICES, from lbr's slots or
    Slurm) or runs on a machine with NVIDIA GPUs: there torch's blindness is a fault, not a choice."""
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda" if preference == "auto" else preference)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if preference == "auto":
        gpu_job = os.environ.get(JOB_GPUS_VAR, "0").strip() not in ("", "0")
        given = visible is not None and visible.strip() != ""
        nvidia = sorted(glob.glob("/dev/nvidia[0-9]*"))
        if not gpu_job or not (given or (visible is None and nvidia)):
            return torch.device("cpu")
        what = f"was given CUDA_VISIBLE_DEVICES={visible}" if given else f"runs on a machine with {nvidia[0]}"
        raise LbrError(
            f"this GPU job {what} but torch {torch.__version__} sees no CUDA device; check that torch is built "
            f"with CUDA (torch.version.cuda is {torch.version.cuda}), that CUDA_VISIBLE_DEVICES names GPUs that "
            "exist (`nvidia-smi -L`; LBR_GPUS at most their number) and that the driver works, or set the "
            "section's device: cpu to train on the CPU on purpose."
        )
    shown = "unset" if visible is None else f"'{visible}'"
    raise LbrError(
        f"device '{preference}' was requested but torch sees no CUDA device (CUDA_VISIBLE_DEVICES is {shown}); "
        "set device: auto or cpu, or check that torch is built with CUDA and the GPU is visible."
    )


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
