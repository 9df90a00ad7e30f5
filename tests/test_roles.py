"""Dataset roles (`roles: {natural: ...}`) stand for a dataset wherever one is named, and `fig4.by_dataset` gives
one dataset its own Fig. 4 grid and recipe: the laptop profile is written with both."""

from __future__ import annotations

import re

import pytest
import yaml

from lbr.config.load import load
from lbr.config.sections import fig4_for
from lbr.config.settings import ClassifierSettings
from lbr.errors import LbrError

from repo_copy import copy_workflow, snakemake

ROLES = {
    "roles": {"natural": "synthetic", "plain": "digits"},
    "fig2": {"datasets": ["natural", "plain", "synthetic"]},
    "fig3": {"dataset": "natural"},
    "fig9": {"dataset": "natural"},
    "fig1": {
        "dataset_top": "natural",
        "dataset_images": "natural",
        "dynamics_run": {"dataset": "natural", "arch": "dcae", "depth": 3},
    },
    "guidance": {"dataset": "natural"},
    "fig4": {"datasets": ["natural", "plain"], "epochs_by_dataset": {"natural": 3}},
    "fig10": {"datasets": ["natural"]},
}


def test_roles_become_the_datasets_they_name():
    config = load(overrides=ROLES)
    assert config["fig2"]["datasets"] == ["synthetic", "digits"]  # the repeated dataset is kept once
    assert config["fig3"]["dataset"] == config["fig9"]["dataset"] == config["guidance"]["dataset"] == "synthetic"
    assert config["fig1"]["dynamics_run"]["dataset"] == config["fig1"]["dataset_top"] == "synthetic"
    assert config["fig4"]["datasets"] == ["synthetic", "digits"]
    assert config["fig4"]["epochs_by_dataset"] == {"synthetic": 3}
    assert config["fig10"]["datasets"] == ["synthetic"]


@pytest.mark.parametrize(
    "roles, message",
    [({"natural": "cifar11"}, "roles.natural names unknown dataset 'cifar11'"), ({"digits": "mnist"}, "reuse dataset")],
)
def test_a_bad_role_gets_one_sentence(roles, message):
    with pytest.raises(LbrError, match=message):
        load(overrides={"roles": roles})


BY_DATASET = {
    "fig4": {
        "datasets": ["synthetic", "digits"],
        "archs": ["mlp"],
        "shares": ["g1", "g2", "g3"],
        "aug": [0],
        "by_dataset": {
            "synthetic": {
                "archs": ["resnet9"],
                "shares": {"top": ["0.9"], "bottom": ["0.2"]},
                "aug": [1],
                "width": 0.125,
                "epochs": 4,
            }
        },  # fmt: skip
    }
}


def test_a_dataset_gets_its_own_grid_and_recipe():
    config = load(overrides=BY_DATASET)
    own, rest = fig4_for(config, "synthetic"), fig4_for(config, "digits")
    assert (own["archs"], own["aug"], own["width"], own["epochs"]) == (["resnet9"], [1], 0.125, 4)
    assert (rest["archs"], rest["aug"], rest["width"], rest["epochs"]) == (["mlp"], [0], 1.0, 50)
    wc = {"dataset": "synthetic", "arch": "resnet9", "aug": "1", "seed": "0"}
    settings = ClassifierSettings.from_config(config, wc)
    assert (settings.width, settings.epochs) == (0.125, 4)
    assert ClassifierSettings.from_config(config, wc | {"dataset": "digits", "arch": "mlp"}).width == 1.0


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"cifar10": {"epochs": 3}}, r"fig4.by_dataset.cifar10 is not one of fig4.datasets"),
        ({"digits": {"epochs": 0}}, r"^fig4.by_dataset.digits.epochs is 0, but must be at least 1.$"),
        ({"digits": {"datasets": ["digits"]}}, r"apply to the whole figure"),
    ],
)
def test_a_bad_override_gets_one_sentence(entry, message):
    with pytest.raises(LbrError, match=message):
        load(overrides={"fig4": {"datasets": ["synthetic", "digits"], "by_dataset": entry}})


@pytest.mark.workflow
def test_the_plan_has_exactly_each_datasets_runs(tmp_path):
    repo = copy_workflow(tmp_path / "repo")
    own = BY_DATASET["fig4"]["by_dataset"]["synthetic"]
    fig4 = BY_DATASET["fig4"] | {"datasets": ["natural", "digits"], "by_dataset": {"natural": own}}
    small = {"synthetic": {"n_train": 300, "n_test": 50, "height": 8, "width": 8}}
    (repo / "mine.yaml").write_text(
        yaml.safe_dump({"figures": ["fig4"], "roles": {"natural": "synthetic"}, "fig4": fig4, "datasets": small})
    )
    spectra = ["results/spectrum/synthetic.npz", "results/spectrum/digits.npz"]
    assert snakemake(repo, "-c2", *spectra, "--configfile", "mine.yaml").returncode == 0  # the levels resolve on them
    result = snakemake(repo, "-n", "figures/fig4.pdf", "--configfile", "mine.yaml")
    assert result.returncode == 0, result.stdout[-3000:]
    runs = set(re.findall(r"results/train/\S+/metrics\.json", result.stdout))
    expected = {f"results/train/synthetic/resnet9/{s}/aug1/seed{i}/metrics.json" for s in ("top-0.9", "bottom-0.2")
                for i in range(3)}  # fmt: skip
    expected |= {f"results/train/digits/mlp/{s}-{g}/aug0/seed{i}/metrics.json" for s in ("top", "bottom")
                 for g in ("g1", "g2", "g3") for i in range(3)}  # fmt: skip
    assert runs == expected
