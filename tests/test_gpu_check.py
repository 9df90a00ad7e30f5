"""bench/gpu_check.py, the one script a GPU session runs: at toy size on a CPU, so that it cannot rot, and the
guarantees a short GPU session relies on (results after every part, failures recorded, data brought along)."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from archives import idx_bytes
from repo_copy import ROOT

sys.path.insert(0, str(ROOT / "bench"))

SCRIPT = ROOT / "bench/gpu_check.py"
PARTS = ["a_float32", "b_training", "c_spectrum", "d_dcae", "e_guidance", "f_startup", "g_mnist"]
THROUGHPUT = {
    "resnet9_images_per_s",
    "mlp_images_per_s",
    "dcae_images_per_s",
    "dcae_measure_seconds_per_image",
    "guidance_images_per_s",
    "startup_seconds",
    "device",
}


def check(tmp_path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = os.environ | {"TMPDIR": str(tmp_path)}
    command = [sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path / "out"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def record(tmp_path) -> dict:
    return json.loads((tmp_path / "out" / "gpu_check.json").read_text())


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smoke")
    run = check(tmp)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run, record(tmp), (tmp / "out" / "gpu_check.txt").read_text()


def test_smoke_writes_every_part_and_the_throughput_keys(smoke):
    run, result, text = smoke
    assert result["status"] == "ok" and result["failed"] == [] and result["device"] == "cpu"
    assert list(result["parts"]) == PARTS and all(p["status"] == "ok" for p in result["parts"].values())
    assert set(result["throughput"]) == THROUGHPUT
    assert all(v > 0 for k, v in result["throughput"].items() if k != "device")
    parts = result["parts"]
    # float32 on a CPU is IEEE float32 under every policy: relative error to float64 near float32 round-off
    for policy in ("fig3_policy", "bf16_policy_float32_ops", "pytorch_defaults"):
        assert 1e-9 < parts["a_float32"][policy]["matmul"] < 1e-5 and 1e-9 < parts["a_float32"][policy]["conv"] < 1e-5
    assert parts["a_float32"]["fig3_policy"]["switches"] == {"matmul_tf32": False, "cudnn_tf32": False}
    b = parts["b_training"]
    for loop in ("resnet9", "mlp", "reference"):
        images, seconds = b[loop]["images_per_epoch"], b[loop]["epoch_seconds"]
        assert b[loop]["images_per_s"] == pytest.approx(images / np.mean(seconds[1:]))
    assert b["resnet9"]["first_step_seconds"] > 0
    assert parts["c_spectrum"]["D"] == 192 and parts["c_spectrum"]["warmup_seconds"] > 0
    d = parts["d_dcae"]
    assert d["images_per_s"] == pytest.approx(d["images_per_epoch"] / d["epoch_seconds"][-1])
    assert d["measure_seconds_per_image"] == pytest.approx(d["measure_seconds"] / d["measure_images"])
    assert d["switches_in_training"] == {"matmul_tf32": False, "cudnn_tf32": False}
    assert d["policy"]["float32_ops"] == "float32"
    assert len(parts["e_guidance"]["epoch_seconds"]) == 2
    f = parts["f_startup"]
    assert f["cold"]["startup_seconds"] > 0 and f["warm"]["first_step_seconds"] > 0
    assert f["cold"]["clock_consistent"] and f["warm"]["clock_consistent"]
    # one definition of start-up, the job's own (process start to the end of its first step), as lbr plan reads it
    assert f["startup_seconds"] == f["warm"]["startup_seconds"] > f["warm"]["first_step_seconds"]
    assert result["compile"] is False and b["reference"]["workers"] >= 0
    g = parts["g_mnist"]
    assert g["dataset"] == "digits" and {"full", "top-0.9", "bottom-0.2"} <= set(g)
    assert all(not p.get("leaked") for p in parts.values())
    for line in ("ResNet9 images/s", "spectrum + eigh", "masking solve", "guidance images/s", "versions"):
        assert line in text and line in run.stdout
    assert "(e) Figs. 5-6 guidance epoch: ok" in text and "(g) MNIST slice: ok" in text


def test_a_killed_run_keeps_the_parts_it_finished(tmp_path):
    """SIGKILL once the first part is recorded: its numbers are in --out, in a complete JSON file."""
    out = tmp_path / "out"
    env = os.environ | {"TMPDIR": str(tmp_path)}
    command = [sys.executable, str(SCRIPT), "--smoke", "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            path = out / "gpu_check.json"
            if path.exists() and json.loads(path.read_text())["parts"].get("a_float32", {}).get("status") == "ok":
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    result = json.loads((out / "gpu_check.json").read_text())
    assert result["status"] == "running"
    first = result["parts"]["a_float32"]
    assert first["status"] == "ok" and first["fig3_policy"]["matmul"] < 1e-5 and first["seconds"] >= 0
    assert set(result["throughput"]) == THROUGHPUT
    assert "(a) float32 means float32: ok" in (out / "gpu_check.txt").read_text()


def test_a_failing_part_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    import gpu_check

    from lbr.machine.device import float32_math_now, restore_float32_math

    def broken(ctx, entry):
        entry["resnet9"] = {"images_per_s": 123.0}  # measured before the failure: kept
        now = float32_math_now()
        restore_float32_math(now | {"cudnn_tf32": not now["cudnn_tf32"]})  # a process-wide switch left changed
        raise RuntimeError("simulated failure\nsecond line")

    monkeypatch.setitem(gpu_check.PARTS, "b", replace(gpu_check.PARTS["b"], run=broken))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    out = tmp_path / "out"
    code = gpu_check.main(["--smoke", "--parts", "a,b,d,g", "--skip", "g", "--out", str(out)])
    assert code == 1
    result = json.loads((out / "gpu_check.json").read_text())
    assert list(result["parts"]) == ["a_float32", "b_training", "d_dcae"] and result["failed"] == ["b_training"]
    b = result["parts"]["b_training"]
    assert b["status"] == "failed" and b["error"] == "RuntimeError: simulated failure" and b["traceback"]
    tf32 = float32_math_now()["cudnn_tf32"]
    assert b["leaked"] == {"cudnn_tf32": [tf32, not tf32]}  # recorded, and restored for the parts after it
    assert result["parts"]["d_dcae"]["switches_in_training"]["cudnn_tf32"] is False
    assert result["parts"]["d_dcae"]["status"] == "ok" and result["status"] == "failed: b_training"
    assert result["throughput"]["resnet9_images_per_s"] == 123.0 and result["throughput"]["dcae_images_per_s"] > 0
    assert result["throughput"]["guidance_images_per_s"] is None and result["throughput"]["startup_seconds"] is None
    assert "(b) training speed: failed" in (out / "gpu_check.txt").read_text()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "mine")  # restored after the run


def test_a_part_that_would_overrun_the_time_budget_is_skipped(tmp_path, monkeypatch):
    import gpu_check

    for letter, estimate in (("a", 0.0), ("c", 1e9)):
        monkeypatch.setitem(gpu_check.PARTS, letter, replace(gpu_check.PARTS[letter], estimate_s=estimate))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    out = tmp_path / "out"
    assert gpu_check.main(["--smoke", "--parts", "a,c", "--budget-minutes", "1e6", "--out", str(out)]) == 0
    result = json.loads((out / "gpu_check.json").read_text())
    assert result["parts"]["a_float32"]["status"] == "ok" and result["parts"]["c_spectrum"]["status"] == "skipped"
    assert result["status"] == "ok" and result["skipped"] == ["c_spectrum"] and result["failed"] == []
    assert "--parts c" in result["parts"]["c_spectrum"]["reason"]
    assert "(c) spectrum and masking: skipped" in (out / "gpu_check.txt").read_text()


def test_parts_runs_only_the_named_parts_and_missing_data_fails_that_part(tmp_path):
    empty = tmp_path / "data"
    empty.mkdir()
    run = check(tmp_path, "--parts", "g,a", "--data-root", str(empty))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    result = record(tmp_path)
    assert result["requested"] == ["a_float32", "g_mnist"] and list(result["parts"]) == ["a_float32", "g_mnist"]
    assert result["parts"]["a_float32"]["status"] == "ok"
    error = result["parts"]["g_mnist"]["error"]
    assert str(empty) in error and "train-images-idx3-ubyte" in error and "--skip g" in error
    assert set(result["throughput"]) == THROUGHPUT
    assert all(v is None for k, v in result["throughput"].items() if k != "device")


def test_unknown_parts_are_refused_before_anything_runs(tmp_path):
    run = check(tmp_path, "--parts", "a,x")
    assert run.returncode == 2 and "unknown parts x" in run.stderr
    assert not (tmp_path / "out" / "gpu_check.json").exists()


@pytest.mark.parametrize("packed", [True, False], ids=["gz", "plain"])
def test_mnist_is_read_from_gzipped_or_plain_idx_files(tmp_path, packed):
    rng = np.random.default_rng(7)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (150, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(150) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(40) % 10).astype(np.uint8),
    }
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem, array in arrays.items():
        if packed:
            (raw / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(array)))
        else:
            (raw / stem).write_bytes(idx_bytes(array))
    run = check(tmp_path, "--parts", "g", "--data-root", str(tmp_path / "data"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    g = record(tmp_path)["parts"]["g_mnist"]
    assert g["dataset"] == "mnist" and g["n_train"] == 150 and g["n_test"] == 40
    assert g["train_pixel_mean"] == pytest.approx(arrays["train-images-idx3-ubyte"].mean())
    assert g["files"]["train_images"]["file"] == "train-images-idx3-ubyte" + (".gz" if packed else "")
    assert not any(f["real_mnist"] for f in g["files"].values())  # tiny random files are not the real MNIST
    assert all(0 <= g[k]["test_acc"] <= 1 for k in ("full", "top-0.9", "bottom-0.2"))


def test_a_full_run_refuses_the_cpu_in_one_sentence(tmp_path, monkeypatch):
    """Without --smoke and without --device cpu, a machine where torch sees no GPU is refused before anything
    runs, with what torch and the driver see (a fake nvidia-smi on PATH: driver 535 runs CUDA 12.2 at most)."""
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--query-gpu=name,driver_version" ]; then echo "NVIDIA H100 80GB HBM3, 535.54.03"; exit 0; fi\n'
        'echo "| NVIDIA-SMI 535.54.03    Driver Version: 535.54.03    CUDA Version: 12.2 |"\n'
    )
    fake.chmod(0o755)
    env = os.environ | {"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    command = [sys.executable, str(SCRIPT), "--data-root", str(tmp_path), "--out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"gpu_check: torch {torch.__version__} (CUDA {torch.version.cuda}) sees 0 CUDA device(s)" in lines[0]
    assert "nvidia-smi reports NVIDIA driver 535.54.03, CUDA 12.2, 1 GPU(s) (NVIDIA H100 80GB HBM3)" in lines[0]
    assert "pass --device cpu to run them on the CPU on purpose" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing that looks like a result


def test_compile_auto_falls_back_to_eager_where_triton_cannot_build(tmp_path, monkeypatch, caplog):
    """On a GPU without a C compiler (or Python headers), `compile: auto` runs eager, says so in one log line and
    records `compile: fallback`, in a job's policy as in gpu_check's record; with them, it compiles."""
    import gpu_check
    from gpu_parts import Context, dcae_settings

    from lbr.machine import compiler
    from lbr.training.policy import resolve

    cuda = torch.device("cuda")  # only resolved here, never used: nothing touches CUDA
    settings = dcae_settings(Context(cuda, {"dcae_latent": 8}, True, None, tmp_path, lambda: None), 1)
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc, no clang
    monkeypatch.delenv("CC", raising=False)
    assert compiler.c_compiler() is None and "a C compiler (gcc or clang on PATH, or CC)" in compiler.compile_problem()
    with caplog.at_level("WARNING", logger="lbr"):
        policy = resolve(settings, cuda, fast_storage="uint8")
    assert not policy.compile and policy.record()["compile"] == "fallback"
    assert len(caplog.records) == 1
    assert "compile: auto runs eager (recorded as compile: fallback): torch.compile cannot build" in caplog.text
    assert gpu_check.compile_choice(cuda) == "fallback" and gpu_check.compile_choice(torch.device("cpu")) is False
    assert resolve(replace(settings, compile=True), cuda, fast_storage="uint8").compile  # asked for: kept
    monkeypatch.setattr(compiler, "python_headers", lambda: tmp_path)
    monkeypatch.setenv("CC", sys.executable)  # any executable stands for a compiler here
    assert resolve(settings, cuda, fast_storage="uint8").record()["compile"] is True
    monkeypatch.setattr(compiler, "python_headers", lambda: None)
    assert "Python's headers (Python.h for Python" in compiler.compile_problem()
    assert resolve(settings, cuda, fast_storage="uint8").record()["compile"] == "fallback"


def test_dataloader_workers_fit_the_shared_memory(monkeypatch):
    """A container's 64 MB /dev/shm holds two workers of CIFAR batches of 512 (6 MB each), not 15."""
    import shutil as sh

    import gpu_parts

    batch = 512 * 3 * 32 * 32 * 4
    usage = sh.disk_usage("/")
    monkeypatch.setattr(gpu_parts.shutil, "disk_usage", lambda path: usage._replace(free=64 * 2**20))
    assert gpu_parts.loader_workers(15, batch) == (2, 64.0)
    monkeypatch.setattr(gpu_parts.shutil, "disk_usage", lambda path: usage._replace(free=64 * 2**30))
    assert gpu_parts.loader_workers(15, batch)[0] == 15
    monkeypatch.setattr(gpu_parts.shutil, "disk_usage", lambda path: usage._replace(free=10 * 2**20))
    assert gpu_parts.loader_workers(15, batch)[0] == 0  # the loop then loads in the main process
