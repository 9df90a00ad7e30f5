"""profiles/slurm against a real Slurm: a one-node cluster on localhost from Debian's packages
(.ci/slurm_local_up.sh), the demo's fig9 target and a `gpu=1` rule submitted through sbatch, the jobs
checked in Slurm's own records (scontrol) and on disk, the daemons torn down again.

Runs wherever it can install Slurm: as root with apt-get (CI: .ci/run -> make test). Skipped otherwise,
saying why. Every step is bounded in time and fails loudly instead of hanging."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from repo_copy import ROOT, copy_workflow

UP_SECONDS, RUN_SECONDS, DOWN_SECONDS = 900, 420, 120
# The fake cluster looks like a real one: a default CPU partition, a GPU partition, 2 GPUs, and a node
# big enough for the profile's GPU requests (cpus_per_gpu, mem_mb); jobs just share the real cores.
CLUSTER = {"PARTITIONS": "cpu gpu", "NGPUS": "2", "NODE_CPUS": "32", "NODE_MEM_MB": "256000"}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/")

pytestmark = [pytest.mark.workflow, pytest.mark.slow, pytest.mark.slurm]


def why_skip() -> str | None:
    if os.geteuid() != 0:
        return "needs root to install and start a local Slurm (CI runs the suite as root)"
    if shutil.which("apt-get") is None:
        return "needs apt-get (Debian/Ubuntu) to install Slurm's packages"
    return None


@pytest.fixture(scope="module")
def slurm():
    """A running one-node Slurm; its start-up output (with timings) as the value."""
    reason = why_skip()
    if reason:
        pytest.skip(reason)
    import snakemake_executor_plugin_slurm  # noqa: F401  (a missing plugin is a failure, not a skip)

    with open("/run/lbr-slurm-test.lock", "w") as lock:  # one local Slurm per machine at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        up = bounded(["bash", str(ROOT / ".ci/slurm_local_up.sh")], ROOT, UP_SECONDS, {**os.environ, **CLUSTER})
        try:
            assert up.returncode == 0, f"local Slurm did not start:\n{up.stdout[-4000:]}"
            print(up.stdout)
            yield up.stdout
        finally:
            down = bounded(["bash", str(ROOT / ".ci/slurm_local_down.sh"), "--purge"], ROOT, DOWN_SECONDS)
            print(down.stdout)
            assert down.returncode == 0, f"local Slurm did not stop:\n{down.stdout[-4000:]}"


@pytest.fixture
def repo(tmp_path):
    return copy_workflow(tmp_path / "repo")


def bounded(cmd, cwd, seconds, env=None) -> subprocess.CompletedProcess:
    """Run `cmd` in its own process group; SIGKILL the whole group after `seconds` (Snakemake ignores
    SIGTERM while it waits on Slurm) and fail with the output so far."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} ran past {seconds} s and was killed:\n{out[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def snakemake_on_slurm(repo: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(repo / "workflow"), "LBR_GPU_SLOT_DIR": str(repo / "gpu-slots")}
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/slurm",
        "--profile",
        "tests/slurm_profile",
        "--workflow-profile",
        "none",
        *args,
    ]
    start = time.monotonic()
    result = bounded(cmd, repo, RUN_SECONDS, env)
    seconds = time.monotonic() - start
    assert result.returncode == 0, f"snakemake through Slurm failed:\n{result.stdout[-6000:]}"
    return result, seconds


def submitted(log: str) -> list[tuple[str, str]]:
    """(rule, Slurm job id) of every job Snakemake submitted, in order."""
    return [(rule, slurm_id) for _, slurm_id, rule in SUBMITTED.findall(log)]


def slurm_record(job_id: str) -> dict[str, str]:
    """Slurm's own record of a job (kept by slurmctld for MinJobAge = 300 s after it ends)."""
    out = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"Slurm has no record of job {job_id}: {out.stderr}"
    return dict(field.split("=", 1) for field in out.stdout.split() if "=" in field)


def megabytes(size: str) -> int:
    """Slurm's memory field ('4000M', '62.50G') in MB as sbatch --mem counts them."""
    scale = {"M": 1, "G": 1024, "T": 1024**2}[size[-1]]
    return round(float(size[:-1]) * scale)


def profile_gpu_resources() -> dict:
    return yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["set-resources"]["train_classifier"]


def test_demo_figure_through_slurm(slurm, repo):
    result, seconds = snakemake_on_slurm(repo, "figures/fig9.pdf", "--configfile", "profiles/demo/demo.yaml")
    print(f"demo figures/fig9.pdf through Slurm: {seconds:.1f} s")
    jobs = submitted(result.stdout)
    assert sorted(rule for rule, _ in jobs) == ["prepare", "spectrum"], result.stdout[-4000:]
    threads = {"prepare": 4, "spectrum": 8}
    minutes = {"prepare": "01:00:00", "spectrum": "02:00:00"}
    for rule, job_id in jobs:
        record = slurm_record(job_id)
        assert record["JobState"] == "COMPLETED" and record["ExitCode"] == "0:0", record
        assert record["Partition"] == "cpu", record  # no slurm_partition: the cluster's default
        assert record["NumCPUs"] == str(threads[rule]), record  # threads -> --cpus-per-task
        assert megabytes(record["MinMemoryNode"]) == 4000, record
        assert record["TimeLimit"] == minutes[rule], record
    assert (repo / "figures/fig9.pdf").stat().st_size > 0
    assert (repo / "figures/fig9.png").stat().st_size > 0
    assert (repo / "results/spectrum/synthetic.npz").exists()


def test_gpu_rule_through_slurm_with_retry(slurm, repo):
    """`train_classifier` (resources gpu=1, jobs_per_gpu=2) gets the profile's GPU partition and CPUs per GPU and
    one GPU of its own; a run that fails once is resubmitted with twice the rule's memory and time; Slurm, not
    lbr.machine.gpuslots, picks the GPU."""
    base_mb, base_minutes = 3000, 45
    result, seconds = snakemake_on_slurm(
        repo,
        "--snakefile",
        "tests/gpu_workflow/Snakefile",
        "--directory",
        "gpu",
        "--config",
        "n_jobs=2",
        "fail_first=[1]",
        f"mem_mb={base_mb}",
        f"runtime={base_minutes}",
        "jobs_per_gpu=2",  # as the real GPU rules declare it: a resource the Slurm plugin must ignore
    )
    print(f"gpu workflow (2 jobs, 1 retry) through Slurm: {seconds:.1f} s")
    jobs = submitted(result.stdout)
    assert [rule for rule, _ in jobs] == ["train_classifier"] * 3, result.stdout[-4000:]
    gpu = profile_gpu_resources()
    states = []
    for _, job_id in jobs:
        record = slurm_record(job_id)
        states.append(record["JobState"])
        assert record["Partition"] == gpu["slurm_partition"], record
        assert record["TresPerJob"] == "gres:gpu:1", record
        assert record["CpusPerTres"] == f"gres:gpu:{gpu['cpus_per_gpu']}", record
    assert sorted(states) == ["COMPLETED", "COMPLETED", "FAILED"]
    memory = sorted(megabytes(slurm_record(job_id)["MinMemoryNode"]) for _, job_id in jobs)
    assert memory == [base_mb, base_mb, 2 * base_mb]
    limits = sorted(slurm_record(job_id)["TimeLimit"] for _, job_id in jobs)
    assert limits[-1] == f"{2 * base_minutes // 60:02d}:{2 * base_minutes % 60:02d}:00"

    records = {r["index"]: r for r in (json.loads(p.read_text()) for p in (repo / "gpu/results/gpu").glob("*.json"))}
    assert sorted(records) == [0, 1]
    assert records[1]["retried"] and records[1]["resources"]["mem_mb"] == 2 * base_mb
    assert all(record["resources"]["jobs_per_gpu"] == 2 for record in records.values())
    for record in records.values():
        assert record["slurm"]["SLURM_JOB_ID"] in {job_id for _, job_id in jobs}
        assert record["slurm"]["SLURM_JOB_PARTITION"] == gpu["slurm_partition"]
        assert record["cuda_visible_devices"] in {"0", "1"}  # set by Slurm from the fake gres
    assert not (repo / "gpu-slots").exists(), "lbr.machine.gpuslots took GPU locks inside Slurm jobs"
