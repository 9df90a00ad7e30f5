"""What run a scorecard describes: the configuration files, the datasets of each figure, the commit and the time,
written beside paper_check.csv (paper_check.json) so that a table copied into the docs says where it came from."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path


def commit(repo: str | Path = ".") -> str:
    """The repository's commit (with '+changes' when the tree differs from it), or '' outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+changes" if dirty else "")


def run_record(run: dict) -> dict:
    """`run` (configfiles, figures, datasets by figure, as the rule passes them) with the commit and the time."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return dict(run) | {"commit": commit(), "written": now}


def describe(record: dict) -> str:
    """One line: 'the run of <configfiles> (datasets: natural = ..., ...), commit abc, 2026-12-07 12:00 UTC'."""
    files = ", ".join(record.get("configfiles") or []) or "config.yaml"
    roles = record.get("roles") or {}
    data = ", ".join(f"{role} = {name}" for role, name in roles.items())
    parts = [f"the run of {files}" + (f" ({data})" if data else "")]
    if record.get("label"):
        parts.insert(0, record["label"])
    if record.get("commit"):
        parts.append(f"commit {record['commit']}")
    if record.get("written"):
        parts.append(record["written"])
    return ", ".join(parts)
