"""The Snakemake script runner, used by every workflow/scripts/*.py: log to the rule's log file, cap threads,
hold GPU slots for rules that declare `resources: gpu=N` (shared by up to `resources: jobs_per_gpu=k` jobs per
GPU), turn LbrError into one clear line. No torch import: jobs that never train never load it."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from lbr.errors import LbrError
from lbr.machine.gpuslots import gpu_slots

log = logging.getLogger("lbr")


def setup_logging(logfile: str | None = None, level: int = logging.INFO) -> None:
    """One plain line per event, to the log file when given and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # one INFO line per font subset in every PDF


def run(main: Callable[[Any], None], smk: Any) -> None:
    """Run `main(snakemake)`, on GPUs of its own when the rule asks for some; a LbrError exits 1 with its
    message and no traceback."""
    setup_logging(smk.log[0] if len(smk.log) else None)
    set_threads(getattr(smk, "threads", None))
    try:
        with gpu_slots(gpus_requested(smk), jobs_per_gpu(smk), job_label(smk)):
            main(smk)
    except LbrError as err:
        log.error("%s", err)
        sys.exit(1)


def set_threads(n: int | None) -> None:
    """Cap the job's CPU threads at what the scheduler granted (Snakemake `threads:`): through the environment
    for thread pools not started yet, and through torch when the job has already loaded it."""
    if not n or n <= 0:
        return
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(int(n))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(int(n))


def gpus_requested(smk: Any) -> int:
    """The rule's `resources: gpu=N`, else N of `gres: "gpu[:type]:N"` (the Slurm profile's way for clusters that
    reject --gpus); 0 when neither says a number."""
    gres = str(getattr(getattr(smk, "resources", None), "gres", "") or "").strip()
    match = re.fullmatch(r"gpu(?::[^:,]+)?:(\d+)", gres)
    return _int_resource(smk, "gpu", 0) or (int(match.group(1)) if match else 0)


def jobs_per_gpu(smk: Any) -> int:
    """The rule's `resources: jobs_per_gpu=k`: how many of its jobs may share one GPU (1 when absent)."""
    return _int_resource(smk, "jobs_per_gpu", 1)


def job_label(smk: Any) -> str:
    """The job as its slot files name it: rule and wildcards, e.g. 'train_classifier cifar10/resnet9/...'."""
    wildcards = getattr(smk, "wildcards", None)
    values = [str(v) for v in wildcards] if wildcards is not None else []
    return " ".join([str(getattr(smk, "rule", "") or "job"), "/".join(values)]).strip()


def _int_resource(smk: Any, name: str, default: int) -> int:
    value = getattr(getattr(smk, "resources", None), name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
