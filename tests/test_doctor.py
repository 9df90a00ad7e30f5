"""`lbr doctor`: each check with fakes for what this machine lacks or has (no GPU, a driver too old for torch's
CUDA, no compiler, missing or altered data, a full disk, a slot folder another user locked, Slurm EDIT lines left
empty), and the whole command on the demo's targets."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from lbr.config.load import load
from lbr.cost.plan import Job
from lbr.machine import compiler, doctor, gpuslots, nvidia

from repo_copy import ROOT, copy_workflow


def fake_torch(gpus: int = 0, cuda: str | None = "13.0") -> doctor.TorchFacts:
    return doctor.TorchFacts("2.14.1", cuda, None, ("NVIDIA H100 80GB HBM3",) * gpus)


def fake_tool(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n" + script)
    (folder / name).chmod(0o755)


def test_packages_name_what_is_missing_or_too_old():
    versions = {"numpy": "1.20.3", "pyyaml": "6.0.1", "torch": "2.99.0+cu140"}

    def version(name):
        if name not in versions:
            raise doctor.importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    reqs = ["snakemake[reports]>=9.27,<10", "numpy>=1.26", "pyyaml>=6", "torch>=2.4"]
    line = doctor.packages_line(reqs, version)
    assert line.status == "fail" and line.text == "missing snakemake; numpy 1.20.3 (needs >= 1.26)"
    assert "pip install -e ." in line.fix and "keeps an installed torch" in line.fix
    assert doctor.packages_line(reqs[2:], version).status == "ok"  # a newer torch than this machine's is fine
    assert not any("<=" in r or "<2" in r for r in doctor.requirements() if r.startswith("torch"))


def test_torch_is_asked_in_a_child_process_and_one_that_does_not_import_fails(tmp_path, monkeypatch):
    import torch

    facts = doctor.torch_facts(doctor.start_torch_probe())  # this machine's torch
    assert facts == doctor.TorchFacts(torch.__version__, torch.version.cuda, torch.version.hip, ())
    assert doctor.torch_line(facts).status == "ok" and not torch.cuda.is_initialized()
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('libcudart.so.13: cannot open shared object')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    line = doctor.torch_line(doctor.torch_facts(doctor.start_torch_probe()))
    assert line.status == "fail" and "libcudart.so.13: cannot open shared object" in line.text
    assert "pytorch.org" in line.fix


def test_gpus_say_why_torch_sees_none(tmp_path, monkeypatch):
    """No GPU at all: the GPU jobs run on the CPU (a warning). A driver that cannot run torch's CUDA, or a CPU build
    of torch on a GPU box: the GPU jobs would stop (a failure), with the fix. The driver is read from a fake
    nvidia-smi on PATH."""
    line = doctor.gpus_line(fake_torch(0), 3, None)
    assert line.status == "warn" and "the 3 planned GPU job(s) run on the CPU" in line.text
    assert doctor.gpus_line(fake_torch(0), 0, None).status == "ok"
    fake_tool(
        tmp_path / "bin",
        "nvidia-smi",
        'if [ "$1" = "--query-gpu=name,driver_version" ]; then\n'
        '  echo "NVIDIA H100 80GB HBM3, 535.54.03"; echo "NVIDIA H100 80GB HBM3, 535.54.03"; exit 0\nfi\n'
        'echo "| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: 12.2 |"\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    driver = nvidia.driver()
    assert driver == nvidia.Driver("535.54.03", "12.2", ("NVIDIA H100 80GB HBM3",) * 2)
    old = doctor.gpus_line(fake_torch(0, "13.0"), 3, driver)
    assert old.status == "fail" and "torch is built for CUDA 13.0, newer than the driver's CUDA 12.2" in old.text
    assert "update the NVIDIA driver, or install a torch built for CUDA 12.2 or older" == old.fix
    cpu_build = doctor.gpus_line(fake_torch(0, None), 3, driver)
    assert cpu_build.status == "fail" and "torch is a CPU build" in cpu_build.text
    monkeypatch.setattr(gpuslots, "nvidia_device_files", lambda: [])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("LBR_GPUS", "2")
    seen = doctor.gpus_line(fake_torch(2), 3, driver)
    assert seen.status == "ok" and "torch sees 2 GPU(s) (NVIDIA H100 80GB HBM3)" in seen.text
    monkeypatch.setenv("LBR_GPUS", "x")
    assert doctor.gpus_line(fake_torch(2), 3, driver).status == "fail"


def test_compile_without_a_compiler(tmp_path, monkeypatch):
    config = load(checked=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc, no clang, no g++
    monkeypatch.delenv("CC", raising=False)
    gpu = doctor.compile_line(config, gpu_seen=True)
    assert gpu.status == "warn" and "compile: auto runs eager (recorded as compile: fallback)" in gpu.text
    assert doctor.compile_line(config, gpu_seen=False).status == "ok"  # not needed on a CPU
    config["fig4"]["compile"] = True
    forced = doctor.compile_line(config, gpu_seen=True)
    assert forced.status == "fail" and "fig4.compile: true" in forced.text and "a C compiler" in forced.text
    cpu = doctor.compile_line(config, gpu_seen=False)  # inductor on a CPU needs a C++ compiler
    assert cpu.status == "fail" and "needs a C++ compiler" in cpu.text and "install g++" in cpu.fix
    monkeypatch.setenv("CC", sys.executable)  # any executable stands for a compiler
    monkeypatch.setenv("CXX", sys.executable)
    monkeypatch.setattr(compiler, "python_headers", lambda: tmp_path)
    assert doctor.compile_line(config, gpu_seen=True).status == "ok"
    assert doctor.compile_line(config, gpu_seen=False).status == "ok"


def mnist_root(root: Path, damaged: str | None = None) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (raw / stem).write_bytes(b"not the real file")
    if damaged is None:
        return
    (raw / "t10k-labels-idx1-ubyte").write_bytes(damaged.encode())


def test_data_lines_say_what_is_found_downloaded_or_missing(tmp_path, monkeypatch):
    """Per dataset: its copies in data_root and their md5 (altered copies fail with the `sources` entry that
    accepts them), what would be downloaded, what cannot be had; a data_root that is not a folder fails."""
    monkeypatch.chdir(tmp_path)
    mnist_root(tmp_path / "data", damaged="altered")
    config = load(overrides={"data_root": str(tmp_path / "data")}, checked=False)
    lines = {line.check: line for line in doctor.data_lines(config, ["mnist", "cifar10", "arabic_digits", "digits"])}
    assert lines["data_root"].status == "ok"
    mnist = lines["data mnist"]
    assert mnist.status == "fail" and "found in data_root" in mnist.text and "4 files, 4 with another md5" in mnist.text
    digest = hashlib.md5(b"altered").hexdigest()
    assert f'"MNIST/raw/t10k-labels-idx1-ubyte": {{md5: "{digest}"}}' in mnist.fix
    assert lines["data cifar10"].status == "ok" and lines["data cifar10"].text == "to download from www.cs.toronto.edu"
    assert (
        lines["data arabic_digits"].status == "fail"
        and "datasets.arabic_digits.archive" in lines["data arabic_digits"].fix
    )
    assert lines["data digits"].text == "built in (no files needed)"
    accepted = {
        "sources": {"mnist": {f"MNIST/raw/{p.name}": {"md5": None} for p in (tmp_path / "data/MNIST/raw").iterdir()}}
    }
    config = load(overrides={"data_root": str(tmp_path / "data"), **accepted}, checked=False)
    assert doctor.data_lines(config, ["mnist"])[1].status == "ok"
    monkeypatch.setattr("lbr.data.availability.MD5_BUDGET", 1)  # copies beyond the budget: left to the job
    config = load(overrides={"data_root": str(tmp_path / "data")}, checked=False)
    big = doctor.data_lines(config, ["mnist"])[1]
    assert big.status == "ok" and "md5 of 4 left to the job" in big.text
    config["data_root"] = str(tmp_path / "nowhere")
    assert doctor.data_lines(config, [])[0].status == "fail"


def test_disk_fails_when_the_planned_outputs_do_not_fit(tmp_path, monkeypatch):
    """TinyImageNet prepared (uint8) and filtered twice (float16, temporary: only the jobs that may run at once
    count), one filter already done: the sum against a fake free space."""
    config = load(checked=False)
    jobs = [
        Job("prepare", {"dataset": "tinyimagenet"}, True, None, []),
        Job("filter", {"dataset": "tinyimagenet", "side": "top", "level": "0.25"}, True, None, []),
        Job("filter", {"dataset": "tinyimagenet", "side": "top", "level": "0.5"}, True, None, []),
        Job("filter", {"dataset": "tinyimagenet", "side": "top", "level": "0.75"}, False, None, []),  # done
    ]
    images = (100_000 + 10_000) * 3 * 64 * 64  # bytes of TinyImageNet as uint8
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage._replace(free=2 * 2**30))
    one = doctor.disk_line(config, jobs, tmp_path, at_once=1)
    assert one.status == "fail" and f"need up to {3 * images / 2**30:.1f} GB" in one.text
    assert "2.0 GB are free" in one.text
    assert f"need up to {5 * images / 2**30:.1f} GB" in doctor.disk_line(config, jobs, tmp_path, at_once=2).text
    config["keep_filtered"] = True  # kept: every filter counts
    assert f"need up to {5 * images / 2**30:.1f} GB" in doctor.disk_line(config, jobs, tmp_path, at_once=1).text
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage._replace(free=50 * 2**30))
    assert doctor.disk_line(config, jobs, tmp_path).status == "ok"


def test_slot_folder_writable_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("LBR_GPU_SLOTS", raising=False)
    monkeypatch.setenv("LBR_GPU_SLOT_DIR", str(tmp_path / "slots"))
    assert "writable" in doctor.slots_line(1).text and doctor.slots_line(1).status == "ok"
    gpuslots.acquire(1, ["0"], tmp_path / "slots", timeout=0).release()
    assert "shared with every user" in doctor.slots_line(1).text
    real_access = os.access
    monkeypatch.setattr(doctor.os, "access", lambda p, mode: not str(p).endswith(".lock") and real_access(p, mode))
    locked = doctor.slots_line(2)  # slot files another user made read-only for us (as lbr did before 0666)
    assert locked.status == "fail" and "is read-only for you" in locked.text and "chmod a+rw" in locked.fix
    monkeypatch.setattr(doctor.os, "access", lambda p, mode: False)
    assert doctor.slots_line(2).status == "fail" and "is not writable for you" in doctor.slots_line(2).text
    monkeypatch.setenv("LBR_GPU_SLOTS", "off")
    assert doctor.slots_line(2).status == "ok"


def test_slurm_profile_edit_lines(tmp_path, monkeypatch):
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text(
        "executor: slurm\n"
        "default-resources:\n"
        "  # slurm_account: mylab    # EDIT: account to charge (default: guessed from your Slurm user)\n"
        "set-resources:\n"
        "  train_classifier:\n"
        "    slurm_partition: gpu    # EDIT: partition with GPUs\n"
        "    # gpu_model: a100       # EDIT (optional): GPU type\n"
        "    # qos: normal           # EDIT: quality of service\n"
    )
    fake_tool(tmp_path / "bin", "sinfo", 'echo "cpu*"; echo "gpu-h100"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    lines = doctor.slurm_lines(profile)
    assert [line.status for line in lines] == ["ok", "fail", "fail"]
    assert "slurm_account left at its default" in lines[0].text
    assert "partition 'gpu' does not exist here" in lines[1].text and "cpu, gpu-h100" in lines[1].fix
    assert "qos is not filled" in lines[2].text
    (profile / "config.yaml").write_text("cores: all\n")
    assert doctor.slurm_lines(profile) == []  # not a Slurm profile


@pytest.mark.workflow
def test_doctor_checks_the_demo_targets_in_one_run(tmp_path, monkeypatch, capsys):
    """The whole command in a copy of the workflow: every line, and exit 0 for the demo's built-in data; exit 1 once
    a dataset it needs can be had nowhere."""
    from lbr.cli import main

    repo = copy_workflow(tmp_path / "repo")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("LBR_GPU_SLOT_DIR", str(tmp_path / "slots"))
    assert main(["doctor", "figures/fig9.pdf", "--configfile", "profiles/demo/demo.yaml"]) == 0
    out = capsys.readouterr().out
    for check in ("python", "packages", "torch", "plan", "gpus", "compile", "data synthetic", "disk", "gpu slots"):
        assert f"  {check} " in out, check
    assert out.strip().splitlines()[-1].startswith("ready")
    (repo / "mine.yaml").write_text("fig9: {dataset: arabic_digits}\n")
    assert main(["doctor", "figures/fig9.pdf", "--configfile", "mine.yaml"]) == 1
    out = capsys.readouterr().out
    assert "fail  data arabic_digits" in out and out.strip().splitlines()[-1].startswith("1 check(s) failed")


def test_doctor_lines_are_one_line_each():
    line = doctor.Line("disk", "fail", "the planned outputs need up to 9.0 GB", "free space")
    assert line.render() == "fail  disk           the planned outputs need up to 9.0 GB; fix: free space"
    text, code = doctor.report([line, doctor.Line("python", "ok", "3.11")])
    assert code == 1 and len(text.splitlines()) == 3
    assert ROOT.is_dir()
