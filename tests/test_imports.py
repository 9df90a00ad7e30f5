"""Imports by need: the jobs that only read, draw, download or prepare never load torch, and neither does the
workflow while it plans (each job re-reads the Snakefile, so its imports are paid by every job)."""

import ast
import re
import subprocess
import sys

import pytest

from repo_copy import ROOT

SCRIPTS = ROOT / "workflow" / "scripts"
TORCH_FREE_SCRIPTS = sorted(
    p.name
    for p in SCRIPTS.glob("*.py")
    if p.name.startswith("fig")
    and not p.name.endswith(("_dataset.py", "_supervised.py", "_denoising.py", "_theory.py"))
) + ["concat_tables.py", "download.py", "dynamics_tables.py", "guidance_tables.py", "paper_check.py", "prepare.py"]


def imports_of(path) -> list[str]:
    """The import statements of a file, as source lines."""
    tree = ast.parse(path.read_text())
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def loads_torch(lines: list[str]) -> bool:
    code = "\n".join(["import sys", f"sys.path[:0] = [{str(SCRIPTS)!r}, {str(ROOT / 'workflow')!r}]", *lines])
    code += "\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1] == "True"


def test_the_list_covers_the_scripts():
    assert len(TORCH_FREE_SCRIPTS) >= 14 and all((SCRIPTS / name).exists() for name in TORCH_FREE_SCRIPTS)


@pytest.mark.parametrize("script", TORCH_FREE_SCRIPTS)
def test_reading_drawing_and_data_jobs_do_not_load_torch(script):
    assert not loads_torch(imports_of(SCRIPTS / script)), f"{script} loads torch through its imports"


def test_planning_the_workflow_does_not_load_torch():
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]
    modules = sorted({m for f in files for m in re.findall(r"^from (lbr[\w.]*) import", f.read_text(), re.M)})
    assert "lbr.config.settings" in modules and not loads_torch([f"import {m}" for m in modules])


def test_a_training_job_does_load_torch():
    """The check above can fail: a trainer's imports do load torch."""
    assert loads_torch(imports_of(SCRIPTS / "train_classifier.py"))
