"""Configuration as a user layers it: files merged as Snakemake merges them, null to take back what an earlier
file set, per-side Fig. 4 grids. Checked through `lbr.config.load` and through real `snakemake -n` plans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lbr.config.load import SCHEMA, load
from lbr.config.sections import fig4_levels
from lbr.config.settings import ClassifierSettings
from lbr.errors import LbrError

from repo_copy import snakemake

# What a lab's profile (or a future config.yaml) might set before the user's own file; its paths are relative
# to the working directory, where `with_profile_files` creates them.
PROFILE = {
    "data_root": "datasets",
    "custom_datasets": {
        "mine": {"format": "npz", "train": "a.npz", "test": "b.npz"},
        "theirs": {"format": "npz", "train": "c.npz", "test": "d.npz"},
    },
    "datasets": {"synthetic": {"n_train": 300, "height": 8}},
    "fig4": {
        "datasets": ["digits", "synthetic"],
        "archs": ["mlp"],
        "shares": ["0.5"],
        "aug": [0],
        "epochs": 5,
        "epochs_by_dataset": {"digits": 7, "synthetic": 9},
    },
}
SCHEMA_PROPS = yaml.safe_load(SCHEMA.read_text())["properties"]


def with_profile_files(folder: Path) -> Path:
    """The files and folders PROFILE names, and data/{train,test}/ for a folder dataset, under `folder`."""
    (folder / "datasets").mkdir(exist_ok=True)
    for entry in PROFILE["custom_datasets"].values():
        for key in ("train", "test"):
            (folder / entry[key]).write_bytes(b"")
    for split in ("train", "test"):
        (folder / "data" / split).mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run each test from tmp_path, where PROFILE's relative paths exist."""
    monkeypatch.chdir(with_profile_files(tmp_path))


def layered(tmp_path, mine: dict) -> dict:
    """The config of `--configfile profile.yaml mine.yaml` over config.yaml."""
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(PROFILE))
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    return load(tmp_path / "profile.yaml", tmp_path / "mine.yaml")


def epochs(config: dict) -> dict[str, int]:
    """The epochs every Fig. 4 dataset trains for, as its ClassifierSettings say."""
    wildcards = {"arch": "mlp", "aug": "0", "seed": "0"}
    return {
        name: ClassifierSettings.from_config(config, {**wildcards, "dataset": name}).epochs
        for name in config["fig4"]["datasets"]
    }


def test_an_empty_mapping_merges_into_the_earlier_one(tmp_path):
    """Snakemake merges mapping by mapping: `{}` in a later file keeps what the profile set."""
    config = layered(tmp_path, {"fig4": {"epochs_by_dataset": {}}})
    assert epochs(config) == {"digits": 7, "synthetic": 9}


def test_null_clears_epochs_by_dataset(tmp_path):
    config = layered(tmp_path, {"fig4": {"epochs_by_dataset": None}})
    assert config["fig4"]["epochs_by_dataset"] == {}
    assert epochs(config) == {"digits": 5, "synthetic": 5}


def test_null_entries_drop_one_override_and_others_replace(tmp_path):
    config = layered(tmp_path, {"fig4": {"epochs_by_dataset": {"digits": None, "cifar10": 20}}})
    assert config["fig4"]["epochs_by_dataset"] == {"synthetic": 9, "cifar10": 20}
    assert epochs(config) == {"digits": 5, "synthetic": 9}


def test_null_gives_a_dataset_its_default_options(tmp_path):
    config = layered(tmp_path, {"datasets": {"synthetic": None}})
    defaults = {k: v["default"] for k, v in SCHEMA_PROPS["datasets"]["properties"]["synthetic"]["properties"].items()}
    assert config["datasets"]["synthetic"] == defaults and defaults["n_train"] != 300


def test_null_elsewhere_means_the_default_unless_null_is_a_value(tmp_path):
    config = layered(tmp_path, {"fig4": {"epochs": None}, "fig1": {"dynamics_run": None}, "data_root": None})
    assert config["fig4"]["epochs"] == SCHEMA_PROPS["fig4"]["properties"]["epochs"]["default"] != 5
    assert config["fig1"]["dynamics_run"] == SCHEMA_PROPS["fig1"]["properties"]["dynamics_run"]["default"]
    assert config["data_root"] is None  # null is one of data_root's values: it replaces the profile's path


def test_null_drops_a_custom_dataset(tmp_path):
    config = layered(tmp_path, {"custom_datasets": {"mine": None, "yours": {"format": "folder", "root": "data"}}})
    assert config["custom_datasets"] == {  # skip_corrupt: the schema's default
        "theirs": PROFILE["custom_datasets"]["theirs"] | {"skip_corrupt": False},
        "yours": {"format": "folder", "root": "data", "skip_corrupt": False},
    }


def test_a_list_of_shares_serves_every_side():
    fig4 = {"sides": ["bottom", "top"], "shares": ["g1", "0.5"]}
    assert fig4_levels(fig4) == {"bottom": ["g1", "0.5"], "top": ["g1", "0.5"]}


def test_a_mapping_of_shares_names_its_sides(tmp_path):
    config = layered(tmp_path, {"fig4": {"shares": {"bottom": ["0.1", "0.2"]}}})
    assert config["fig4"]["sides"] == ["top", "bottom"]  # the default lists both: the mapping decides
    assert fig4_levels(config["fig4"]) == {"bottom": ["0.1", "0.2"]}


def test_a_side_left_out_of_sides_is_one_clear_sentence(tmp_path):
    with pytest.raises(LbrError, match=r"fig4.shares gives shares for \['top'\] but fig4.sides \['bottom'\]"):
        layered(tmp_path, {"fig4": {"sides": ["bottom"], "shares": {"top": ["g1"], "bottom": ["0.1"]}}})


def test_shares_for_an_unknown_side_are_refused_by_the_schema(tmp_path):
    with pytest.raises(LbrError, match=r"^fig4.shares.left is not a setting; the settings of fig4.shares are top, "):
        layered(tmp_path, {"fig4": {"shares": {"left": ["0.1"]}}})


# The same through real `snakemake -n`, over a profile that names its own config file ------------------------


@pytest.fixture
def repo(workflow_dir):
    with_profile_files(workflow_dir)
    (workflow_dir / "profile.yaml").write_text(yaml.safe_dump(PROFILE))
    (workflow_dir / "profiles/lab").mkdir()
    (workflow_dir / "profiles/lab/config.yaml").write_text("configfile: [profile.yaml]\n")
    return workflow_dir


def planned_epochs(repo, *args: str) -> dict[str, int]:
    """{training run: epochs} of a dry run of the Fig. 4 table, read from the jobs' messages (the runs are planned
    once the datasets' spectra exist: built here first, small)."""
    spectra = [f"results/spectrum/{d}.npz" for d in PROFILE["fig4"]["datasets"]]
    if not all((repo / s).exists() for s in spectra):
        built = snakemake(repo, "-c2", *spectra, "--profile", "profiles/lab")
        assert built.returncode == 0, built.stdout[-3000:]
    res = snakemake(repo, "-n", "results/tables/fig4.csv", *args)
    assert res.returncode == 0, res.stdout[-3000:]
    found = re.findall(r"Training mlp on (\w+) (\S+) for (\d+) epochs", res.stdout)
    return {f"{name} {sub}": int(n) for name, sub, n in found}


@pytest.mark.workflow
def test_a_user_file_clears_the_profiles_epochs_by_dataset(repo):
    (repo / "mine.yaml").write_text("fig4:\n  epochs_by_dataset: null\n")
    (repo / "empty.yaml").write_text("fig4:\n  epochs_by_dataset: {}\n")
    runs = ["digits top-0.5", "digits bottom-0.5", "synthetic top-0.5", "synthetic bottom-0.5"]
    profile = {run: 7 if run.startswith("digits") else 9 for run in runs}
    assert planned_epochs(repo, "--profile", "profiles/lab") == profile
    # --configfile on the command line replaces the profile's list (the paper grid again), so name both files
    assert "digits top-0.5" not in planned_epochs(repo, "--profile", "profiles/lab", "--configfile", "mine.yaml")
    assert planned_epochs(repo, "--profile", "profiles/lab", "--configfile", "profile.yaml", "empty.yaml") == profile
    cleared = planned_epochs(repo, "--profile", "profiles/lab", "--configfile", "profile.yaml", "mine.yaml")
    assert cleared == dict.fromkeys(runs, 5)


# Every user error as a user makes it: a config file through `snakemake -n` and through `lbr config` -----------

LEVEL_FIX = 'give a share of the variance in (0, 1] in quotes ("0.25"; "1" keeps everything) or a grid point g0..g8'
USER_ERRORS = [
    ("fig4: {epoch: 3}\n", "fig4.epoch is not a setting; did you mean fig4.epochs?"),
    (
        "custom_dataset:\n  pets: {format: folder, root: data/pets, size: 64}\n",
        "custom_dataset is not a setting; did you mean custom_datasets?",
    ),
    (
        "fig4:\n  shares: {top: ['1.5'], bottom: ['0.3']}\n",
        f'fig4.shares.top[0] is "1.5", which is not a subspace level; {LEVEL_FIX} (filter.grid_points is 8).',
    ),
    (
        "fig4: {shares: ['0.5', '0']}\n",
        f'fig4.shares[1] is "0", a share that keeps no direction; {LEVEL_FIX} (filter.grid_points is 8).',
    ),
    (
        "fig4: {shares: [g1, g9]}\n",
        'fig4.shares[1] is "g9", but the authors\' grid has only g0..g8 (filter.grid_points is 8); use one of those '
        "or raise filter.grid_points.",
    ),
    (
        "filter: {grid_points: 4}\nfig4:\n  shares: {bottom: [g5]}\n",
        'fig4.shares.bottom[0] is "g5", but the authors\' grid has only g0..g4 (filter.grid_points is 4);',
    ),
    (
        "fig4:\n  datasets: [svhn, cifar10]\n  by_dataset: {cifar10: {shares: [g1, g12]}}\n",
        'fig4.by_dataset.cifar10.shares[1] is "g12", but the authors\' grid has only g0..g8',
    ),
    (
        "fig4:\n  datasets: [svhn, cifar10]\n  by_dataset: {cifar10: {epoch: 3}}\n",
        "fig4.by_dataset.cifar10.epoch is not a setting; did you mean fig4.by_dataset.cifar10.epochs?",
    ),
    ("fig9: {top: '0'}\n", f'fig9.top is "0", a share that keeps no direction; {LEVEL_FIX}'),
    ("fig1: {bottom: '1.5'}\n", f'fig1.bottom is "1.5", which is not a subspace level; {LEVEL_FIX}'),
    ("fig4: {shares: [0.25]}\n", 'fig4.shares[0] is 0.25, a number; write the share in quotes ("0.25").'),
    (
        "custom_datasets:\n  pets: {format: folder, root: data/pet, size: 64}\n",
        "custom_datasets.pets.root data/pet does not exist (a relative path is read from the working directory, "
        "{cwd}); fix the path.",
    ),
    (
        "custom_datasets:\n  mine: {format: npz, train: data/train.npz, test: data/tset.npz}\n",
        "custom_datasets.mine.test data/tset.npz does not exist (a relative path is read from the working "
        "directory, {cwd}); fix the path.",
    ),
    ("data_root: /nonexistent/datasets\n", "data_root /nonexistent/datasets does not exist; fix the path."),
    (
        "datasets:\n  arabic_digits: {archive: downloads/ahdd1.zip}\n",
        "datasets.arabic_digits.archive downloads/ahdd1.zip does not exist (a relative path is read from the "
        "working directory, {cwd}); fix the path.",
    ),
    ("fig4: {datasets: [svhn, cifar11]}\n", "fig4.datasets names unknown dataset 'cifar11' (did you mean cifar10?);"),
    ("datasets:\n  cifar: {}\n", "datasets.cifar is not a built-in dataset (datasets sets options of imagenette,"),
]
NOT_ONE_SENTENCE = ("Traceback", "$schema", "On instance", "Failed validating", "{'description'")


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory):
    """A copy of the workflow with a user's data/: an npz pair and an image folder root."""
    from repo_copy import copy_workflow

    repo = copy_workflow(tmp_path_factory.mktemp("user") / "repo")
    for split in ("train", "test"):
        (repo / "data/pets" / split / "cat").mkdir(parents=True)
    (repo / "data/train.npz").write_bytes(b"")
    return repo


def lbr_cli(repo: Path, *args: str):
    """`lbr ARGS` as a user types it in the repository, output in .stdout and .stderr."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(repo / "workflow")}
    return subprocess.run(
        [sys.executable, "-m", "lbr.cli", *args], cwd=repo, env=env, text=True, capture_output=True, timeout=120
    )


def assert_one_sentence(output: str, message: str, max_lines: int) -> None:
    """`message` is in `output`, which is a few lines with no traceback and no schema."""
    assert message in output, output
    assert len(output.strip().splitlines()) <= max_lines, output
    assert not any(bad in output for bad in NOT_ONE_SENTENCE), output


def assert_nothing_written(repo: Path) -> None:
    assert not any((repo / d).exists() for d in ("results", "resources", "figures", "logs"))


@pytest.mark.workflow
@pytest.mark.parametrize(("text", "message"), USER_ERRORS, ids=[m.split(" ")[0] for _, m in USER_ERRORS])
def test_user_error_is_one_sentence_in_snakemake_and_lbr_config(user_repo, text, message):
    message = message.replace("{cwd}", str(user_repo))
    (user_repo / "mine.yaml").write_text(text)
    planned = snakemake(user_repo, "-n", "--configfile", "mine.yaml")
    assert planned.returncode != 0
    # Snakemake's 4 lines: config.yaml is extended, WorkflowError in Snakefile, the sentence, its line
    assert_one_sentence(planned.stdout, f"Invalid configuration: {message}", max_lines=4)
    shown = lbr_cli(user_repo, "config", "--configfile", "mine.yaml")
    assert shown.returncode == 1 and shown.stdout == ""
    assert shown.stderr.startswith(f"lbr: error: {message}")
    assert_one_sentence(shown.stderr, message, max_lines=1)
    assert_nothing_written(user_repo)


@pytest.mark.workflow
def test_lbr_config_names_a_missing_or_broken_config_file(user_repo):
    missing = lbr_cli(user_repo, "config", "--configfile", "mien.yaml")
    assert missing.stderr == (
        f"lbr: error: the config file mien.yaml does not exist (a relative path is read from the working directory, "
        f"{user_repo}).\n"
    )
    (user_repo / "broken.yaml").write_text("fig4: {epochs: 3\n")
    broken = lbr_cli(user_repo, "config", "--configfile", "broken.yaml")
    assert broken.returncode == 1
    assert_one_sentence(broken.stderr, "lbr: error: the config file broken.yaml is not valid YAML at line 2", 1)


FIG1 = (
    'fig1.dataset_top is "tinyimagenet" but fig4.datasets ["svhn"] does not include it, and Fig. 1 (top) plots '
    "rows of the Fig. 4 table; add it to fig4.datasets, change fig1.dataset_top, or drop fig1 from figures."
)


@pytest.mark.workflow
def test_fig1_outside_the_fig4_grid_stops_a_plan_that_draws_fig1(user_repo):
    """Only a plan that draws Fig. 1 is refused: the Fig. 4 table alone is a fine target for the same file."""
    (user_repo / "svhn.yaml").write_text("fig4: {datasets: [svhn]}\n")
    planned = snakemake(user_repo, "-n", "--configfile", "svhn.yaml")
    assert planned.returncode != 0 and FIG1 in planned.stdout
    assert "Traceback (most recent call last)" not in planned.stdout and "$schema" not in planned.stdout
    assert snakemake(user_repo, "-n", "results/tables/fig4.csv", "--configfile", "svhn.yaml").returncode == 0
    shown = lbr_cli(user_repo, "config", "--configfile", "svhn.yaml")
    assert shown.returncode == 0 and f"lbr: warning: {FIG1}" in shown.stderr
    assert_nothing_written(user_repo)


# A dataset with no download URL and no local copy: flagged while the plan is built ------------------------------

ARABIC = "datasets.arabic_digits.archive to its path, or place it in data_root as arabic_digits.zip"


@pytest.mark.workflow
def test_a_dataset_without_url_or_archive_is_flagged_by_the_plan(user_repo):
    target = "results/data/arabic_digits/train.npz"
    dry = snakemake(user_repo, "-n", target)
    assert dry.returncode == 0, dry.stdout[-3000:]
    assert dry.stdout.count(ARABIC) == 1  # a warning, once, and the whole plan
    assert "download" in dry.stdout and "prepare" in dry.stdout
    real = snakemake(user_repo, "-c1", target)
    assert real.returncode != 0 and ARABIC in real.stdout
    assert "Finding or downloading" not in real.stdout  # stopped while planning: no job ran
    assert_nothing_written(user_repo)
    (user_repo / "datasets").mkdir()
    (user_repo / "datasets/arabic_digits.zip").write_bytes(b"")  # a copy in data_root: nothing to flag
    found = snakemake(user_repo, "-n", target, "--config", "data_root=datasets")
    assert found.returncode == 0 and ARABIC not in found.stdout


@pytest.mark.workflow
def test_lbr_config_flags_the_datasets_without_source_that_the_figures_need(user_repo):
    paper = lbr_cli(user_repo, "config")
    assert paper.returncode == 0 and paper.stdout.startswith("figures:")
    warned = [line for line in paper.stderr.splitlines() if line.startswith("lbr: warning: ")]
    assert len(warned) == 2 and ARABIC in warned[1] and "(fig4.datasets, fig2.datasets name it)." in warned[1]
    (user_repo / "fig9.yaml").write_text("figures: [fig9]\nnoise_check: {datasets: [svhn]}\n")
    assert lbr_cli(user_repo, "config", "--configfile", "fig9.yaml").stderr == ""


# `lbr check` on files that are not the scorecard --------------------------------------------------------------


@pytest.mark.workflow
def test_lbr_check_refuses_a_file_that_is_not_the_scorecard_in_one_sentence(user_repo):
    (user_repo / "other.csv").write_text("a,b\n1,2\n")
    (user_repo / "binary.csv").write_bytes(bytes(range(256)) * 4)
    for args, message in [
        (["--table", "other.csv"], "other.csv is not a scorecard of this version (it lacks the columns id, kind,"),
        (["--table", "binary.csv"], "binary.csv is not a readable CSV table"),
        (["--table", "data"], "data is a folder, not the scorecard CSV"),
        (["--table", "nothing.csv"], "nothing.csv does not exist; build it with"),
        (["--build", "--tables", "nowhere"], "--tables nowhere is not a folder"),
    ]:
        res = lbr_cli(user_repo, "check", *args)
        assert res.returncode == 1 and res.stdout == ""
        assert_one_sentence(res.stderr, f"lbr: error: {message}", max_lines=1)
