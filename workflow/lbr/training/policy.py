"""The numeric policy of a training job, independent of the device: the dtype of the images resident on the
device, bf16 autocast of the forward pass, the channels_last layout, torch.compile of the training step (with
the fused optimizer). Every choice runs on a CPU as on a GPU (bf16 autocast on the CPU, float16 tensors,
inductor with the machine's C compiler), so a GPU changes only the speed. `auto` picks the fast choice on a
GPU and float32 eager on a CPU; on a GPU where Triton cannot build its kernels (no C compiler or no Python
headers) `compile: auto` runs eager, says so in one log line and records `compile: fallback`. The policy a run
used is recorded in its metrics.

float32 means float32: with autocast off a job runs its float32 matmuls and cuDNN convolutions in IEEE float32
for its whole run (PyTorch's cuDNN default is TF32, a 10-bit mantissa). Under bf16 autocast the matmuls and
convolutions run in bf16 and the few float32 ops left outside autocast may use TF32 on a GPU."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

from lbr.errors import LbrError
from lbr.machine.compiler import compile_problem
from lbr.machine.device import float32_math

log = logging.getLogger(__name__)

DTYPES = {"uint8": torch.uint8, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class Policy:
    storage: torch.dtype
    autocast: torch.dtype | None
    channels_last: bool
    compile: bool
    compile_mode: str
    device_type: str = "cpu"
    fallback: str = ""  # why `compile: auto` runs eager on this GPU (lbr.machine.compiler); empty when it did not

    @property
    def tf32(self) -> bool:
        return uses_tf32(self.autocast, torch.device(self.device_type))

    def precision(self):
        """The block in which the job computes: TF32 switches per `tf32`, cuDNN autotuning on a GPU."""
        return float32_math(self.tf32, cudnn_benchmark=self.device_type == "cuda")

    def math_precision(self) -> str:
        """What matmuls and convolutions compute in: bf16 (autocast), tf32 or float32."""
        return "bf16" if self.autocast is not None else "tf32" if self.tf32 else "float32"

    def autocast_context(self, device: torch.device):
        return autocast_context(self.autocast, device)

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """A 4-d batch in the policy's memory layout (no copy when it already is)."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return x.contiguous(memory_format=fmt) if x.ndim == 4 else x

    def store(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Images to keep on the device: as they are for uint8 storage, else x / scale in the storage dtype."""
        if self.storage == torch.uint8:
            if x.dtype != torch.uint8:
                raise LbrError("storage uint8 needs uint8 images; choose float16 or float32 storage for this job.")
            return x
        return (x.to(torch.float32) / scale).to(self.storage) if scale != 1.0 else x.to(self.storage)

    def record(self) -> dict:
        """What the run used, for its metrics."""
        return {
            "storage": str(self.storage).removeprefix("torch."),
            "autocast": "bf16" if self.autocast is not None else "off",
            "channels_last": self.channels_last,
            "compile": "fallback" if self.fallback else self.compile,
            "compile_mode": self.compile_mode,
            "matmul_precision": self.math_precision(),
            "conv_precision": self.math_precision(),
            "float32_ops": "tf32" if self.tf32 else "float32",
        }


def uses_tf32(autocast: torch.dtype | None, device: torch.device) -> bool:
    """TF32 for the float32 ops of a job: only on a GPU and only under bf16 autocast, never when it asked for
    float32 (autocast off)."""
    return device.type == "cuda" and autocast is not None


def autocast_context(dtype: torch.dtype | None, device: torch.device):
    """The forward pass's autocast on `device` (a no-op context for float32); reusable for every step."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def resolve(settings, device: torch.device, fast_storage: str) -> Policy:
    """The policy of a job's settings on `device`; `fast_storage` is the storage `auto` means on a GPU (uint8 jobs
    keep uint8 on a CPU too: it is exact and the smallest)."""
    gpu = device.type == "cuda"

    def choice(value, on_gpu, on_cpu):
        return (on_gpu if gpu else on_cpu) if value == "auto" else value

    storage = choice(settings.storage, fast_storage, "uint8" if fast_storage == "uint8" else "float32")
    autocast = choice(settings.autocast, "bf16", "off")
    fallback = (compile_problem() or "") if gpu and settings.compile == "auto" else ""
    if fallback:
        log.warning("compile: auto runs eager (recorded as compile: fallback): %s.", fallback)
    return Policy(
        storage=DTYPES[storage],
        autocast=torch.bfloat16 if autocast == "bf16" else None,
        channels_last=bool(choice(settings.channels_last, True, False)),
        compile=bool(choice(settings.compile, True, False)) and not fallback,
        compile_mode=settings.compile_mode,
        device_type=device.type,
        fallback=fallback,
    )


FLOAT32_EAGER = Policy(torch.float32, None, channels_last=False, compile=False, compile_mode="default")
"""What `auto` means on a CPU (for float images)."""

GPU_POLICY = {"storage": "float16", "autocast": "bf16", "channels_last": True, "compile": True}
"""The full GPU policy as config values (tests and benchmarks run it on a CPU)."""
