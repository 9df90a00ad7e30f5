"""One failed job does not cost the run: with keep-going (the laptop and local profiles) every figure that does not
depend on it is built, and the run ends with the list of what failed and why and a partial scorecard whose rows say
which inputs failed. Built-in data and a custom dataset of non-pixel values (refused by `prepare`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from lbr.machine.failures import Failure, failed_jobs, failed_tables, reason

from repo_copy import copy_workflow, snakemake

pytestmark = pytest.mark.workflow


def test_keep_going_builds_the_other_figures_and_lists_what_failed(tmp_path):
    repo = copy_workflow(tmp_path / "repo")
    broken = {"x": np.full((20, 8, 8), 7000.0), "y": np.arange(20) % 2}
    np.savez(repo / "broken_train.npz", **broken)
    np.savez(repo / "broken_test.npz", **broken)
    config = {
        "figures": ["fig2", "fig7"],
        "custom_datasets": {"broken": {"format": "npz", "train": "broken_train.npz", "test": "broken_test.npz"}},
        "fig2": {"datasets": ["digits", "broken"], "k_max": 8},
        "fig7": {"datasets": ["digits"], "ratios": [0.0, 0.5], "patches": [1], "sigmas": [1.0], "k_min": 2},
        "noise_check": {"datasets": ["digits"], "noises": [{"noise": "gaussian", "sigma": 1.0}], "k_max": 8},
    }
    (repo / "mine.yaml").write_text(yaml.safe_dump(config))
    r = snakemake(repo, "-c2", "--keep-going", "--configfile", "mine.yaml")
    assert r.returncode != 0
    assert (repo / "figures/fig7.pdf").exists() and not (repo / "figures/fig2.pdf").exists()
    assert "lbr: 1 job failed; everything else that could run did:" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("  - prepare"))
    assert "results/data/broken/train.npz" in line and "holds values from 7000 to 7000, not pixels" in line
    assert "logs/prepare/broken.log" in line
    partial = pd.read_csv(repo / "results/tables/paper_check_partial.csv", keep_default_na=False).set_index("id")
    assert partial.loc["fig2-no-background", "rebuilt"].startswith("input failed: prepare failed: ")
    assert partial.loc["fig7-mask", "status"] in ("reproduced", "differs")  # computed from the built table
    assert not (repo / "results/tables/paper_check.csv").exists()


def test_failed_jobs_are_read_from_snakemakes_log(tmp_path):
    job_log = tmp_path / "job.log"
    job_log.write_text("12:00:01 INFO started\n12:00:02 ERROR fig4.shares[0] is not a level; give a share.\n")
    trace = tmp_path / "trace.log"
    trace.write_text("Traceback (most recent call last):\n  File x\nValueError: boom\n")
    main = tmp_path / "snakemake.log"
    main.write_text(
        "Error in rule filter:\n    message: None\n    jobid: 3\n    output: a.npy, a.json\n"
        f"    log: {job_log} (check log file(s) for error details)\n    shell:\n        x\n"
        "Error in rule fig8_denoising:\n    jobid: 4\n    output: d.csv\n"
        f"    log: {trace} (check log file(s) for error details)\nExiting because a job execution failed.\n"
    )
    failures = failed_jobs(main)
    assert [(f.rule, f.outputs, f.why) for f in failures] == [
        ("filter", "a.npy, a.json", "fig4.shares[0] is not a level; give a share."),
        ("fig8_denoising", "d.csv", "ValueError: boom"),
    ]
    assert reason(tmp_path / "missing.log").startswith("no log")
    spectrum = Failure("spectrum", "results/spectrum/svhn.npz", "", "bad")
    expected = {"fig4": ["svhn", "mnist"], "fig8": [], "fig2": ["mnist"]}
    tables = failed_tables(failures + [spectrum], expected)
    assert tables["fig4"] == "filter failed: fig4.shares[0] is not a level; give a share.; spectrum failed: bad"
    assert tables["fig8"].startswith("fig8_denoising failed: ValueError: boom") and "fig2" not in tables
