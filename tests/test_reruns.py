"""Partial reruns on the demo workflow, read from `snakemake -n`: which jobs a change plans and why.

The demo's fig9 is built once for real (built-in data, seconds); every test then changes one thing in its
own copy of that finished state (results and .snakemake metadata included) and dry-runs."""

from __future__ import annotations

import base64
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

from lbr.config.load import load

from repo_copy import build_demo, copy_workflow, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

TARGET = "figures/fig9.pdf"
SPECTRUM = "results/spectrum/synthetic.npz"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("built") / "repo", TARGET)


@pytest.fixture
def repo(built, tmp_path):
    """A private copy of the finished demo (copy2 keeps modification times, so it is up to date)."""
    return Path(shutil.copytree(built, tmp_path / "repo", symlinks=True))


def plan(repo: Path, *args: str) -> tuple[dict[str, int], dict[str, set[str]], str]:
    """Dry-run the demo target: ({rule: jobs}, {reason: rules}, full output)."""
    result = snakemake(repo, "--profile", "profiles/demo", "-n", TARGET, *args)
    assert result.returncode == 0, result.stdout[-4000:]
    return job_counts(result.stdout), reasons(result.stdout), result.stdout


def job_counts(out: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run, without the total and the `all` rule."""
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    rows = (line.split() for line in table.splitlines())
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit() and row[0] != "all"}


def reasons(out: str) -> dict[str, set[str]]:
    """The 'Reasons:' summary of a dry run: reason -> rules planned for it."""
    found: dict[str, set[str]] = {}
    if "Reasons:" not in out:
        return found
    reason = None
    for line in out.split("Reasons:", 1)[1].splitlines()[1:]:
        if re.fullmatch(r" {4}\S.*:", line):
            reason = line.strip().rstrip(":")
        elif line.startswith(" " * 8) and reason:
            found[reason] = {rule.strip() for rule in line.split(",")} - {"all"}
        elif not line.startswith(" "):
            break
    return found


def set_demo(repo: Path, section: str, key: str, value):
    """Change one setting of the demo config, as a user editing profiles/demo/demo.yaml would; returns
    the value it had there (None if unset)."""
    path = repo / "profiles/demo/demo.yaml"
    settings = yaml.safe_load(path.read_text())
    old = settings.setdefault(section, {}).get(key)
    settings[section][key] = value
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return old


def test_finished_demo_is_up_to_date(repo):
    assert plan(repo)[0] == {}


@pytest.mark.parametrize("key, value", [("columns", 3), ("display", "without_mean")])
def test_plot_setting_reruns_only_the_figure(repo, key, value):
    old = load(repo / "profiles/demo/demo.yaml", base=repo / "config.yaml")["fig9"][key]
    set_demo(repo, "fig9", key, value)
    jobs, why, out = plan(repo)
    assert jobs == {"fig9": 1}
    assert why["params have changed since last execution"] == {"fig9"}
    assert f"'{key}': {old!r}" in out and f"'{key}': {value!r}" in out  # -n names the changed value


def test_spectrum_setting_reruns_spectrum_and_figure_not_data(repo):
    set_demo(repo, "spectrum", "max_vectors", 1000)
    jobs, why, _ = plan(repo)
    assert jobs == {"spectrum": 1, "fig9": 1}
    assert why["params have changed since last execution"] == {"spectrum"}
    assert why["input files updated by another job"] == {"fig9"}


def test_script_edit_reruns_its_rule_unless_accepted(repo):
    """For `script:` rules the code trigger is the script's mtime (not metadata): accept an edit with
    --touch or leave `code` out of --rerun-triggers; --cleanup-metadata does not help here."""
    script = repo / "workflow/scripts/fig9.py"
    script.write_text(script.read_text() + "\n# cosmetic edit\n")
    jobs, why, _ = plan(repo)
    assert jobs == {"fig9": 1}
    assert why["code has changed since last execution"] == {"fig9"}
    assert plan(repo, "--rerun-triggers", "mtime", "params", "input", "software-env")[0] == {}
    accept(repo, "--cleanup-metadata", "figures/fig9.pdf", "figures/fig9.png")
    assert plan(repo)[0] == {"fig9": 1}
    accept(repo, "--touch", TARGET)
    assert plan(repo)[0] == {}


def test_accepted_setting_change_does_not_rerun(repo):
    set_demo(repo, "fig9", "columns", 4)
    accept(repo, "--cleanup-metadata", "figures/fig9.pdf", "figures/fig9.png")
    assert plan(repo)[0] == {}


def accept(repo: Path, *args: str) -> None:
    result = snakemake(repo, "--profile", "profiles/demo", *args)
    assert result.returncode == 0, result.stdout[-2000:]


def test_forcerun_and_until_steer_reruns(repo):
    assert plan(repo, "--forcerun", "spectrum")[0] == {"spectrum": 1, "fig9": 1}
    assert plan(repo, "--forceall", "--until", "spectrum")[0] == {"prepare": 1, "spectrum": 1}


def test_killed_run_resumes_with_rerun_incomplete(tmp_path):
    """Kill a first run (SIGKILL, whole process group) while `spectrum` runs, then resume it."""
    repo = copy_workflow(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(repo / "workflow")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/demo", TARGET],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    marker = repo / ".snakemake/incomplete" / base64.b64encode(SPECTRUM.encode()).decode()
    try:
        end = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < end, "spectrum never started"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert marker.exists()
    assert (repo / "results/data/synthetic/train.npz").exists() and not (repo / TARGET).exists()

    assert snakemake(repo, "--profile", "profiles/demo", "--unlock").returncode == 0
    assert plan(repo)[0] == {"spectrum": 1, "fig9": 1}  # prepare is done and stays done

    # A writer that is not atomic would leave a partial file: Snakemake refuses it unless told to redo it.
    (repo / SPECTRUM).write_bytes(b"partial")
    refused = snakemake(repo, "-n", TARGET, "--configfile", "profiles/demo/demo.yaml")
    assert refused.returncode != 0 and "IncompleteFilesException" in refused.stdout
    assert SPECTRUM in refused.stdout.split("Incomplete files:", 1)[1]
    jobs, why, _ = plan(repo, "--rerun-incomplete")
    assert jobs == {"spectrum": 1, "fig9": 1} and "spectrum" in why["forced"]

    resumed = snakemake(repo, "--profile", "profiles/demo", TARGET)  # the demo profile sets rerun-incomplete
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    assert plan(repo)[0] == {}
    assert (repo / SPECTRUM).read_bytes()[:2] == b"PK"  # a real .npz again
