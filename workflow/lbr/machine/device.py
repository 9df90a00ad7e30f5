"""Device choice, float32 math precision and seeding: a workflow job runs where its rule says (a GPU job on the
GPU its slot names, a CPU job on the CPU), the same code on both; a GPU job that was given a GPU never falls back
to the CPU silently."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from lbr.errors import LbrError
from lbr.machine import gpuslots
from lbr.machine.gpuslots import JOB_GPUS_VAR


def pick_device(preference: str = "auto") -> torch.device:
    """Resolve 'auto' | 'cpu' | 'cuda' | 'cuda:N' to a torch device, failing clearly if CUDA is absent.

    'auto' is decided by the job's rule where lbr's runner started the job (LBR_JOB_GPUS): a CPU job (its rule
    declares no GPU) runs on the CPU even where torch sees GPUs, so it never lands on a GPU that the slots count
    as free; a GPU job runs on the GPU it was given, and one that was given a GPU (a non-empty
    CUDA_VISIBLE_DEVICES, from lbr's slots or Slurm) or runs on a machine with NVIDIA GPUs but sees none stops:
    there torch's blindness is a fault, not a choice. Outside a workflow job (the CLI, benchmarks) 'auto' is the
    GPU when torch sees one."""
    if preference == "cpu":
        return torch.device("cpu")
    job = os.environ.get(JOB_GPUS_VAR)
    if preference == "auto" and job is not None and job.strip() in ("", "0"):
        return torch.device("cpu")  # a CPU job by its rule
    if torch.cuda.is_available():
        return torch.device("cuda" if preference == "auto" else preference)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if preference == "auto":
        gpu_job = job is not None
        given = visible is not None and visible.strip() != ""
        nvidia = gpuslots.nvidia_device_files()
        if not gpu_job or not (given or (visible is None and nvidia)):
            return torch.device("cpu")
        what = f"was given CUDA_VISIBLE_DEVICES={visible}" if given else f"runs on a machine with {nvidia[0]}"
        raise LbrError(
            f"this GPU job {what} but torch {torch.__version__} sees no CUDA device; check that torch is built "
            f"with CUDA (torch.version.cuda is {torch.version.cuda}), that CUDA_VISIBLE_DEVICES names GPUs that "
            "exist (`nvidia-smi -L`; LBR_GPUS at most their number) and that the driver works (`lbr doctor`), or "
            "set the section's device: cpu to run on the CPU on purpose."
        )
    shown = "unset" if visible is None else f"'{visible}'"
    raise LbrError(
        f"device '{preference}' was requested but torch sees no CUDA device (CUDA_VISIBLE_DEVICES is {shown}); "
        "set device: auto or cpu, or check that torch is built with CUDA and the GPU is visible (`lbr doctor`)."
    )


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for explicit draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


PRECISION_API = "fp32_precision" if hasattr(torch.backends.cuda.matmul, "fp32_precision") else "legacy"
"""How float32 precision is set and read: torch's per-backend `fp32_precision` where it has it (2.9 and later), the
legacy `allow_tf32` switches otherwise. Never both: once either API has been used in a process, torch refuses to
read the other ("mix of legacy and new APIs")."""


def _gpu_leaves() -> tuple:
    """The per-backend switches a GPU's float32 matmuls and cuDNN convolutions (and RNNs) follow."""
    b = torch.backends
    return b.cuda.matmul, b.cudnn.conv, b.cudnn.rnn


def _cpu_leaves() -> tuple:
    """oneDNN's switches: a CPU with TF32 or bf16 units follows them for float32 matmuls and convolutions."""
    b = torch.backends
    return b.mkldnn.matmul, b.mkldnn.conv, b.mkldnn.rnn


@contextlib.contextmanager
def float32_math(tf32: bool = False, cudnn_benchmark: bool = False) -> Iterator[None]:
    """Inside the block, float32 matmuls and cuDNN convolutions run in TF32 (10-bit mantissa) only when `tf32`,
    in IEEE float32 otherwise, whatever the process set before (a user's model module may set
    `torch.backends.fp32_precision = "tf32"`); the previous settings come back on exit, so nothing leaks into later
    work of the same process. PyTorch's own defaults are IEEE matmuls but **TF32 cuDNN convolutions**, so float32
    code that wants float32 must say so. Set through PRECISION_API; without `tf32` oneDNN's CPU switches are held
    at IEEE as well."""
    benchmark = torch.backends.cudnn.benchmark
    if PRECISION_API == "legacy":
        matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
        saved = (matmul.allow_tf32, cudnn.allow_tf32)
        matmul.allow_tf32 = cudnn.allow_tf32 = bool(tf32)
    else:
        gpu, cpu = _gpu_leaves(), () if tf32 else _cpu_leaves()
        saved = [(leaf, leaf.fp32_precision) for leaf in gpu + cpu]
        for leaf in gpu:
            leaf.fp32_precision = "tf32" if tf32 else "ieee"
        for leaf in cpu:
            leaf.fp32_precision = "ieee"
    torch.backends.cudnn.benchmark = bool(cudnn_benchmark) or benchmark
    try:
        yield
    finally:
        if PRECISION_API == "legacy":
            matmul.allow_tf32, cudnn.allow_tf32 = saved
        else:
            for leaf, value in saved:
                leaf.fp32_precision = value
        torch.backends.cudnn.benchmark = benchmark


def float32_math_now() -> dict:
    """The settings in force (for tests and records), read through PRECISION_API: whether float32 matmuls and cuDNN
    convolutions use TF32 on a GPU."""
    if PRECISION_API == "legacy":
        return {"matmul_tf32": torch.backends.cuda.matmul.allow_tf32, "cudnn_tf32": torch.backends.cudnn.allow_tf32}
    matmul, conv, _ = _gpu_leaves()
    return {"matmul_tf32": matmul.fp32_precision == "tf32", "cudnn_tf32": conv.fp32_precision == "tf32"}


def restore_float32_math(state: dict) -> None:
    """Put back the TF32 settings `float32_math_now()` read (gpu_check restores them after a part that leaked)."""
    if PRECISION_API == "legacy":
        torch.backends.cuda.matmul.allow_tf32 = state["matmul_tf32"]
        torch.backends.cudnn.allow_tf32 = state["cudnn_tf32"]
        return
    matmul, conv, _ = _gpu_leaves()
    matmul.fp32_precision = "tf32" if state["matmul_tf32"] else "ieee"
    conv.fp32_precision = "tf32" if state["cudnn_tf32"] else "ieee"
