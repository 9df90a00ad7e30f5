"""Copy the workflow into a scratch folder, so that test runs never touch the checkout's results."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("Snakefile", "config.yaml", "workflow", "profiles", "envs", "tests")
SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", ".pytest_cache")


def copy_workflow(dest: Path) -> Path:
    """The workflow files (no results, no metadata) under `dest`; returns `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PARTS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=SKIP)
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(repo: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m snakemake ARGS` in `repo` with its own lbr on the path; output in .stdout (+stderr)."""
    env = {**os.environ, "PYTHONPATH": str(repo / "workflow")}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=repo,
        env=env,
        text=True,
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def build_demo(dest: Path, *targets: str) -> Path:
    """A workflow copy with `targets` built for real by the demo profile (built-in data, CPU)."""
    repo = copy_workflow(dest)
    result = snakemake(repo, "--profile", "profiles/demo", *targets)
    assert result.returncode == 0, result.stdout[-4000:]
    return repo
