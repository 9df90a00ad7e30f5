"""Guidance runs: resume after a kill, outputs, tables, accuracy metrics, config checks."""

import copy
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml
from sklearn.metrics import balanced_accuracy_score

from lbr.config import checks as lbr_config
from lbr.config.settings import GuidanceSettings
from lbr.data import builtin, dataset_spec, resized_options, save_split
from lbr.errors import LbrError
from lbr.tables.guidance import final_rows, table_rows
from lbr.training import guidance
from lbr.training.guidance import accuracies
from lbr.training.history import read_history

from conftest import job_settings

# the paper's settings (schema defaults) scaled down to seconds on a CPU, as a dict of every field
SETTINGS = dataclasses.asdict(
    job_settings(
        GuidanceSettings,
        {"latent": "8", "guidance": "0.01", "seed": "0"},
        **{"image_size": 32, "width": 4, "encoder_blocks": [1, 1, 1, 1], "decoder_blocks": [1, 1, 1, 1]},
        **{"epochs": 6, "batch_size": 16, "lr": 2e-3, "eval_every": 2},
        **{"eval_batch_size": 64, "n_reconstructions": 4, "device": "cpu"},
    )
)


def run_experiment(train, test, outputs, settings: dict, checkpoint, **kwargs):
    """The job with its settings given as a dict of every GuidanceSettings field."""
    return guidance.run_experiment(train, test, outputs, GuidanceSettings(**settings), checkpoint, **kwargs)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    d = builtin.synthetic(n_train=64, n_test=24, height=40, width=40, n_classes=4, seed=0)
    for split in ("train", "test"):
        save_split(root / f"{split}.npz", *d[split], d["classes"])
    return root / "train.npz", root / "test.npz"


def _outputs(folder):
    return {
        k: folder / name
        for k, name in (("history", "history.csv"), ("metrics", "metrics.json"), ("recon", "recon.npz"))
    }


def _strip(metrics):
    return {k: v for k, v in metrics.items() if "seconds" not in k}  # timings differ between runs


def _history(path):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in read_history(path)]


RUNNER = """
import sys, json, torch
torch.set_num_threads(1)
sys.path.insert(0, {workflow!r})
from lbr.config.settings import GuidanceSettings
from lbr.training.guidance import run_experiment
run_experiment({train!r}, {test!r}, {outputs!r}, GuidanceSettings(**json.loads({settings!r})), {ckpt!r})
"""


def _spawn(repo_root, splits, folder, settings):
    code = RUNNER.format(
        workflow=str(repo_root / "workflow"),
        train=str(splits[0]),
        test=str(splits[1]),
        outputs={k: str(v) for k, v in _outputs(folder).items()},
        settings=json.dumps(settings),
        ckpt=str(folder / "checkpoint.pt"),
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_resume_after_kill_gives_the_same_metrics(repo_root, splits, tmp_path):
    settings = SETTINGS | {"epochs": 8, "checkpoint_minutes": 1e-6}  # a checkpoint after every epoch
    full = tmp_path / "full"
    run_experiment(*splits, _outputs(full), settings, full / "checkpoint.pt")
    killed = tmp_path / "killed"
    proc = _spawn(repo_root, splits, killed, settings)
    deadline = time.time() + 240
    while not (killed / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (killed / "checkpoint.pt").exists(), "the run should have checkpointed before the kill"
    assert not (killed / "metrics.json").exists(), "the kill came too late to interrupt the run"
    assert _spawn(repo_root, splits, killed, settings).wait(timeout=300) == 0
    a, b = json.loads((full / "metrics.json").read_text()), json.loads((killed / "metrics.json").read_text())
    assert _strip(a) == _strip(b)
    assert _history(full / "history.csv") == _history(killed / "history.csv")
    with np.load(full / "recon.npz") as ra, np.load(killed / "recon.npz") as rb:
        assert np.array_equal(ra["recon"], rb["recon"])
    assert not (killed / "checkpoint.pt").exists()  # removed after success (keep_checkpoint false)


def test_simulated_preemption_leaves_only_the_checkpoint(splits, tmp_path):
    assert run_experiment(*splits, _outputs(tmp_path), SETTINGS, tmp_path / "ck.pt", stop_after=2) is None
    assert (tmp_path / "ck.pt").exists() and not (tmp_path / "history.csv").exists()
    metrics = run_experiment(*splits, _outputs(tmp_path), SETTINGS | {"keep_checkpoint": True}, tmp_path / "ck.pt")
    assert (tmp_path / "ck.pt").exists()
    hist = read_history(tmp_path / "history.csv")
    assert [int(r["epoch"]) for r in hist] == list(range(1, 7))
    assert [int(r["epoch"]) for r in hist if not np.isnan(r["valid_recon"])] == [2, 4, 6]
    assert metrics["valid_recon"] == pytest.approx(hist[-1]["valid_recon"], rel=1e-7) and 0 < metrics["valid_recon"] < 1
    with np.load(tmp_path / "recon.npz") as z:
        assert z["x"].shape == z["recon"].shape == (4, 32, 32, 3) and z["x"].dtype == np.uint8


@pytest.mark.parametrize("size", [32, 64])
def test_cifar_stem_trains_below_224_px(splits, tmp_path, size):
    """The adapted autoencoder at toy width: a few epochs through the job lower the reconstruction loss."""
    settings = SETTINGS | {"stem": "cifar", "image_size": size, "epochs": 5, "eval_every": 5, "grayscale": 0.0}
    metrics = run_experiment(*splits, _outputs(tmp_path), settings, tmp_path / "ck.pt")
    recon = [r["train_recon"] for r in read_history(tmp_path / "history.csv")]
    assert recon[-1] < 0.85 * recon[0], recon  # about 0.75 in 5 epochs at either size
    assert metrics["stem"] == "cifar" and metrics["image_size"] == size
    with np.load(tmp_path / "recon.npz") as z:
        assert z["x"].shape == z["recon"].shape == (4, size, size, 3)


def test_table_rows_and_final_points():
    history = [
        {
            "epoch": 1.0,
            "train_recon": 0.5,
            "train_acc_linear": 0.1,
            "train_acc_mlp": 0.2,
            "train_ce_linear": 2.0,
            "train_ce_mlp": 2.1,
            "valid_recon": np.nan,
        },
        {
            "epoch": 2.0,
            "train_recon": 0.4,
            "train_acc_linear": 0.3,
            "train_acc_mlp": 0.4,
            "train_ce_linear": 1.5,
            "train_ce_mlp": 1.4,
            "valid_recon": 0.45,
            "valid_acc_linear": 0.5,
            "valid_acc_mlp": 0.6,
            "valid_acc_linear_macro": 0.49,
            "valid_acc_mlp_macro": 0.59,
            "valid_ce_linear": 1.2,
            "valid_ce_mlp": 1.1,
        },
    ]
    rows = table_rows(history, "d", 64, 0.01, 0)
    assert [(r["epoch"], r["split"]) for r in rows] == [(1, "train"), (2, "train"), (2, "valid")]
    assert rows[2]["recon_loss"] == 0.45 and rows[2]["acc_linear"] == 0.5 and rows[2]["acc_mlp"] == 0.6
    other = table_rows(history[:1] + [dict(history[1], epoch=3.0, valid_recon=0.3)], "d", 64, 0.0, 0)
    final = final_rows(rows + other)
    assert [(r["guidance"], r["epoch"], r["recon_loss"]) for r in final] == [(0.0, 3, 0.3), (0.01, 2, 0.45)]


def test_accuracies_against_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    y[y == 4] = 3  # one class absent: macro averages over present classes, as balanced accuracy
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))
    top1, macro = accuracies(torch.as_tensor(pred), torch.as_tensor(y), 5)
    assert top1 == pytest.approx(float((pred == y).mean()))
    assert macro == pytest.approx(balanced_accuracy_score(y, pred))


def test_resized_options_by_dataset():
    assert resized_options(dataset_spec("imagenette"), {"variant": "320px"}, 256) == {
        "variant": "320px",
        "size": 256,
        "resize": 256,
    }
    assert resized_options(dataset_spec("synthetic"), {"n_train": 10}, 32) == {"n_train": 10, "height": 32, "width": 32}
    with pytest.raises(LbrError, match="source_size"):
        resized_options(dataset_spec("cifar10"), {}, 64)


def _paper_config(repo_root):
    from snakemake.utils import validate

    cfg = yaml.safe_load((repo_root / "config.yaml").read_text())
    validate(cfg, str(repo_root / "workflow/schemas/config.schema.yaml"))
    return cfg


def test_config_checks(repo_root):
    cfg = _paper_config(repo_root)
    lbr_config.check(cfg)
    assert cfg["guidance"]["latents"] == [128, 256, 512, 640, 1024, 2048, 3072, 4096]
    for key, value, message in [
        ("image_size", 100, "multiple of 32"),
        ("scale", [1.0, 0.5], "low <= high"),
        ("weights", [0.0, 0.0], "twice"),
        ("dataset", "nope", "unknown dataset"),
    ]:
        bad = copy.deepcopy(cfg)
        bad["guidance"][key] = value
        with pytest.raises(LbrError, match=message):
            lbr_config.check(bad)
    small = copy.deepcopy(cfg)
    small["guidance"] |= {"stem": "cifar", "image_size": 40}
    lbr_config.check(small)
    for stem, size, message in [("cifar", 36, "multiple of 8 with guidance.stem cifar"),
                                ("imagenet", 40, "multiple of 32 with guidance.stem imagenet")]:  # fmt: skip
        bad = copy.deepcopy(cfg)
        bad["guidance"] |= {"stem": stem, "image_size": size}
        with pytest.raises(LbrError, match=message):
            lbr_config.check(bad)
    bad = copy.deepcopy(cfg)
    bad["fig5"]["image_latent"] = 7
    with pytest.raises(LbrError, match="image_latent"):
        lbr_config.check(bad)


def test_history_has_no_partial_files_after_kill_free_run(splits, tmp_path):
    run_experiment(*splits, _outputs(tmp_path), SETTINGS | {"epochs": 2}, tmp_path / "ck.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "metrics.json", "recon.npz"]
    assert os.path.getsize(tmp_path / "history.csv") > 0


def test_a_checkpoint_of_another_network_is_refused_in_one_sentence(splits, tmp_path):
    """The run folder does not depend on the width or the stem, so a checkpoint left by a run of another network
    must stop the job with its sentence, not fail inside load_state_dict."""
    assert run_experiment(*splits, _outputs(tmp_path), SETTINGS, tmp_path / "ck.pt", stop_after=1) is None
    with pytest.raises(LbrError, match="different training settings; delete it"):
        run_experiment(*splits, _outputs(tmp_path), SETTINGS | {"width": 8}, tmp_path / "ck.pt")
