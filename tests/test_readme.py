"""The README's (and docs') config snippets as a user copies them: each YAML block is read from the Markdown text,
written to a file exactly as shown, given the small data it names, and run through `snakemake -n` (the own-data
file also for real at demo size, then the report command the README gives), so that a change to the docs that
breaks them breaks these tests."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lbr.config.load import load
from lbr.config.sections import ALL_DATASETS, FIGURE_DATASETS
from lbr.data.registry import REGISTRY

from repo_copy import ROOT, copy_workflow, snakemake

pytestmark = pytest.mark.workflow

README = (ROOT / "README.md").read_text()
OWN_DATA = "### Your own images"


def block_after(text: str, heading: str, lang: str) -> str:
    """The first ```lang block after `heading` in a Markdown text."""
    rest = text[text.index(heading) :]
    return re.search(rf"^```{lang}\n(.*?)^```", rest, re.S | re.M).group(1)


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows (cells, stripped) of the first Markdown table after `heading`, header and rule left out."""
    rest = text[text.index(heading) :]
    lines = re.search(r"^(\|.*\|\n)+", rest, re.M).group(0).splitlines()
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def snakemake_commands(text: str, heading: str) -> list[list[str]]:
    """The snakemake commands of the first bash block after `heading`, as argument lists (comments dropped)."""
    lines = block_after(text, heading, "bash").splitlines()
    return [shlex.split(line.split("#")[0])[1:] for line in lines if line.startswith("snakemake ")]


def job_counts(output: str) -> dict[str, int]:
    """{rule: jobs} from the job stats of a Snakemake plan."""
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", output, re.M)}


def write_user_data(repo: Path, n_train: int = 60, n_test: int = 30, side: int = 8) -> None:
    """What the own-data snippet names: data/{train,test}.npz and an image folder data/pets with three classes."""
    rng = np.random.default_rng(0)
    _mkdir(repo / "data")
    for split, n in (("train", n_train), ("test", n_test)):
        np.savez(repo / f"data/{split}.npz", x=rng.integers(0, 256, (n, side, side, 3), np.uint8), y=np.arange(n) % 3)
        for name in ("bird", "cat", "dog"):
            folder = _mkdir(repo / "data/pets" / split / name)
            for i in range(n // 3):
                Image.fromarray(rng.integers(0, 256, (side + 4, side + 2, 3), np.uint8)).save(folder / f"{i}.png")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    """A workflow copy with the README's own-data file as mine.yaml and the data it names."""
    repo = copy_workflow(tmp_path_factory.mktemp("readme") / "repo")
    (repo / "mine.yaml").write_text(block_after(README, OWN_DATA, "yaml"))
    write_user_data(repo)
    return repo


def test_own_data_file_plans_only_what_it_names(own_data, monkeypatch):
    plan_args = snakemake_commands(README, OWN_DATA)[0]
    assert "-n" in plan_args
    res = snakemake(own_data, *plan_args)
    assert res.returncode == 0, res.stdout[-3000:]
    counts = job_counts(res.stdout)
    plan = res.stdout[res.stdout.index("Building DAG") :]
    # no paper dataset anywhere in the plan, no download, only the figure it names; the Fig. 4 runs wait for spectra
    assert "download" not in counts and "train_classifier" not in counts
    assert not [name for name in REGISTRY if re.search(rf"\b{name}\b", plan)]
    assert set(re.findall(r"figures/(\w+)\.pdf", plan)) == {"fig4"}
    for name in ("mydata", "pets"):
        assert f"the Fig. 4 levels of {name} (top: g0, g1" in plan and f"results/spectrum/{name}.npz" in plan
    # the Fig. 4 grid of the file, counted from its settings
    monkeypatch.chdir(own_data)
    config = load(own_data / "mine.yaml")
    fig4 = config["fig4"]
    assert fig4["datasets"] == ["mydata", "pets"] and config["figures"] == ["fig4"]
    grid = len(fig4["archs"]) * len(fig4["sides"]) * len(fig4["shares"]) * len(fig4["aug"]) * len(fig4["seeds"])
    per_dataset = re.search(
        r"# (\d+) runs each: (\d+) archs x (\d+) sides x (\d+) shares x (\d+) aug x (\d+) seeds", README
    )
    assert [int(g) for g in per_dataset.groups()] == [grid, 2, 2, 9, 2, 3]
    # the README's numbers for this plan: `lbr plan`, which counts the runs the spectra will release
    env = {**os.environ, "PYTHONPATH": str(own_data / "workflow")}
    lbr = subprocess.run([sys.executable, "-m", "lbr.cli", "plan", "--configfile", "mine.yaml"], cwd=own_data, env=env,
                         text=True, capture_output=True, timeout=300)  # fmt: skip
    assert lbr.returncode == 0, lbr.stderr[-3000:]
    total = int(re.search(r"# every job of the run, counted: (\d+) jobs, no download", README).group(1))
    assert re.search(rf"^Plan of all with mine.yaml: {total} jobs", lbr.stdout, re.M)
    assert re.search(rf"^train_classifier\s+{2 * grid}\s", lbr.stdout, re.M)
    prose = re.search(
        r"The plan is (\d+) prepare, (\d+) spectrum and (\d+) filter jobs, (\d+) training runs, the Fig. 4 table and"
        r"\s+figure, the noise\s+check \((\d+) jobs\), the scorecard and `all`",
        README,
    )
    noise = counts["alignment_moments"] + counts["noise_check_dataset"] + counts["noise_check_table"]
    sides = len(fig4["sides"]) * len(fig4["shares"])
    assert [int(g) for g in prose.groups()] == [counts["prepare"], counts["spectrum"], 2 * sides, 2 * grid, noise]
    # the rest: the Fig. 4 table and figure, the scorecard and all
    assert total == sum(counts.values()) - counts["total"] + 2 * sides + 2 * grid


def test_readme_mistakes_table_is_what_lbr_config_says(own_data):
    """Each row of the README's table of mistakes, as a file, gives exactly the sentence the table shows."""
    rows = table_after(README, "**Mistakes stop at once")
    assert len(rows) >= 6
    env = {**os.environ, "PYTHONPATH": str(own_data / "workflow")}
    for mistake, said in rows:
        (own_data / "mistake.yaml").write_text(mistake.strip("`") + "\n")
        res = subprocess.run(
            [sys.executable, "-m", "lbr.cli", "config", "--configfile", "mistake.yaml"],
            cwd=own_data,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
        expected = said.strip("`").replace("/home/you/lbr", str(own_data))
        got = res.stderr.removeprefix("lbr: error: ").rstrip("\n")
        assert res.returncode == 1 and res.stdout == "" and "\n" not in got, res.stderr
        if expected.endswith("..."):
            assert got.startswith(expected.removesuffix("...")), (mistake, got)
        else:
            assert got == expected, (mistake, got)


def test_readme_table_of_dataset_keys_is_the_code_s():
    rows = table_after(README, "| figure | keys that name its datasets |")
    documented = {}
    for figures, keys in rows:
        for fig in figures.split(", "):
            documented[fig] = re.findall(r"`([\w.]+)`", keys)
    assert documented == {**FIGURE_DATASETS, "(always)": ALL_DATASETS}


def test_merge_snippet_runs_over_the_demo_as_the_readme_says(tmp_path):
    repo = copy_workflow(tmp_path / "repo")
    (repo / "mine.yaml").write_text(block_after(README, "### How settings merge", "yaml"))
    command = re.search(r"Name both, in order:\s+`snakemake (--profile profiles/demo [^`]*mine\.yaml)`", README)
    res = snakemake(repo, *shlex.split(command.group(1)), "-n", "--quiet", "rules")
    assert res.returncode == 0, res.stdout[-3000:]
    assert "train_dynamics" in res.stdout and "fig4_table" in res.stdout


def test_per_side_shares_snippet_of_docs_train_plans_its_runs(tmp_path):
    docs = (ROOT / "docs/train.md").read_text()
    repo = copy_workflow(tmp_path / "repo")
    (repo / "sides.yaml").write_text(block_after(docs, "**Each side at its own shares.**", "yaml"))
    env = {**os.environ, "PYTHONPATH": str(repo / "workflow")}
    command = [sys.executable, "-m", "lbr.cli", "plan", "results/tables/fig4.csv", "--configfile", "sides.yaml"]
    res = subprocess.run(command, cwd=repo, env=env, text=True, capture_output=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "2 + 3 runs per dataset, arch, aug and seed" in docs
    assert re.search(r"^train_classifier\s+60\s", res.stdout, re.M)  # 5 levels x 2 archs x 2 aug x 3 seeds


def test_arabic_archives_snippet_of_docs_backbone_needs_no_download(tmp_path):
    docs = (ROOT / "docs/backbone.md").read_text()
    repo = copy_workflow(tmp_path / "repo")
    snippet = block_after(docs, "When a plan needs one of", "yaml")
    (repo / "arabic.yaml").write_text(snippet)
    for path in re.findall(r"archive: (\S+)\}", snippet):
        _mkdir((repo / path).parent)
        (repo / path).write_bytes(b"")  # a dry run checks that the archive is there, not what it holds
    targets = ["results/data/arabic_characters/train.npz", "results/data/arabic_digits/train.npz"]
    res = snakemake(repo, "-n", *targets, "--configfile", "arabic.yaml")
    assert res.returncode == 0, res.stdout[-3000:]
    assert "no stable download URL" not in res.stdout and job_counts(res.stdout)["download"] == 2


# The own-data run for real at demo size, then the README's report command -------------------------------------

DEMO_SIZE = """custom_datasets:
  pets: {size: 4}
fig4: {archs: [mlp], sides: [bottom], shares: [g1], aug: [0], seeds: [0], epochs: 1, batch_size: 16, width: 0.25,
       device: cpu, compile: false, threads: 1}
noise_check: {noises: [{noise: gaussian, sigma: 1.0}], k_max: 8}
"""


@pytest.mark.slow
def test_report_after_the_own_data_run_with_its_configfile(tmp_path):
    """The README's run and report commands, with a demo-size file after mine.yaml (4x4 images: N >= D)."""
    repo = copy_workflow(tmp_path / "repo")
    (repo / "mine.yaml").write_text(block_after(README, OWN_DATA, "yaml"))
    (repo / "small.yaml").write_text(DEMO_SIZE)
    write_user_data(repo, side=4)
    _, run, report = snakemake_commands(README, OWN_DATA)
    assert "--report" in report and report[report.index("--configfile") + 1] == "mine.yaml"

    def sized(args: list[str]) -> list[str]:
        """The same command with small.yaml after mine.yaml, and 2 cores (`-c 2`) on this machine."""
        out = [b for a in args for b in ([a, "small.yaml"] if a == "mine.yaml" else [a])]
        return ["2" if before == "-c" else a for before, a in zip(["", *out], out)]

    res = snakemake(repo, *sized(run))
    assert res.returncode == 0, res.stdout[-4000:]
    assert (repo / "figures/fig4.pdf").is_file() and not (repo / "resources").exists()
    res = snakemake(repo, *sized(report))
    assert res.returncode == 0, res.stdout[-4000:]
    html = (repo / "report.html").read_text()
    assert "figures/fig4.pdf" in html and "data:application/pdf" in html
    # without the run's --configfile, Snakemake reports on config.yaml's nine figures and stops (docs/cluster.md)
    bare = snakemake(repo, "--report", "bare.html")
    assert bare.returncode != 0 and "File figures/fig1.pdf marked for report but does not exist" in bare.stdout
