"""Record what a GPU job was given (CUDA_VISIBLE_DEVICES, Slurm's view, resources) while holding its GPU."""

import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "workflow" / "scripts"))  # noqa: F821

from lbr_script import run  # noqa: E402

from lbr.errors import LbrError  # noqa: E402
from lbr.io import save_json  # noqa: E402

SLURM_KEYS = (
    "SLURM_JOB_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_JOB_PARTITION",
    "SLURM_MEM_PER_NODE",
    "SLURM_CPUS_PER_GPU",
    "SLURM_CPUS_PER_TASK",
    "SLURM_GPUS_ON_NODE",
    "SLURM_JOB_GPUS",
)


def main(smk):
    index = int(smk.wildcards.i)
    marker = Path(smk.output[0]).with_suffix(".failed-once")
    if index in smk.params.fail_first and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"mem_mb {getattr(smk.resources, 'mem_mb', None)}\n")
        raise LbrError(f"job {index} fails on purpose on its first attempt; the retry must succeed.")
    wait_for_others(index, smk.params.barrier)
    start = time.time()
    time.sleep(smk.params.hold_seconds)
    record = {
        "index": index,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "start": start,
        "end": time.time(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "retried": marker.exists(),
        "resources": {k: v for k, v in smk.resources.items() if isinstance(v, (int, float, str))},
        "slurm": {k: os.environ[k] for k in SLURM_KEYS if k in os.environ},
    }
    save_json(smk.output[0], record)


def wait_for_others(index, count, timeout=120.0):
    arrivals = Path("results/arrivals")
    arrivals.mkdir(parents=True, exist_ok=True)
    (arrivals / str(index)).touch()
    end = time.monotonic() + timeout
    while len(list(arrivals.iterdir())) < count:
        if time.monotonic() > end:
            raise LbrError(f"job {index} waited {timeout:g} s for {count} jobs to run at once; too few ran.")
        time.sleep(0.05)


run(main, snakemake)  # noqa: F821
