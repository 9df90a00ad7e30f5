"""docs/train.md's "First GPU" route on a bare machine, run as far as a CPU allows: its first block of commands, as
written, in a fresh Python environment that holds only the machine's torch, torchvision and numpy (with pip and
setuptools), not Snakemake, pandas, SciPy or scikit-learn. Three substitutions, each for what this machine lacks:
`python3` and `lbr` are the fresh environment's, pip builds without isolation (no network for its build backend),
and the GPU check runs with `--device cpu --smoke --skip f` (no GPU; part f, a job's start-up, starts two more
processes for a minute and imports nothing the other parts do not)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from archives import write_mnist_gz
from repo_copy import ROOT

MACHINE = ("torch", "torchvision", "numpy", "pip", "setuptools")
ABSENT = ("snakemake", "pandas", "scipy", "sklearn", "yaml", "matplotlib")


def first_block() -> list[str]:
    """The commands of the first bash block of docs/train.md's "First GPU" section, comments removed."""
    text = (ROOT / "docs/train.md").read_text()
    section = text.split("### First GPU: a bare machine", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def machine_packages() -> set[str]:
    """The distributions of MACHINE and everything they require (as installed here)."""
    seen, todo = set(), list(MACHINE)
    while todo:
        dist = importlib.metadata.distribution(todo.pop())
        name = dist.metadata["Name"].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def bare_python(folder: Path) -> Path:
    """A virtual environment without site packages, seeing only the machine's packages (a .pth file points at a
    folder of links to them), as a GPU box's own python3 with torch installed would."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    exposed = folder / "machine"
    exposed.mkdir()
    site = Path(importlib.metadata.distribution("torch").locate_file(""))
    tops = {
        f.parts[0]
        for name in machine_packages()
        for f in importlib.metadata.distribution(name).files or []
        if f.parts[0] not in ("..", "__pycache__") and not f.parts[0].endswith(".pth")
    }
    for top in tops:
        if (site / top).exists():
            (exposed / top).symlink_to(site / top)
    (next(folder.glob("lib/python3*/site-packages")) / "machine.pth").write_text(f"{exposed}\n")
    return folder / "bin" / "python"


@pytest.mark.slow
def test_the_first_gpu_route_runs_in_a_bare_environment(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Snakefile", "config.yaml", "pyproject.toml", "README.md", "workflow", "bench", "profiles", "envs"):
        src = ROOT / name
        if src.is_dir():
            subprocess.run(["cp", "-r", str(src), str(repo / name)], check=True)
        else:
            (repo / name).write_bytes(src.read_bytes())
    write_mnist_gz(repo / ".cache/gpu_check_data/MNIST/raw", n_train=150, n_test=40)
    python = bare_python(tmp_path / "env")
    probe = f"import importlib.util as u; print([m for m in {ABSENT!r} if u.find_spec(m)])"
    absent = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert absent.stdout.strip() == "[]", absent.stdout  # a bare machine: none of the workflow's other packages

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"PATH": f"{python.parent}{os.pathsep}{env['PATH']}", "TMPDIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    commands = first_block()
    assert [c.split()[:3] for c in commands] == [
        ["python3", "-m", "pip"],
        ["lbr", "doctor", "all"],
        ["python3", "bench/gpu_check.py", "--data-root"],
    ], commands
    done = {}
    for command in commands:
        words = shlex.split(command)
        words[0] = str(python) if words[0] == "python3" else str(python.parent / words[0])
        if words[1:4] == ["-m", "pip", "install"]:
            words.insert(4, "--no-build-isolation")
        if "bench/gpu_check.py" in words:
            words += ["--device", "cpu", "--smoke", "--skip", "f"]
        done[words[1] if words[1] != "-m" else "pip"] = subprocess.run(
            words, cwd=repo, env=env, capture_output=True, text=True, timeout=600
        )
    assert done["pip"].returncode == 0, done["pip"].stderr[-2000:]
    doctor = done["doctor"]
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr  # the workflow's packages are not there yet
    assert re.search(r"^fail  packages .*missing snakemake", doctor.stdout, re.M), doctor.stdout
    assert re.search(r"^ok    torch  ", doctor.stdout, re.M) and "fix: `python3 -m pip install -e .`" in doctor.stdout
    check = done["bench/gpu_check.py"]
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    record = json.loads((repo / "gpu_check/gpu_check.json").read_text())
    assert record["status"] == "ok" and record["smoke"] and record["device"] == "cpu"
    assert [k for k, p in record["parts"].items() if p["status"] == "ok"] == [
        "a_float32", "b_training", "c_spectrum", "d_dcae", "e_guidance", "g_mnist"
    ]  # fmt: skip
    assert record["parts"]["g_mnist"]["dataset"] == "mnist"
