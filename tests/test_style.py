"""The tree is formatter-clean: ruff (lint and format) for Python, snakefmt for the Snakemake files, both
configured in pyproject.toml (line length 120)."""

import subprocess
import sys

import pytest

from repo_copy import ROOT

SNAKEMAKE_FILES = ["Snakefile", "workflow/rules", "tests/gpu_workflow/Snakefile"]


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["snakefmt", "--check", *SNAKEMAKE_FILES]],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_tree_is_formatter_clean(command):
    result = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"run `{' '.join(command).replace('--check ', '')}` to fix:\n{result.stdout}{result.stderr}"
    )
