"""Configuration as a user layers it: files merged as Snakemake merges them, null to take back what an earlier
file set, per-side Fig. 4 grids. Checked through `lbr.config.load` and through real `snakemake -n` plans."""

from __future__ import annotations

import re

import pytest
import yaml
from snakemake.exceptions import WorkflowError

from lbr.config import SCHEMA, fig4_levels, load
from lbr.errors import LbrError
from lbr.settings import ClassifierSettings

from repo_copy import snakemake

# What a lab's profile (or a future config.yaml) might set before the user's own file.
PROFILE = {
    "data_root": "/datasets",
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
    with pytest.raises(WorkflowError, match=r"\{'left': \['0.1'\]\} is not valid"):
        layered(tmp_path, {"fig4": {"shares": {"left": ["0.1"]}}})


# The same through real `snakemake -n`, over a profile that names its own config file ------------------------


@pytest.fixture
def repo(workflow_dir):
    (workflow_dir / "profile.yaml").write_text(yaml.safe_dump(PROFILE))
    (workflow_dir / "profiles/lab").mkdir()
    (workflow_dir / "profiles/lab/config.yaml").write_text("configfile: [profile.yaml]\n")
    return workflow_dir


def planned_epochs(repo, *args: str) -> dict[str, int]:
    """{training run: epochs} of a dry run of the Fig. 4 table, read from the jobs' messages."""
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
