"""GPU slots on one machine (lbr.machine.gpuslots), tested with fake GPUs and real processes holding the locks: k jobs
per GPU and no more, an exclusive job waits for a shared GPU to empty and the reverse, idle GPUs fill before busy
ones are shared, a killed job's slots are freed, extra jobs wait or fail clearly, LBR_GPUS beyond the visible
GPUs is refused, Slurm's choice is left alone, a GPU job whose GPU torch cannot see stops (lbr.machine.device), and
Snakemake jobs of a `gpu=1` rule get their slots through lbr's script runner (profiles/local)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from lbr.errors import LbrError
from lbr.machine import device, gpuslots

ROOT = Path(__file__).resolve().parents[1]
FAKE_GPUS = Path(__file__).resolve().parent / "fake_gpus"  # its sitecustomize hides real GPUs from child processes


@pytest.fixture(autouse=True)
def no_real_gpus(monkeypatch):
    """Every test here fakes its GPUs completely: this process sees no GPU device files, so GPU ids come from
    LBR_GPUS and CUDA_VISIBLE_DEVICES alone, on a GPU box as on a CPU (tests that need torch's count fake it)."""
    monkeypatch.setattr(gpuslots, "nvidia_device_files", lambda: [])
    monkeypatch.setattr(gpuslots, "amd_device_file", lambda: False)


# A job: take slots on `n` GPUs (shared by up to `k` jobs each), write CUDA_VISIBLE_DEVICES to <out>, then
# wait until <release> or <out>.release exists; its log goes to <out>.log.
JOB = textwrap.dedent(
    """
    import logging, os, sys, time
    from pathlib import Path
    from lbr.machine.gpuslots import gpu_slots
    from lbr.errors import LbrError
    out, everyone = Path(sys.argv[1]), Path(sys.argv[2])
    mine = Path(str(out) + ".release")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with gpu_slots(int(sys.argv[3]), int(sys.argv[4]), "test-job " + out.stem):
            out.write_text(os.environ["CUDA_VISIBLE_DEVICES"])
            while not (everyone.exists() or mine.exists()):
                time.sleep(0.05)
    except LbrError as err:
        out.write_text("error: " + str(err))
        sys.exit(3)
    """
)


def job_env(slot_dir: Path, gpus: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "LBR_GPU"))}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.update(LBR_GPUS=str(gpus), LBR_GPU_SLOT_DIR=str(slot_dir))
    env["PYTHONPATH"] = os.pathsep.join([str(FAKE_GPUS), str(ROOT / "workflow")])
    env.update(extra)
    return env


def start_job(tmp_path: Path, name: str, env: dict[str, str], n: int = 1, k: int = 1) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / f"{name}.out"
    with open(f"{out}.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", JOB, str(out), str(tmp_path / "release"), str(n), str(k)], env=env, stderr=log
        )
    return proc, out


def log_of(out: Path) -> str:
    return Path(f"{out}.log").read_text()


def waits(out: Path) -> bool:
    return "waiting for 1 GPU(s) with" in log_of(out)


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
        wait_for(lambda: "waiting for 1 GPU(s) with 12 of 12 slots free" in second_log.read_text(), "a wait")
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
        assert "no room after 0.5 s" in message and f"GPU 0: pid {holder.pid} test-job holder (12 of 12" in message

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        after, after_out = start_job(tmp_path, "after", job_env(slots, gpus=1, LBR_GPU_SLOT_TIMEOUT="10"))
        wait_for(after_out.exists, "a new job to take the killed job's GPU")
        assert after_out.read_text() == "0"
    finally:
        (tmp_path / "release").touch()
        finish([p for p in (holder, locals().get("late"), locals().get("after")) if p is not None])
    assert after.returncode == 0


@pytest.mark.parametrize("k", [2, 3])
def test_k_jobs_share_a_gpu_and_a_killed_one_frees_its_share(tmp_path, k):
    """k + 1 jobs with jobs_per_gpu=k on one GPU: exactly k hold it at once, the last waits; killing a holder
    (SIGKILL) lets the waiting one in."""
    env = job_env(tmp_path / "slots", gpus=1)
    jobs = [start_job(tmp_path, f"job{i}", env, k=k) for i in range(k + 1)]
    try:
        wait_for(lambda: sum(out.exists() for _, out in jobs) == k and any(map(waits, (o for _, o in jobs))), "k in")
        time.sleep(1.0)  # the waiting job polls 4 times a second: give it the chance to slip in wrongly
        holding = [(proc, out) for proc, out in jobs if out.exists()]
        waiting = [(proc, out) for proc, out in jobs if not out.exists()]
        assert len(holding) == k and len(waiting) == 1
        assert {out.read_text() for _, out in holding} == {"0"}
        assert f"{12 // k} of 12 slots free (jobs_per_gpu={k})" in log_of(waiting[0][1])
        holding[0][0].send_signal(signal.SIGKILL)
        holding[0][0].wait(timeout=30)
        wait_for(waiting[0][1].exists, "the waiting job to take the killed job's slots")
        assert waiting[0][1].read_text() == "0"
    finally:
        (tmp_path / "release").touch()
        finish([p for p, _ in jobs])
    assert all(p.returncode == 0 for p, _ in jobs if p is not holding[0][0])


@pytest.mark.parametrize("first_k, second_k", [(2, 1), (1, 2)])
def test_exclusive_and_shared_jobs_wait_for_each_other(tmp_path, first_k, second_k):
    """A job that needs the whole GPU waits while a shared job holds part of it, and a shared job waits while an
    exclusive one holds it; each starts once the other ends."""
    env = job_env(tmp_path / "slots", gpus=1)
    first, first_out = start_job(tmp_path, "first", env, k=first_k)
    second = None
    try:
        wait_for(first_out.exists, "the first job to take its slots")
        second, second_out = start_job(tmp_path, "second", env, k=second_k)
        wait_for(lambda: waits(second_out), "the second job to say it waits")
        assert f"GPU 0: pid {first.pid} test-job first ({12 // first_k} of 12 slots)" in log_of(second_out)
        time.sleep(1.0)
        assert not second_out.exists(), "the second job started on a GPU without room for it"
        Path(f"{first_out}.release").touch()
        wait_for(second_out.exists, "the second job to start once the first one ended")
        assert second_out.read_text() == "0"
    finally:
        (tmp_path / "release").touch()
        finish([p for p in (first, second) if p is not None])
    assert first.returncode == 0 and second.returncode == 0


def test_idle_gpus_fill_before_busy_ones_are_shared(tmp_path):
    """Jobs with jobs_per_gpu=2 on three GPUs, started one after another: the first three get a GPU each, the
    next three double up, one per GPU, and a seventh waits."""
    env = job_env(tmp_path / "slots", gpus=3)
    jobs = []
    try:
        for i in range(6):
            jobs.append(start_job(tmp_path, f"job{i}", env, k=2))
            wait_for(jobs[-1][1].exists, f"job {i} to take its slots")
        held = [out.read_text() for _, out in jobs]
        late, late_out = start_job(
            tmp_path, "late", job_env(tmp_path / "slots", gpus=3, LBR_GPU_SLOT_TIMEOUT="0.5"), k=2
        )
        late.wait(timeout=60)
        message = late_out.read_text()
        holders = gpuslots.holders(["0", "1", "2"], tmp_path / "slots")
    finally:
        (tmp_path / "release").touch()
        finish([p for p, _ in jobs])
    assert sorted(held[:3]) == ["0", "1", "2"] and sorted(held[3:]) == ["0", "1", "2"]
    assert late.returncode == 3 and "no room after 0.5 s for 1 GPU(s) with 6 of 12 slots free" in message
    assert {gpu: sorted(owners.values()) for gpu, owners in holders.items()} == {g: [6, 6] for g in "012"}


def test_slots_never_exceed_a_gpus_capacity(tmp_path):
    """In one process (flock is per open file, so the slots of one process exclude each other too): whatever
    mix of shares is asked for, the slots held on a GPU never exceed 12 and a request without room fails."""
    d, ids = tmp_path / "slots", ["0"]
    third = gpuslots.acquire(1, ids, d, timeout=0, jobs_per_gpu=3, label="a")
    quarter = gpuslots.acquire(1, ids, d, timeout=0, jobs_per_gpu=4, label="b")
    half = None
    try:
        with pytest.raises(LbrError, match="6 of 12 slots free"):
            half = gpuslots.acquire(1, ids, d, timeout=0, jobs_per_gpu=2)  # 4 + 3 held, 5 free
        sixth = gpuslots.acquire(1, ids, d, timeout=0, jobs_per_gpu=6, label="c")
        assert gpuslots.holders(ids, d) == {
            "0": {f"pid {os.getpid()} a": 4, f"pid {os.getpid()} b": 3, f"pid {os.getpid()} c": 2}
        }
        sixth.release()
        quarter.release()
        half = gpuslots.acquire(1, ids, d, timeout=0, jobs_per_gpu=2)  # 4 held, 8 free
        with pytest.raises(LbrError, match="12 of 12 slots free"):
            gpuslots.acquire(1, ids, d, timeout=0, jobs_per_gpu=1)
    finally:
        for held in (third, quarter, half):
            if held is not None:
                held.release()
    assert gpuslots.holders(ids, d) == {"0": {}}
    with pytest.raises(LbrError, match="jobs_per_gpu is 5 but must be one of 1, 2, 3, 4, 6, 12"):
        gpuslots.acquire(1, ids, d, jobs_per_gpu=5)


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
        with pytest.raises(LbrError, match="no room after 0 s"):
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


def test_lbr_gpus_beyond_the_visible_gpus_is_refused(monkeypatch):
    """Fake GPUs (no NVIDIA device files here): CUDA_VISIBLE_DEVICES is the visible list. Real GPUs (torch's
    count, monkeypatched): LBR_GPUS and CUDA_VISIBLE_DEVICES are checked against it."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.setenv("LBR_GPUS", "3")
    with pytest.raises(LbrError, match=r"LBR_GPUS is 3 but only 2 GPUs are visible \(CUDA_VISIBLE_DEVICES lists 2 "):
        gpuslots.device_ids()
    monkeypatch.setattr(gpuslots, "real_gpus_countable", lambda: True)
    monkeypatch.setattr(gpuslots, "count_gpus", lambda: 1)  # e.g. a one-GPU box
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("LBR_GPUS", "2")
    with pytest.raises(LbrError, match="LBR_GPUS is 2 but only 1 GPUs are visible .torch sees 1 on this machine.; set"):
        gpuslots.device_ids()
    monkeypatch.setenv("LBR_GPUS", "1")
    assert gpuslots.device_ids() == ["0"]
    monkeypatch.delenv("LBR_GPUS")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # torch counts only the listed GPUs that exist
    with pytest.raises(LbrError, match="CUDA_VISIBLE_DEVICES=0,1 lists 2 GPUs but torch sees 1 of them"):
        gpuslots.device_ids()


def gpu_job_env(monkeypatch, visible: str | None, gpus: str | None = "1", nvidia: bool = False) -> None:
    """A job as the runner starts it (LBR_JOB_GPUS), on a torch that sees no CUDA device."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(gpuslots, "nvidia_device_files", lambda: ["/dev/nvidia0"] if nvidia else [])
    for name, value in (("CUDA_VISIBLE_DEVICES", visible), (gpuslots.JOB_GPUS_VAR, gpus)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_a_gpu_job_never_falls_back_to_the_cpu(monkeypatch):
    """auto on the CPU only where no GPU was given and none exists, or in a job that asked for none."""
    gpu_job_env(monkeypatch, visible="0")
    with pytest.raises(LbrError, match=r"this GPU job was given CUDA_VISIBLE_DEVICES=0 but torch .* sees no CUDA"):
        device.pick_device("auto")
    assert device.pick_device("cpu").type == "cpu"  # on purpose
    gpu_job_env(monkeypatch, visible=None, nvidia=True)  # e.g. a CPU build of torch on a GPU box
    with pytest.raises(LbrError, match="runs on a machine with /dev/nvidia0 but torch"):
        device.pick_device("auto")
    gpu_job_env(monkeypatch, visible=None)  # a laptop: the demo's GPU rules train on its CPU
    assert device.pick_device("auto").type == "cpu"
    gpu_job_env(monkeypatch, visible="", nvidia=True)  # GPUs hidden on purpose
    assert device.pick_device("auto").type == "cpu"
    gpu_job_env(monkeypatch, visible="0", gpus=None, nvidia=True)  # a CPU-stage job (no gpu resource)
    assert device.pick_device("auto").type == "cpu"
    with pytest.raises(LbrError, match="device 'cuda' was requested but torch sees no CUDA device .CUDA_VISIBLE_DE"):
        device.pick_device("cuda")


def test_a_cpu_job_stays_on_the_cpu_where_torch_sees_a_gpu(monkeypatch):
    """Where torch sees a GPU, `auto` follows the job's rule: the runner marks a job whose rule declares no GPU
    (LBR_JOB_GPUS=0) and it runs on the CPU; a GPU job and work outside the workflow (no mark) take the GPU."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(gpuslots.JOB_GPUS_VAR, "0")
    assert device.pick_device("auto").type == "cpu"
    assert device.pick_device("cuda").type == "cuda"  # asked for by name: the settings say so
    monkeypatch.setenv(gpuslots.JOB_GPUS_VAR, "1")
    assert device.pick_device("auto").type == "cuda"
    monkeypatch.delenv(gpuslots.JOB_GPUS_VAR)
    assert device.pick_device("auto").type == "cuda"
    with gpuslots.gpu_slots(0):  # how the runner runs a job of a rule without `gpu`
        assert os.environ[gpuslots.JOB_GPUS_VAR] == "0" and device.pick_device("auto").type == "cpu"
    assert gpuslots.JOB_GPUS_VAR not in os.environ


def test_runner_stops_a_job_given_a_gpu_torch_cannot_see(tmp_path, monkeypatch, capsys):
    """Through lbr's script runner, as a rule with gpu=1, jobs_per_gpu=2 on a fake GPU: the job holds its slots,
    then its trainer's pick_device('auto') stops it with one sentence (exit 1); CUDA is never initialised."""
    import torch

    from lbr.machine import runner

    gpu_job_env(monkeypatch, visible=None, gpus=None)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("LBR_GPU_SLOTS", raising=False)
    monkeypatch.setenv("LBR_GPUS", "1")
    monkeypatch.setenv("LBR_GPU_SLOT_DIR", str(tmp_path))
    seen = {}

    def main(smk):
        seen["visible"] = os.environ["CUDA_VISIBLE_DEVICES"]
        seen["holders"] = gpuslots.holders(["0"], tmp_path)
        device.pick_device("auto")

    smk = SimpleNamespace(
        log=[],
        threads=None,
        rule="train_classifier",
        wildcards=["cifar10", "resnet9"],
        resources=SimpleNamespace(gpu=1, jobs_per_gpu=2),
    )
    with pytest.raises(SystemExit) as stop:
        runner.run(main, smk)
    assert stop.value.code == 1
    assert seen == {"visible": "0", "holders": {"0": {f"pid {os.getpid()} train_classifier cifar10/resnet9": 6}}}
    assert "this GPU job was given CUDA_VISIBLE_DEVICES=0 but torch" in capsys.readouterr().err
    assert "CUDA_VISIBLE_DEVICES" not in os.environ and gpuslots.JOB_GPUS_VAR not in os.environ
    assert gpuslots.holders(["0"], tmp_path) == {"0": {}}
    assert not torch.cuda.is_initialized()


@pytest.mark.workflow
@pytest.mark.parametrize("jobs_per_gpu", [1, 2])
def test_snakemake_gpu_jobs_share_a_gpu_as_the_rule_says(tmp_path, jobs_per_gpu):
    """Four `gpu=1` jobs under `--profile profiles/local --resources gpu=2*k` on two fake GPUs, the rule declaring
    `jobs_per_gpu=k`; all 2*k allowed jobs are made to overlap (barrier: each waits, slots held, until 2*k have
    arrived, so a job refused its share would time out). k=1: overlapping jobs hold different GPUs; k=2: the
    four jobs run at once, two per GPU."""
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
        f"gpu={2 * jobs_per_gpu}",
        "--config",
        "n_jobs=4",
        "hold_seconds=1",
        f"barrier={2 * jobs_per_gpu}",
        f"jobs_per_gpu={jobs_per_gpu}",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "wf/results/gpu").glob("*.json"))]
    assert len(records) == 4
    assert all(r["resources"]["jobs_per_gpu"] == jobs_per_gpu for r in records)
    assert {r["cuda_visible_devices"] for r in records} <= {"0", "1"}
    overlapping = [
        (a, b)
        for i, a in enumerate(records)
        for b in records[i + 1 :]
        if a["start"] < b["end"] and b["start"] < a["end"]
    ]
    assert overlapping, "no two jobs ran at the same time; the test proves nothing"
    if jobs_per_gpu == 1:
        for a, b in overlapping:
            assert a["cuda_visible_devices"] != b["cuda_visible_devices"], (a, b)
    else:
        assert len(overlapping) == 6, "the four jobs did not all run at once"
        assert sorted(r["cuda_visible_devices"] for r in records) == ["0", "0", "1", "1"]


FAKE_TORCH = """
import os
class cuda:
    @staticmethod
    def device_count():
        # three GPUs (0, 1, 2); CUDA_VISIBLE_DEVICES hides the others and names that do not exist count for nothing
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = ["0", "1", "2"] if visible is None else [v.strip() for v in visible.split(",")]
        return sum(1 for v in ids if v in ("0", "1", "2"))
"""


@pytest.fixture
def three_gpu_torch(tmp_path, monkeypatch):
    """Child processes import a torch that counts three GPUs (this process keeps the real one)."""
    (tmp_path / "faketorch" / "torch").mkdir(parents=True)
    (tmp_path / "faketorch" / "torch" / "__init__.py").write_text(FAKE_TORCH)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "faketorch"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("LBR_GPUS", raising=False)


def test_gpus_are_counted_in_a_child_process(three_gpu_torch, monkeypatch):
    """The count comes from torch in a child process (a fake torch there counts three GPUs), so CUDA is never
    initialised here and CUDA_VISIBLE_DEVICES set afterwards still takes effect; the child sees the variable."""
    import torch

    assert gpuslots.count_gpus() == 3
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,2")
    assert gpuslots.count_gpus() == 2
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(gpuslots, "real_gpus_countable", lambda: True)  # a CUDA build on a machine with GPUs
    assert gpuslots.device_ids() == ["0", "1", "2"]
    monkeypatch.setenv("LBR_GPUS", "2")
    assert gpuslots.device_ids() == ["0", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,7")  # GPU 7 does not exist
    monkeypatch.delenv("LBR_GPUS")
    with pytest.raises(LbrError, match="CUDA_VISIBLE_DEVICES=1,7 lists 2 GPUs but torch sees 1 of them"):
        gpuslots.device_ids()
    assert not torch.cuda.is_initialized()


def test_a_count_that_fails_says_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('broken torch')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(LbrError, match="could not count the GPUs with torch; set CUDA_VISIBLE_DEVICES"):
        gpuslots.count_gpus()


def test_gpu_count_in_a_child_process_matches_torch():
    """On this machine's real torch (0 on a CPU machine, the GPUs on a GPU box)."""
    import torch

    assert gpuslots.count_gpus() == torch.cuda.device_count()
    assert not torch.cuda.is_initialized()


def test_lbr_gpus_prints_who_holds_what(tmp_path, monkeypatch, capsys):
    from lbr.cli import main

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("LBR_GPUS", "2")
    monkeypatch.setenv("LBR_GPU_SLOT_DIR", str(tmp_path))
    held = gpuslots.acquire(1, ["0", "1"], tmp_path, timeout=0, jobs_per_gpu=3, label="train_dynamics cifar10")
    try:
        assert main(["gpus"]) == 0
    finally:
        held.release()
    out = capsys.readouterr().out
    assert "GPU 0            8 of 12 slots free" in out and "GPU 1            12 of 12 slots free" in out
    assert f"   4 slots   pid {os.getpid()} train_dynamics cifar10" in out


def test_runner_reads_the_gpu_resources():
    from lbr.machine import runner

    def smk(**resources):
        return SimpleNamespace(resources=SimpleNamespace(**resources), rule="train_guidance", wildcards=["512", "0"])

    assert (runner.gpus_requested(smk(gpu=1)), runner.jobs_per_gpu(smk(gpu=1))) == (1, 1)
    assert runner.jobs_per_gpu(smk(gpu=1, jobs_per_gpu=3)) == 3
    assert runner.gpus_requested(smk(gpu=0, gres="gpu:a100:2")) == 2  # Slurm clusters that reject --gpus
    assert runner.gpus_requested(smk(gres="gpu:1")) == 1 and runner.gpus_requested(smk(mem_mb=4000)) == 0
    assert runner.job_label(smk()) == "train_guidance 512/0"


def test_jobs_take_slots_in_the_order_they_arrived(tmp_path):
    """Two half-GPU jobs hold the GPU; a whole-GPU job waits for it. When one half job ends, a half job that
    arrives later fits into the freed half but waits behind the whole-GPU job (else whole-GPU jobs could starve
    behind a stream of half jobs); a waiting job killed with SIGKILL holds up nobody."""
    env = job_env(tmp_path / "slots", gpus=1)
    a, a_out = start_job(tmp_path, "a", env, k=2)
    b, b_out = start_job(tmp_path, "b", env, k=2)
    procs = [a, b]
    try:
        wait_for(lambda: a_out.exists() and b_out.exists(), "two half jobs on the GPU")
        whole, whole_out = start_job(tmp_path, "whole", env, k=1)
        procs.append(whole)
        wait_for(lambda: waits(whole_out), "the whole-GPU job to wait")
        dead, dead_out = start_job(tmp_path, "dead", env, k=2)  # queued behind `whole`, then killed
        procs.append(dead)
        wait_for(lambda: waits(dead_out), "a half job to queue")
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=30)
        Path(f"{a_out}.release").touch()
        a.wait(timeout=30)
        late, late_out = start_job(tmp_path, "late", env, k=2)
        procs.append(late)
        wait_for(lambda: "behind 1 job(s) that waited longer" in log_of(late_out), "the late half job to queue")
        time.sleep(1.0)  # it polls 4 times a second: give it the chance to slip into the free half wrongly
        assert not late_out.exists(), "a half job overtook the whole-GPU job that was waiting before it"
        assert not whole_out.exists()
        Path(f"{b_out}.release").touch()
        wait_for(whole_out.exists, "the whole-GPU job to get the emptied GPU")
        assert gpuslots.holders(["0"], tmp_path / "slots") == {"0": {f"pid {whole.pid} test-job whole": 12}}
        assert not late_out.exists()
        Path(f"{whole_out}.release").touch()
        wait_for(late_out.exists, "the late half job, once the whole-GPU job ended")
    finally:
        (tmp_path / "release").touch()
        finish(procs)
    assert [p.returncode for p in (a, b, whole, late)] == [0, 0, 0, 0]


def test_lock_files_can_be_shared_by_other_users(tmp_path):
    """Slot files are read-write for everyone and lock folders world-writable with the sticky bit (as /tmp),
    whatever the umask: a second user's job must open the first one's slot files. A folder the user made keeps
    its own mode."""
    old = os.umask(0o077)
    try:
        gpuslots.acquire(1, ["0"], tmp_path / "shared", timeout=0, jobs_per_gpu=2).release()
        mine = tmp_path / "mine"
        mine.mkdir()
        mine.chmod(0o750)
        gpuslots.acquire(1, ["0"], mine, timeout=0, jobs_per_gpu=2).release()
    finally:
        os.umask(old)
    shared = tmp_path / "shared"
    for folder in (shared, shared / "gpu-0", shared / "queue"):
        assert folder.stat().st_mode & 0o7777 == 0o1777, folder
    files = [shared / "acquire.lock", *sorted((shared / "gpu-0").iterdir())]
    assert len(files) == 13 and all(f.stat().st_mode & 0o777 == 0o666 for f in files)
    assert mine.stat().st_mode & 0o777 == 0o750


FAKE_LIBCUDA = """
static int initialised = 0;
int cuInit(unsigned int flags) { initialised = 1; return 0; }
int cuDeviceGetCount(int *count) { if (!initialised) return 3; *count = 1; return 0; }
"""
PROBE = """
import ctypes, sys
from lbr.errors import LbrError
from lbr.machine import gpuslots
if sys.argv[1] != "absent":
    lib = ctypes.CDLL("libcuda.so.1")  # loaded as torch loads it
    if sys.argv[1] == "initialised":
        lib.cuInit(0)  # what torch.cuda.is_available() does
seen = gpuslots.cuda_driver_initialised()
try:
    with gpuslots.gpu_slots(1):
        print(seen, "slots")
except LbrError as err:
    print(seen, err)
"""


def test_a_job_that_initialised_cuda_before_its_slot_is_stopped(tmp_path):
    """torch.cuda.is_available() initialises the CUDA driver (which reads CUDA_VISIBLE_DEVICES once) without
    marking torch initialised; the slot guard asks the driver itself (a fake libcuda.so.1 built here: cuInit
    sets the flag, cuDeviceGetCount answers CUDA_ERROR_NOT_INITIALIZED before it)."""
    import shutil

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the fake libcuda.so.1")
    (tmp_path / "libcuda.c").write_text(FAKE_LIBCUDA)
    lib = tmp_path / "libcuda.so.1"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "libcuda.c")], check=True)
    env = job_env(tmp_path / "slots", gpus=1, LD_LIBRARY_PATH=str(tmp_path))
    seen = {}
    for state in ("absent", "loaded", "initialised"):
        done = subprocess.run([sys.executable, "-c", PROBE, state], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        seen[state] = done.stdout.strip()
    assert seen["absent"] == "False slots" and seen["loaded"] == "False slots"
    assert seen["initialised"].startswith("True CUDA was initialised (a CUDA call, or torch.cuda.is_available()")


def test_an_exclusive_job_is_alone_on_its_gpu_while_closed_form_jobs_run(tmp_path):
    """With the workflow's defaults (the closed-form and spectral rules hold a share of a GPU, `jobs_per_gpu` of
    their sections; guidance jobs hold a whole one), on one fake GPU: closed-form jobs run side by side, a
    guidance job waits until none is left, and a closed-form job that arrives meanwhile waits until it ends."""
    from lbr.config.load import load

    config = load(checked=False)
    shares = {config[s]["jobs_per_gpu"] for s in ("spectrum", "filter", "closed_form", "fig8")}
    exclusive = config["guidance"]["jobs_per_gpu"]
    assert exclusive == 1 and min(shares) >= 2, (shares, exclusive)
    k = min(shares)  # the largest share a closed-form job holds
    env = job_env(tmp_path / "slots", gpus=1)
    forms = [start_job(tmp_path, f"form{i}", env, k=k) for i in range(2)]
    procs = [p for p, _ in forms]
    try:
        wait_for(lambda: all(out.exists() for _, out in forms), "two closed-form jobs on the GPU")
        guided, guided_out = start_job(tmp_path, "guidance", env, k=exclusive)
        procs.append(guided)
        wait_for(lambda: waits(guided_out), "the guidance job to wait")
        time.sleep(1.0)
        assert not guided_out.exists(), "the guidance job shared its GPU with closed-form jobs"
        for _, out in forms:
            Path(f"{out}.release").touch()
        wait_for(guided_out.exists, "the guidance job once the closed-form jobs ended")
        late, late_out = start_job(tmp_path, "late_form", env, k=k)
        procs.append(late)
        wait_for(lambda: waits(late_out), "a closed-form job to wait while the guidance job runs")
        assert gpuslots.holders(["0"], tmp_path / "slots") == {"0": {f"pid {guided.pid} test-job guidance": 12}}
        Path(f"{guided_out}.release").touch()
        wait_for(late_out.exists, "the closed-form job once the guidance job ended")
    finally:
        (tmp_path / "release").touch()
        finish(procs)


@pytest.mark.workflow
def test_closed_form_and_spectral_rules_are_gpu_jobs_unless_their_device_is_cpu(tmp_path):
    """Planned with the demo's data: every job that may use a GPU (the spectrum, the filters, the statistics and
    closed forms of Figs. 2, 7, 8 and 10, the noise check) declares gpu=1, so the runner gives it a share of a GPU
    (12 / jobs_per_gpu slots) and the GPU its slot names; with its section's device: cpu it declares none and runs
    on the CPU (LBR_JOB_GPUS=0)."""
    from lbr.cost.plan import build

    from repo_copy import copy_workflow

    repo = copy_workflow(tmp_path / "repo")
    closed = {"spectrum", "alignment_moments", "fig2_dataset", "fig7_dataset", "noise_check_dataset", "fig10_theory"}
    closed |= {"fig8_supervised", "fig8_denoising"}
    targets = ["results/tables/fig2.csv", "results/tables/fig7.csv", "results/tables/fig8.csv"]
    targets += ["results/tables/noise_check.csv", "results/tables/fig10.csv", "figures/fig9.pdf"]
    demo = [repo / "profiles/demo/demo.yaml"]
    plan = build(targets, demo, workdir=repo)
    gpus = {job.rule: job.gpus for job in plan.jobs}
    assert closed <= set(gpus) and {gpus[r] for r in closed} == {1}, gpus
    assert gpus["prepare"] == 0 and gpus["fig9"] == 0
    cpu = {s: {"device": "cpu"} for s in ("spectrum", "closed_form", "fig8")}
    on_cpu = build(targets, demo, config=cpu, workdir=repo)
    assert {job.rule: job.gpus for job in on_cpu.jobs if job.rule in closed} == dict.fromkeys(closed, 0)
    facts = subprocess.run([sys.executable, str(ROOT / "tests/rule_facts.py"), str(repo)], capture_output=True)
    rules = json.loads(facts.stdout.decode().split("RULE_FACTS ", 1)[1])
    assert rules["filter"]["gpu"] == 1  # its jobs are planned only once the spectrum exists (a checkpoint)
