"""What NVIDIA's driver says about this machine, through `nvidia-smi` (no torch, no CUDA initialised): the driver
version, the newest CUDA it runs and the GPUs, and whether it can run a given torch build's CUDA. Used where torch
sees no GPU, to say why (bench/gpu_check.py, `lbr doctor`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Driver:
    version: str  # e.g. 550.54.15
    cuda: str | None  # the newest CUDA the driver runs, e.g. 12.4
    gpus: tuple[str, ...]  # names, one per GPU

    def describe(self) -> str:
        cuda = f", CUDA {self.cuda}" if self.cuda else ""
        return f"NVIDIA driver {self.version}{cuda}, {len(self.gpus)} GPU(s)" + (
            f" ({', '.join(sorted(set(self.gpus)))})" if self.gpus else ""
        )

    def runs(self, torch_cuda: str | None) -> bool | None:
        """Whether this driver can run a torch built for CUDA `torch_cuda` (same major or newer: CUDA's minor-version
        compatibility); None when either version is unknown."""
        if not torch_cuda or not self.cuda:
            return None
        return int(self.cuda.split(".")[0]) >= int(torch_cuda.split(".")[0])


def driver(timeout: float = 15.0) -> Driver | None:
    """The driver as `nvidia-smi` reports it; None when nvidia-smi is not on PATH or does not answer."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        query = [exe, "--query-gpu=name,driver_version", "--format=csv,noheader"]
        listed = subprocess.run(query, capture_output=True, text=True, timeout=timeout)
        banner = subprocess.run([exe], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    rows = [line.rsplit(",", 1) for line in listed.stdout.splitlines() if "," in line]
    cuda = re.search(r"CUDA Version:\s*([0-9]+\.[0-9]+)", banner.stdout)
    version = re.search(r"Driver Version:\s*([0-9.]+)", banner.stdout)
    if listed.returncode != 0 and not version:
        return None
    found = rows[0][1].strip() if rows else version.group(1) if version else "?"
    return Driver(found, cuda.group(1) if cuda else None, tuple(name.strip() for name, _ in rows))
