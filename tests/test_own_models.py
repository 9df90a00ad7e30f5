"""Models of the user's own (config `models`): the sentences of a bad entry at config time, the one-batch check when
the job starts, the settings that carry the entry, the pricing note of `lbr plan`, one role under the GPU policy,
and docs/own_models.md's example trained through the workflow in every role (Fig. 4 classifier, Fig. 3 autoencoder,
guidance autoencoder) in one Snakemake run, with a model of the wrong output shape failing in the same run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import user_models
import yaml
from test_reruns import job_counts, reasons
from torch import nn

from lbr.config import declared_models
from lbr.config.load import load
from lbr.config.settings import ClassifierSettings, DynamicsSettings, GuidanceSettings
from lbr.cost.jobs import job_cost
from lbr.cost.plan import Job, Plan, report
from lbr.cost.throughput import ESTIMATES
from lbr.data.builtin import synthetic
from lbr.errors import LbrError
from lbr.models import declared
from lbr.models.autoencoders import DCAE
from lbr.training.dynamics import run as run_dynamics
from lbr.training.policy import GPU_POLICY

from repo_copy import ROOT, copy_workflow

TESTS = Path(__file__).resolve().parent
DOC = ROOT / "docs" / "own_models.md"


def doc_blocks(kind: str) -> list[str]:
    """The ```kind code blocks of docs/own_models.md."""
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def config_with(models: dict, **sections) -> dict:
    return load(overrides={"models": models, **sections})


# ---- config time: one sentence naming the key, nothing imported or executed ------------------------------------


def test_a_declared_name_is_accepted_where_an_arch_is_and_its_entry_is_in_the_jobs_recipe():
    models = {"mine": {"factory": "user_models:wrong_shape", "kwargs": {"b": 1, "a": {"y": 2, "x": 1}}}}
    config = config_with(models, fig4={"archs": ["mlp", "mine"]}, guidance={"arch": "mine"})
    wc = {"dataset": "cifar10", "aug": "1", "seed": "0"}
    mine = ClassifierSettings.from_config(config, wc | {"arch": "mine"})
    assert mine.recipe()["model"] == {"factory": "user_models:wrong_shape", "kwargs": {"a": {"x": 1, "y": 2}, "b": 1}}
    assert list(mine.model["kwargs"]) == ["a", "b"]  # sorted: reordering a file changes no params
    assert ClassifierSettings.from_config(config, wc | {"arch": "mlp"}).model is None
    assert DynamicsSettings.from_config(config, {"arch": "dcae", "depth": "3"}).model is None
    assert GuidanceSettings.from_config(config, {"latent": "8", "guidance": "0", "seed": "0"}).model == mine.model
    assert declared_models.wildcard_pattern(config, "classifier") == "resnet9|mlp|mine"
    assert declared_models.BUILTIN["classifier"] == ("resnet9", "mlp")
    assert declared_models.BUILTIN["autoencoder"] == ("dcae", "mlpae")


@pytest.mark.parametrize(
    "factory, message",
    [
        ("user_models.wrong_shape", r"models\.m\.factory must be 'module\.sub:function' .*not 'user_models\.wrong_"),
        ("user models:f", r"models\.m\.factory must be 'module\.sub:function'"),
        ("no_such_module_xyz:build", r"models\.m\.factory names module 'no_such_module_xyz', which is not on the Py"),
        ("user_models.sub:build", r"models\.m\.factory names module 'user_models\.sub', which is not on the Python"),
        ("user_models:wrong_shap", r"models\.m\.factory names 'wrong_shap', which .*user_models\.py does not define "
         r"\(did you mean 'wrong_shape'\?\)"),
    ],
)  # fmt: skip
def test_a_malformed_factory_gets_one_sentence_at_config_time(factory, message):
    with pytest.raises(LbrError, match=message):
        config_with({"m": {"factory": factory}})


@pytest.mark.parametrize(
    "sections, message",
    [
        ({"fig4": {"archs": ["resnet9", "mnie"]}},
         r"^fig4\.archs names unknown model 'mnie'; did you mean 'mine'\? declare it under models: \{mnie: "
         r"\{factory: 'module:function'\}\} \(a classifier of yours, docs/own_models\.md\), or use one of the paper's "
         r"\(resnet9, mlp\)\.$"),
        ({"fig4": {"datasets": ["svhn", "cifar10"], "by_dataset": {"cifar10": {"archs": ["mine", "mlpp"]}}}},
         r"^fig4\.by_dataset\.cifar10\.archs names unknown model 'mlpp'; did you mean 'mlp'\?"),
        ({"fig3": {"runs": [{"arch": "dcae", "depth": 3}, {"arch": "unet", "depth": 2}]}},
         r"^fig3\.runs\[1\]\.arch names unknown model 'unet'; declare it under models"),
        ({"fig1": {"dynamics_run": {"dataset": "cifar10", "arch": "mlp", "depth": 3}}},
         r"^fig1\.dynamics_run\.arch names unknown model 'mlp'.*\(dcae, mlpae\)"),
        ({"guidance": {"arch": "resnet"}}, r"^guidance\.arch names unknown model 'resnet'.*\(resnet_ae\)"),
        ({"guidance": {"arch": "mine"}, "models": {"mine": {"factory": "user_models:wrong_shape",
                                                            "kwargs": {"latent": 3}}}},
         r"^models\.mine\.kwargs sets latent, which the workflow passes itself when guidance\.arch uses it"),
        ({"models": {"dcae": {"factory": "user_models:wrong_shape"}}},
         r"^models\.dcae reuses the name of the paper's autoencoder 'dcae'"),
        ({"models": {"my-net": {"factory": "user_models:wrong_shape"}}}, r"^models\.my-net: a model name must start"),
    ],
)  # fmt: skip
def test_a_name_that_is_not_declared_gets_one_sentence(sections, message):
    models = sections.pop("models", {"mine": {"factory": "user_models:wrong_shape"}})
    with pytest.raises(LbrError, match=message):
        config_with(models, **sections)


def test_modules_are_found_in_the_working_directory_without_executing_them(tmp_path, monkeypatch):
    """A package whose __init__ raises: finding pkg.nets and reading its names must not run it; the working
    directory is searched after the Python path, as the jobs do."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("raise RuntimeError('executed at plan time')\n")
    (tmp_path / "pkg" / "nets.py").write_text(
        "import torch\nif True:\n    def build(in_shape, n_classes):\n        return torch.nn.Linear(1, 1)\n"
        "else:\n    other = 1\nclass Net:\n    pass\n"
    )
    (tmp_path / "star.py").write_text("from os.path import *\n")
    monkeypatch.chdir(tmp_path)
    assert declared_models.module_bindings(str(tmp_path / "pkg" / "nets.py")) >= {"torch", "build", "other", "Net"}
    config_with({"a": {"factory": "pkg.nets:build"}, "b": {"factory": "pkg.nets:Net"}, "c": {"factory": "star:x"}})
    with pytest.raises(LbrError, match=r"models\.a\.factory names 'biuld', which .*nets\.py does not define \(did you"):
        config_with({"a": {"factory": "pkg.nets:biuld"}})
    with pytest.raises(LbrError, match=r"models\.a\.factory names module 'pkg\.nts'"):
        config_with({"a": {"factory": "pkg.nts:build"}})
    assert "pkg" not in sys.modules
    monkeypatch.chdir(TESTS.parent)
    with pytest.raises(LbrError, match=r"names module 'pkg\.nets', which is not on the Python path nor in the wor"):
        config_with({"a": {"factory": "pkg.nets:build"}})


# ---- job time: the import and the one-batch check ------------------------------------------------------------------

X = torch.rand(4, 1, 8, 8)


@pytest.mark.parametrize(
    "factory, message",
    [
        ("user_models:wrong_shape", r"^models\.m: a classifier \(images N x 1 x 8 x 8 -> logits\) must give a float "
         r"tensor of shape \(2, 10\); it gave shape \(2, 11\)\.$"),
        ("user_models:not_a_model", r"^models\.m: user_models:not_a_model\(in_shape=\(1, 8, 8\), n_classes=10\) "
         r"returned a list, not a torch\.nn\.Module\.$"),
        ("user_models:broken", r"^models\.m: user_models:broken\(.*\) failed at .*user_models\.py:\d+ \(ValueError: "
         r"width must be even\)\.$"),
        ("user_models:NOT_CALLABLE", r"^models\.m\.factory names 'user_models:NOT_CALLABLE', a int, not a function"),
        ("user_models:absent", r"^models\.m\.factory names 'absent', which module 'user_models' \(.*\) does not def"),
        ("no_such_module_xyz:f", r"^models\.m\.factory names module 'no_such_module_xyz', which is not on the"),
    ],
)  # fmt: skip
def test_a_classifier_is_checked_on_one_batch(factory, message):
    with pytest.raises(LbrError, match=message):
        declared.classifier("m", {"factory": factory, "kwargs": {}}, (1, 8, 8), 10, X)


def test_an_error_inside_the_users_module_names_its_line(tmp_path, monkeypatch):
    (tmp_path / "needs_dep.py").write_text("import math\nimport no_such_dependency_xyz\n")
    (tmp_path / "typo_mod.py").write_text("def build(in_shape, n_classes)\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(LbrError, match=r"^importing 'needs_dep' for models\.m\.factory failed at .*needs_dep\.py:2 "
                       r"\(ModuleNotFoundError: No module named 'no_such_dependency_xyz'\)\.$"):  # fmt: skip
        declared.classifier("m", {"factory": "needs_dep:build", "kwargs": {}}, (1, 8, 8), 10, X)
    with pytest.raises(LbrError, match=r"^importing 'typo_mod' for models\.m\.factory failed at .*typo_mod\.py:1 "
                       r"\(SyntaxError: "):  # fmt: skip
        declared.classifier("m", {"factory": "typo_mod:build", "kwargs": {}}, (1, 8, 8), 10, X)


def test_the_check_changes_no_state_and_passes_the_entrys_kwargs(monkeypatch):
    bn = {"factory": "torch.nn:BatchNorm2d", "kwargs": {}}
    with pytest.raises(LbrError, match=r"got an unexpected keyword argument 'in_shape'"):
        declared.classifier("bn", bn, (1, 8, 8), 10, X)

    def classifier(in_shape, n_classes, width):
        return nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.BatchNorm1d(width), nn.Linear(width, n_classes))

    monkeypatch.setattr(user_models, "bn_classifier", classifier, raising=False)
    net = declared.classifier("c", {"factory": "user_models:bn_classifier", "kwargs": {"width": 5}}, (1, 8, 8), 3, X)
    assert net.training and net[2].num_batches_tracked == 0 and torch.equal(net[2].running_mean, torch.zeros(5))
    assert net[1].out_features == 5


def test_autoencoders_need_encode_and_decode_and_get_forward_and_depth():
    tiny = {"factory": "user_models:TinyAutoencoder", "kwargs": {"hidden": 16}}
    ae = declared.autoencoder("t", tiny, (1, 8, 8), 4, X, depth=3)
    assert isinstance(ae, declared.Autoencoder) and ae.inner.depth == 3  # no forward of its own: wrapped
    torch.testing.assert_close(ae(X), ae.decode(ae.encode(X)))
    dcae = {"factory": "lbr.models.autoencoders:DCAE", "kwargs": {}}
    with pytest.raises(LbrError, match=r"DCAE\(in_shape=\(1, 8, 8\), latent=4, depth=1\) failed at .*autoencoders"):
        declared.autoencoder("d", dcae, (1, 8, 8), 4, X, depth=1)  # depth is passed: DCAE has that parameter
    assert isinstance(declared.autoencoder("d", dcae, (1, 8, 8), 4, X, depth=2), DCAE)  # has forward: not wrapped
    spatial = {"factory": "user_models:spatial_code", "kwargs": {}}
    assert declared.autoencoder("s", spatial, (1, 8, 8), 4, X, depth=5)(X).shape == X.shape  # depth: a label
    with pytest.raises(LbrError, match=r"^models\.s: encode \(images N x 1 x 8 x 8 -> codes for the probes\) must "
                       r"give a float tensor of shape \(2, 4\); it gave shape \(2, 4, 1, 1\)\.$"):  # fmt: skip
        declared.autoencoder("s", spatial, (1, 8, 8), 4, X, code_shape=(4,))
    with pytest.raises(LbrError, match=r"^models\.e: an autoencoder needs methods encode\(x\) -> code and decode\(code"
                       r"\) -> reconstruction; EncoderOnly has no decode\.$"):  # fmt: skip
        declared.autoencoder("e", {"factory": "user_models:EncoderOnly", "kwargs": {}}, (1, 8, 8), 4, X)
    half = {"factory": "user_models:HalfSize", "kwargs": {}}
    with pytest.raises(LbrError, match=r"^models\.h: decode \(codes -> images N x 1 x 8 x 8\) must give a float tensor"
                       r" of shape \(2, 1, 8, 8\); it gave shape \(2, 1, 4, 4\)\.$"):  # fmt: skip
        declared.autoencoder("h", half, (1, 8, 8), 4, X)
    with pytest.raises(LbrError, match=r"^models\.w: encode\(x\) failed on a batch of 2 at .*tests/user_models\.py:\d+ "
                       r"\(RuntimeError: mat1 and mat2 shapes cannot be multiplied"):  # fmt: skip
        declared.autoencoder("w", tiny, (1, 4, 4), 4, X)  # built for 4 x 4 images, given 8 x 8: the user's line


def test_every_paper_autoencoder_has_the_same_interface():
    from lbr.models import MLPAE, GuidedAutoencoder

    for model in (DCAE((1, 8, 8), 4, 2), MLPAE((1, 8, 8), 4, 2)):
        torch.testing.assert_close(model.decode(model.encode(X)), model(X))
    guided = GuidedAutoencoder(4, 3, 32, 4, 1, 0.0, (1, 1, 1, 1), (1, 1, 1, 1)).eval()
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(guided.decode(guided.encode(x)), guided(x)[0])


def test_plan_prices_a_user_model_as_the_paper_model_of_its_role_and_says_so():
    models = {"mine": {"factory": "user_models:wrong_shape"}}
    config = config_with(models, fig4={"archs": ["resnet9", "mine"]}, guidance={"arch": "mine"})
    wc = {"dataset": "cifar10", "side": "top", "level": "g1", "aug": "1", "seed": "0"}
    ours, theirs = (job_cost("train_classifier", config, wc | {"arch": a}, ESTIMATES) for a in ("resnet9", "mine"))
    assert ours == theirs
    jobs = [Job("train_classifier", wc | {"arch": a}, True, ours, []) for a in ("resnet9", "mine")]
    jobs.append(Job("train_guidance", {"latent": "8", "guidance": "0", "seed": "0"}, True, ours, []))
    text = report(Plan(["all"], [], ESTIMATES, config, jobs))
    assert "train_classifier: your model mine is priced as ResNet9 of the same settings" in text
    assert "train_guidance: your model mine is priced as the ResNet autoencoder" in text
    assert "train_dynamics: your model" not in text


@pytest.mark.slow
def test_a_user_autoencoder_trains_under_the_gpu_policy(tmp_path, tmp_path_factory, monkeypatch):
    """Fig. 3's role under float16 storage, bf16 autocast, channels_last and torch.compile on a CPU, against eager
    float32: the policy reaches the user's model through the trainer, and both learn alike."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "inductor"))
    d = synthetic(n_train=256, n_test=64, height=8, width=8, seed=2)
    (x_train, _), (x_test, _) = d["train"], d["test"]
    models = {"tiny": {"factory": "user_models:TinyAutoencoder", "kwargs": {"hidden": 32}}}
    dynamics = dict(latent=8, epochs=6, batch_size=16, lr=1e-2, measure_batch=64, device="cpu", storage="auto")
    results = {}
    for name, policy in (("eager", {}), ("gpu", GPU_POLICY)):
        config = load(overrides={"models": models, "dynamics": dynamics | policy}, checked=False)
        settings = DynamicsSettings.from_config(config, {"arch": "tiny", "depth": "1"})
        out = tmp_path / name
        results[name] = run_dynamics(
            x_train, x_test, settings, torch.device("cpu"), out / "energies.npz", out / "history.csv"
        )
    policy = json.loads(str(results["gpu"]["policy"]))
    assert (policy["storage"], policy["autocast"], policy["channels_last"], policy["compile"]) == (
        "float16",
        "bf16",
        True,
        True,
    )
    learned = {k: r["error"][-1].sum() / r["error"][0].sum() for k, r in results.items()}  # untrained: 1
    assert learned["eager"] < 0.7 and abs(learned["gpu"] - learned["eager"]) <= 0.15 * learned["eager"], learned


# ---- the workflow: docs/own_models.md's example in every role, one Snakemake run ---------------------------------

TINY = {
    "keep_filtered": True,
    "datasets": {"synthetic": {"n_train": 300, "n_test": 100, "height": 8, "width": 8, "evidence": 0.3}},
    "spectrum": {"device": "cpu"},
    "filter": {"device": "cpu"},
    "models": {"bad": {"factory": "user_models:wrong_shape"}},
    "fig4": {"datasets": ["synthetic"], "sides": ["bottom"], "shares": ["g4"], "aug": [0], "seeds": [0], "epochs": 2,
             "batch_size": 50, "lr": 0.003, "device": "cpu", "eval_every": 1, "threads": 1},
    "dynamics": {"latent": 8, "epochs": 2, "batch_size": 32, "lr": 0.003, "measure_images": 100, "device": "cpu"},
    "fig3": {"dataset": "synthetic", "epochs": [0, 1], "bands": 4},
    "fig1": {"dynamics_run": {"dataset": "synthetic", "arch": "my_ae", "depth": 2}},
    "guidance": {"dataset": "synthetic", "source_size": 32, "source_options": {"n_train": 48, "n_test": 16},
                 "image_size": 32, "latents": [8], "weights": [0.0], "epochs": 1, "batch_size": 16, "eval_every": 1,
                 "n_reconstructions": 2, "device": "cpu"},
    "fig5": {"image_latent": 8},
}  # fmt: skip
RUN = "results/train/synthetic/{}/bottom-g4/aug0/seed0"
DONE = [
    f"{RUN.format('my_cls')}/metrics.json",
    f"{RUN.format('mlp')}/metrics.json",
    "results/dynamics/synthetic/my_ae-depth2/energies.npz",
    "results/guidance/synthetic/L8/g0/seed0/metrics.json",
]
FAILS = f"{RUN.format('bad')}/metrics.json"
CONFIGS = ("--configfile", "config.yaml", "mine.yaml", "tiny.yaml")


def snakemake(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake in `repo`; the jobs find mynets.py in the working directory and user_models.py on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": f"{repo / 'workflow'}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=repo, env=env, text=True, timeout=600,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The doc's mynets.py and mine.yaml over tiny sizes; the three roles and a wrong model, one run (-k)."""
    repo = copy_workflow(tmp_path_factory.mktemp("own_models") / "repo")
    (python,), (config, *_) = doc_blocks("python"), doc_blocks("yaml")
    (repo / "mynets.py").write_text(python)
    (repo / "mine.yaml").write_text(config)
    (repo / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    result = snakemake(repo, *DONE, FAILS, "-c", "2", "-k", *CONFIGS)
    return repo, result


@pytest.mark.workflow
@pytest.mark.slow
def test_the_docs_example_trains_in_every_role_through_the_workflow(built):
    repo, result = built
    assert all((repo / f).exists() for f in DONE), result.stdout[-4000:]
    assert len(doc_blocks("python")[0].strip().splitlines()) <= 30
    metrics = json.loads((repo / DONE[0]).read_text())
    assert metrics["arch"] == "my_cls" and 0 <= metrics["test_acc"] <= 1
    with np.load(repo / DONE[2]) as z:
        assert str(z["arch"]) == "my_ae" and int(z["depth"]) == 2 and z["energy"].shape == (3, 192)
        assert z["error"][-1].sum() < z["error"][0].sum()  # it learned something in 2 epochs
    guided = json.loads((repo / DONE[3]).read_text())
    assert guided["arch"] == "my_ae" and np.isfinite(guided["valid_recon"]) and "valid_acc_mlp" in guided
    logs = {
        "my_cls": repo / "logs/train/synthetic/my_cls/bottom-g4/aug0/seed0.log",
        "my_ae": repo / "logs/dynamics/synthetic/my_ae-depth2.log",
    }
    for name, log in logs.items():
        assert re.search(rf"models\.{name}: mynets:\w+ imported, built and checked on one batch in", log.read_text())
    sizes = [192, 128, 8]  # the doc's Autoencoder at depth 2 (its factory takes depth) and width 128
    n_params = sum(a * b + b for s in (sizes, sizes[::-1]) for a, b in zip(s, s[1:]))
    assert f"my_ae depth 2 latent 8: {n_params} parameters" in logs["my_ae"].read_text()


@pytest.mark.workflow
@pytest.mark.slow
def test_a_model_of_the_wrong_shape_stops_its_job_with_one_sentence(built):
    repo, result = built
    assert result.returncode != 0 and not (repo / FAILS).exists()
    log = (repo / "logs/train/synthetic/bad/bottom-g4/aug0/seed0.log").read_text()
    sentence = (
        "models.bad: a classifier (images N x 3 x 8 x 8 -> logits) must give a float tensor of shape (2, 10); it "
        "gave shape (2, 11)."
    )
    assert sentence in log and sentence in result.stdout and "Traceback" not in log
    assert not list((repo / RUN.format("bad")).glob("*"))


@pytest.mark.workflow
@pytest.mark.slow
def test_a_malformed_factory_stops_the_plan_with_one_sentence(built, tmp_path):
    repo, _ = built
    (repo / "typo.yaml").write_text("models: {my_cls: {factory: 'mynets.classifier'}}\n")
    result = snakemake(repo, "-n", DONE[0], *CONFIGS, "typo.yaml")
    assert result.returncode != 0
    assert (
        "Invalid configuration: models.my_cls.factory must be 'module.sub:function' (a module's import path, a colon, "
        "a function or class in it), not 'mynets.classifier'." in result.stdout
    )
    assert "Traceback" not in result.stdout


def plan(repo: Path, extra: dict) -> tuple[dict[str, int], dict[str, set[str]], str]:
    (repo / "extra.yaml").write_text(yaml.safe_dump(extra))
    result = snakemake(repo, "-n", *DONE, *CONFIGS, "extra.yaml")
    assert result.returncode == 0, result.stdout[-4000:]
    return job_counts(result.stdout), reasons(result.stdout), result.stdout


@pytest.mark.workflow
@pytest.mark.slow
def test_a_kwargs_change_reruns_exactly_the_runs_of_that_model(built):
    repo, _ = built
    assert plan(repo, {})[0] == {}
    planned, why, out = plan(repo, {"models": {"my_cls": {"kwargs": {"width": 64}}}})
    assert planned == {"train_classifier": 1} and why["params have changed since last execution"] == {
        "train_classifier"
    }
    assert "Training my_cls on synthetic" in out and "Training mlp on" not in out  # the rule's message
    planned, why, _ = plan(repo, {"models": {"my_ae": {"kwargs": {"width": 64}}}})  # Fig. 3 and guidance use it
    assert planned == {"train_dynamics": 1, "train_guidance": 1}
    assert why["params have changed since last execution"] == {"train_dynamics", "train_guidance"}
    planned, _, _ = plan(repo, {"models": {"my_ae": {"factory": "user_models:TinyAutoencoder"}}})
    assert planned == {"train_dynamics": 1, "train_guidance": 1}
