"""GPU slots on one machine: give each GPU job its own device(s) via lock files and CUDA_VISIBLE_DEVICES.

Snakemake's `--resources gpu=N` only caps how many GPU jobs run at once; it never says which GPU a job
may use. Each GPU is a lock file `<dir>/gpu-<id>.lock`; a job takes an exclusive `flock` on a free one
before CUDA initialises and exports `CUDA_VISIBLE_DEVICES=<id>`. The kernel drops the lock when the
process ends, however it ends (also `kill -9`), so a dead job never keeps its GPU.

Environment (all optional):
  LBR_GPU_SLOTS         auto (default): allocate unless Slurm runs the job (SLURM_JOB_ID set, Slurm
                        already chose the GPUs); on: always allocate (e.g. inside `salloc`); off: never.
  LBR_GPUS              use only the first N GPUs (fake ones 0..N-1 in tests on a machine without GPUs);
                        the GPUs are the ids in CUDA_VISIBLE_DEVICES when set, else 0..count-1 from torch.
  LBR_GPU_SLOT_DIR      folder of the lock files (default /tmp/lbr-gpu-slots-<user>); every run that
                        should share the GPUs must use the same folder.
  LBR_GPU_SLOT_TIMEOUT  seconds to wait for a free GPU before failing (default: wait without limit).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import glob
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lbr.errors import LbrError

log = logging.getLogger("lbr")

POLL_SECONDS = 0.25
REPORT_EVERY_SECONDS = 60.0


@dataclass
class Slots:
    """GPUs held by this process: their ids and the open lock files that hold them."""

    ids: list[str] = field(default_factory=list)
    files: list[int] = field(default_factory=list)

    def release(self) -> None:
        for fd in self.files:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        self.files.clear()


def slot_dir() -> Path:
    """Folder of the per-GPU lock files, shared by every job of this user on this machine."""
    default = Path(tempfile.gettempdir()) / f"lbr-gpu-slots-{_user()}"
    return Path(os.environ.get("LBR_GPU_SLOT_DIR") or default)


def mode() -> str:
    value = os.environ.get("LBR_GPU_SLOTS", "auto").strip().lower() or "auto"
    if value not in ("auto", "on", "off"):
        raise LbrError(f"LBR_GPU_SLOTS is '{value}' but must be auto, on or off; fix the environment variable.")
    return value


def enabled() -> bool:
    """Whether this process should pick its own GPUs (not when Slurm already did)."""
    chosen = mode()
    if chosen == "auto":
        return not os.environ.get("SLURM_JOB_ID")
    return chosen == "on"


def device_ids() -> list[str]:
    """GPU ids offered to jobs: CUDA_VISIBLE_DEVICES when set, else 0..N-1 from torch; LBR_GPUS caps N."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    count = os.environ.get("LBR_GPUS", "").strip()
    if count and not count.isdigit():
        raise LbrError(f"LBR_GPUS is '{count}' but must be a number of GPUs; fix the environment variable.")
    if visible is not None:
        ids = [d.strip() for d in visible.split(",") if d.strip()]
    elif count:
        ids = [str(i) for i in range(int(count))]
    else:
        ids = [str(i) for i in range(count_gpus())]
    return ids[: int(count)] if count else ids


def count_gpus() -> int:
    """GPUs torch sees, counted in a child process: if counting initialised CUDA here, the
    CUDA_VISIBLE_DEVICES chosen afterwards would be ignored (torch falls back to cudaGetDeviceCount
    when NVML is unavailable)."""
    import torch

    if torch.version.cuda is None and torch.version.hip is None:
        return 0  # a CPU build of torch
    if torch.version.hip is None and not glob.glob("/dev/nvidia[0-9]*"):
        return 0  # no NVIDIA device files: no GPU, and no need to pay for a child process
    code = "import torch; print(torch.cuda.device_count())"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        return int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        raise LbrError("could not count the GPUs with torch; set LBR_GPUS to the number of GPUs.") from None


def acquire(n: int, ids: list[str] | None = None, directory: Path | None = None, timeout: float | None = None) -> Slots:
    """Lock `n` free GPUs out of `ids`, waiting (up to `timeout` s, None = forever) while all are taken."""
    ids = device_ids() if ids is None else ids
    if n > len(ids):
        raise LbrError(
            f"a job asks for {n} GPUs but this machine offers {len(ids)} ({','.join(ids) or 'none'}); "
            "lower the rule's gpu resource or set LBR_GPUS."
        )
    directory = slot_dir() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    last_report = None
    while True:
        slots = _try_lock(n, ids, directory)
        if slots is not None:
            return slots
        now = time.monotonic()
        if timeout is not None and now - start >= timeout:
            raise LbrError(
                f"no free GPU after {timeout:g} s: all of {','.join(ids)} are held ({holders(ids, directory)}); "
                "run with --resources gpu=N at most the number of GPUs, or raise LBR_GPU_SLOT_TIMEOUT."
            )
        if last_report is None or now - last_report >= REPORT_EVERY_SECONDS:
            log.info("waiting for %d free GPU(s) of %s: %s", n, ",".join(ids), holders(ids, directory))
            last_report = now
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def gpu_slots(n: int) -> Iterator[Slots]:
    """Hold `n` GPUs for the duration of the block and export CUDA_VISIBLE_DEVICES; no-op when not needed."""
    if n <= 0 or not enabled():
        yield Slots()
        return
    ids = device_ids()
    if not ids:
        log.info("no GPU visible: the job runs on the CPU")
        yield Slots()
        return
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise LbrError("CUDA was initialised before a GPU was assigned to this job; move CUDA calls into main().")
    timeout = os.environ.get("LBR_GPU_SLOT_TIMEOUT", "").strip()
    slots = acquire(n, ids, timeout=float(timeout) if timeout else None)
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(slots.ids)
    log.info("GPU slot: CUDA_VISIBLE_DEVICES=%s (locks in %s)", os.environ["CUDA_VISIBLE_DEVICES"], slot_dir())
    try:
        yield slots
    finally:
        slots.release()
        if previous is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = previous


def holders(ids: list[str], directory: Path) -> str:
    """Who holds each GPU, as written into its lock file (for messages)."""
    parts = []
    for gpu in ids:
        with contextlib.suppress(OSError):
            parts.append(f"{gpu}: {_lock_path(directory, gpu).read_text().strip() or '?'}")
    return "; ".join(parts) or "no lock files"


def _try_lock(n: int, ids: list[str], directory: Path) -> Slots | None:
    slots = Slots()
    for gpu in ids:
        fd = os.open(_lock_path(directory, gpu), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        slots.ids.append(gpu)
        slots.files.append(fd)
        if len(slots.ids) == n:
            return slots
    slots.release()
    return None


def _lock_path(directory: Path, gpu: str) -> Path:
    return directory / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', gpu)}.lock"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
