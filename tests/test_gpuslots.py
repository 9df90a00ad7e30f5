"""GPU slots on one machine (lbr.gpuslots), tested with fake GPUs: distinct GPUs for concurrent jobs, a
killed job's GPU is freed, extra jobs wait or fail clearly, Slurm's choice is left alone, and Snakemake
jobs of a `gpu=1` rule get their GPU through lbr's script runner (profiles/local)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lbr import gpuslots
from lbr.errors import LbrError

ROOT = Path(__file__).resolve().parents[1]

# A job: take `n` GPU slots, write CUDA_VISIBLE_DEVICES to <out>, then wait until <release> exists;
# its log goes to <out>.log.
JOB = textwrap.dedent(
    """
    import logging, os, sys, time
    from pathlib import Path
    from lbr.gpuslots import gpu_slots
    from lbr.errors import LbrError
    out, release = Path(sys.argv[1]), Path(sys.argv[2])
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with gpu_slots(int(sys.argv[3])):
            out.write_text(os.environ["CUDA_VISIBLE_DEVICES"])
            while not release.exists():
                time.sleep(0.05)
    except LbrError as err:
        out.write_text("error: " + str(err))
        sys.exit(3)
    """
)


def job_env(slot_dir: Path, gpus: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "LBR_GPU"))}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.update(LBR_GPUS=str(gpus), LBR_GPU_SLOT_DIR=str(slot_dir), PYTHONPATH=str(ROOT / "workflow"))
    env.update(extra)
    return env


def start_job(tmp_path: Path, name: str, env: dict[str, str], n: int = 1) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / f"{name}.out"
    with open(f"{out}.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", JOB, str(out), str(tmp_path / "release"), str(n)], env=env, stderr=log
        )
    return proc, out


def wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def finish(procs) -> None:
    """Let released jobs exit; kill any that hang."""
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_concurrent_jobs_get_distinct_gpus(tmp_path):
    env = job_env(tmp_path / "slots", gpus=3)
    jobs = [start_job(tmp_path, f"job{i}", env) for i in range(3)]
    try:
        wait_for(lambda: all(out.exists() for _, out in jobs), "three jobs holding a GPU at once")
        held = sorted(out.read_text() for _, out in jobs)
    finally:
        (tmp_path / "release").touch()
        finish([p for p, _ in jobs])
    assert held == ["0", "1", "2"]
    assert all(p.returncode == 0 for p, _ in jobs)


def test_multi_gpu_job_gets_disjoint_devices(tmp_path):
    env = job_env(tmp_path / "slots", gpus=4)
    jobs = [start_job(tmp_path, f"job{i}", env, n=2) for i in range(2)]
    try:
        wait_for(lambda: all(out.exists() for _, out in jobs), "two 2-GPU jobs holding their GPUs")
        held = [set(out.read_text().split(",")) for _, out in jobs]
    finally:
        (tmp_path / "release").touch()
        finish([p for p, _ in jobs])
    assert all(len(h) == 2 for h in held)
    assert held[0].isdisjoint(held[1])
    assert held[0] | held[1] == {"0", "1", "2", "3"}


def test_extra_job_waits_until_a_gpu_is_released(tmp_path):
    env = job_env(tmp_path / "slots", gpus=1)
    first, first_out = start_job(tmp_path, "first", env)
    second = None
    try:
        wait_for(first_out.exists, "the first job to take the only GPU")
        second, second_out = start_job(tmp_path, "second", env)
        second_log = Path(f"{second_out}.log")
        wait_for(lambda: "waiting for 1 free GPU" in second_log.read_text(), "the second job to say it waits")
        assert not second_out.exists(), "the second job ran although the only GPU was held"
        first.kill()
        first.wait(timeout=30)
        wait_for(second_out.exists, "the second job to get the GPU the first one held")
        assert second_out.read_text() == "0"
    finally:
        (tmp_path / "release").touch()
        finish([p for p in (first, second) if p is not None])
    assert second.returncode == 0


def test_killed_job_frees_its_gpu_and_a_full_machine_fails_clearly(tmp_path):
    slots = tmp_path / "slots"
    holder, holder_out = start_job(tmp_path, "holder", job_env(slots, gpus=1))
    try:
        wait_for(holder_out.exists, "a job holding the only GPU")
        late, late_out = start_job(tmp_path, "late", job_env(slots, gpus=1, LBR_GPU_SLOT_TIMEOUT="0.5"))
        late.wait(timeout=60)
        assert late.returncode == 3
        message = late_out.read_text()
        assert "no free GPU after 0.5 s" in message and f"pid {holder.pid}" in message

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        after, after_out = start_job(tmp_path, "after", job_env(slots, gpus=1, LBR_GPU_SLOT_TIMEOUT="10"))
        wait_for(after_out.exists, "a new job to take the killed job's GPU")
        assert after_out.read_text() == "0"
    finally:
        (tmp_path / "release").touch()
        finish([p for p in (holder, locals().get("late"), locals().get("after")) if p is not None])
    assert after.returncode == 0


def test_slurm_jobs_keep_the_gpus_slurm_chose(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setenv("LBR_GPU_SLOT_DIR", str(tmp_path / "slots"))
    monkeypatch.delenv("LBR_GPU_SLOTS", raising=False)
    with gpuslots.gpu_slots(1) as held:
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
        assert held.ids == []
    assert not (tmp_path / "slots").exists()

    monkeypatch.setenv("LBR_GPU_SLOTS", "on")  # e.g. a local run inside `salloc --gpus=2`
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with gpuslots.gpu_slots(1) as held:
        assert held.ids == ["3"] and os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3,5"


def test_visible_devices_are_the_pool_and_lbr_gpus_caps_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("LBR_GPUS", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpuslots.device_ids() == ["3", "5"]
    first = gpuslots.acquire(1, directory=tmp_path)
    second = gpuslots.acquire(1, directory=tmp_path)
    try:
        assert {first.ids[0], second.ids[0]} == {"3", "5"}
        with pytest.raises(LbrError, match="no free GPU"):
            gpuslots.acquire(1, directory=tmp_path, timeout=0)
    finally:
        first.release()
        second.release()
    monkeypatch.setenv("LBR_GPUS", "1")
    assert gpuslots.device_ids() == ["3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("LBR_GPUS", "2")
    assert gpuslots.device_ids() == ["0", "1"]


def test_no_gpu_means_cpu_and_impossible_requests_fail(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("LBR_GPU_SLOT_DIR", str(tmp_path))
    monkeypatch.setenv("LBR_GPUS", "0")
    with gpuslots.gpu_slots(1) as held:
        assert held.ids == [] and "CUDA_VISIBLE_DEVICES" not in os.environ
    with pytest.raises(LbrError, match="asks for 3 GPUs but this machine offers 2"):
        gpuslots.acquire(3, ids=["0", "1"], directory=tmp_path)
    monkeypatch.setenv("LBR_GPU_SLOTS", "sometimes")
    with pytest.raises(LbrError, match="LBR_GPU_SLOTS"):
        gpuslots.enabled()


@pytest.mark.workflow
def test_snakemake_gpu_jobs_never_share_a_gpu(tmp_path):
    """Four `gpu=1` jobs under `--profile profiles/local --resources gpu=2` on two fake GPUs: jobs that
    overlap in time hold different GPUs, and the first two are made to overlap (barrier)."""
    env = job_env(tmp_path / "slots", gpus=2)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        str(ROOT / "profiles/local"),
        "--workflow-profile",
        "none",
        "--snakefile",
        str(ROOT / "tests/gpu_workflow/Snakefile"),
        "--directory",
        str(tmp_path / "wf"),
        "--cores",
        "4",
        "--resources",
        "gpu=2",
        "--config",
        "n_jobs=4",
        "hold_seconds=1",
        "barrier=2",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "wf/results/gpu").glob("*.json"))]
    assert len(records) == 4
    assert {r["cuda_visible_devices"] for r in records} <= {"0", "1"}
    overlapping = [
        (a, b)
        for i, a in enumerate(records)
        for b in records[i + 1 :]
        if a["start"] < b["end"] and b["start"] < a["end"]
    ]
    assert overlapping, "no two jobs ran at the same time; the test proves nothing"
    for a, b in overlapping:
        assert a["cuda_visible_devices"] != b["cuda_visible_devices"], (a, b)


def test_gpu_count_leaves_cuda_uninitialised(monkeypatch):
    """Counting happens in a child process, so CUDA_VISIBLE_DEVICES set afterwards still takes effect."""
    import torch

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("LBR_GPUS", raising=False)
    assert len(gpuslots.device_ids()) == torch.cuda.device_count()
    assert not torch.cuda.is_initialized()


def test_gpu_count_in_a_child_process_matches_torch(monkeypatch):
    import torch

    monkeypatch.setattr(gpuslots.glob, "glob", lambda pattern: ["/dev/nvidia0"])  # take the child-process path
    assert gpuslots.count_gpus() == torch.cuda.device_count()
    assert not torch.cuda.is_initialized()
