"""Classification on the shared loop: it learns, both losses are what they claim, a killed run resumes to the
same metrics, and non-finite numbers stop the job without leaving metrics behind."""

import json

import numpy as np
import pytest
import torch

from lbr import models
from lbr.config.settings import ClassifierSettings
from lbr.data.builtin import synthetic
from lbr.data.splits import save_split
from lbr.errors import LbrError
from lbr.io import save_json
from lbr.training.classifier import ClassificationTask, accuracy_metrics, train_classifier
from lbr.training.loop import LoopConfig, fit
from lbr.training.policy import FLOAT32_EAGER

from conftest import job_settings

CPU = torch.device("cpu")


def _normalized(x):
    x = x.astype(np.float32) / 255
    return x / x.reshape(len(x), -1).std(1)[:, None, None, None]


def filtered_like(evidence: float):
    """Synthetic train/test images renormalised as the filter step does, float16 as the filtered arrays."""
    d = synthetic(n_train=600, n_test=200, height=16, width=16, evidence=evidence, seed=1)
    (xtr, ytr), (xte, yte) = d["train"], d["test"]
    xtr, xte = _normalized(xtr), _normalized(xte)
    mean = xtr.mean(0)
    return (xtr - mean).astype(np.float16), ytr, (xte - mean).astype(np.float16), yte


@pytest.fixture(scope="module")
def data():
    return filtered_like(evidence=0.3)


def _fit(data, arch, loss, aug, epochs=4, width=0.25, lr=3e-3, batch_size=50):
    xtr, ytr, xte, yte = data
    torch.manual_seed(0)
    task = ClassificationTask(xtr, ytr, xte, yte, 10, CPU, aug=aug, loss=loss, eval_batch=1024, policy=FLOAT32_EAGER)
    model = models.build(arch, in_shape=task.in_shape, n_classes=10, width=width)
    return fit(model, task, LoopConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-3), CPU)


@pytest.mark.parametrize("loss", ["ce", "mse_onehot"])
def test_mlp_learns_with_either_loss(data, loss):
    hist = _fit(data, "mlp", loss, aug=False)
    assert hist[-1]["test_acc"] > 0.6, hist
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_tiny_resnet9_learns(data):
    # no augmentation: the synthetic class evidence is a fixed high-frequency pattern that shifts destroy
    hist = _fit(data, "resnet9", "ce", aug=False, epochs=6, width=0.125, lr=1e-2, batch_size=32)
    assert hist[-1]["test_acc"] > 0.5, [round(r["test_acc"], 3) for r in hist]


def test_losses_equal_their_definitions():
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(6, 4, generator=g), torch.tensor([0, 3, 1, 1, 2, 0])
    x = np.zeros((6, 2, 2, 1), np.float16)
    ce = ClassificationTask(
        x, y.numpy(), x, y.numpy(), 4, CPU, aug=False, loss="ce", eval_batch=8, policy=FLOAT32_EAGER
    )
    mse = ClassificationTask(
        x, y.numpy(), x, y.numpy(), 4, CPU, aug=False, loss="mse_onehot", eval_batch=8, policy=FLOAT32_EAGER
    )
    nll = -(logits.exp() / logits.exp().sum(1, keepdim=True))[torch.arange(6), y].log().mean()
    onehot = torch.eye(4)[y]
    assert torch.allclose(ce.objective(logits, y), nll, atol=1e-6)
    assert torch.allclose(mse.objective(logits, mse.targets), ((logits - onehot) ** 2).mean(), atol=1e-6)
    assert torch.allclose(mse.objective(logits, mse.targets, "sum"), ((logits - onehot) ** 2).mean(1).sum(), atol=1e-5)
    with pytest.raises(LbrError, match="loss must be one of"):
        ClassificationTask(
            x, y.numpy(), x, y.numpy(), 4, CPU, aug=False, loss="hinge", eval_batch=8, policy=FLOAT32_EAGER
        )


def test_accuracy_metrics_micro_and_macro():
    # class 0: 8 of 10 right, class 1: 1 of 2 right -> micro 9/12, macro (0.8 + 0.5) / 2
    confusion = torch.tensor([[8, 2, 0], [1, 1, 0], [0, 0, 0]])
    m = accuracy_metrics(confusion, 0.5)
    assert m["test_acc"] == pytest.approx(9 / 12) and m["test_acc_macro"] == pytest.approx(0.65)


def test_evaluation_counts_match_a_direct_computation(data):
    xtr, ytr, xte, yte = data
    task = ClassificationTask(xtr, ytr, xte, yte, 10, CPU, aug=False, loss="ce", eval_batch=64, policy=FLOAT32_EAGER)
    model = models.build("mlp", in_shape=task.in_shape, n_classes=10, width=0.25).eval()
    with torch.no_grad():
        m = task.evaluate(model, 0)
        pred = model(torch.from_numpy(xte.astype(np.float32)).permute(0, 3, 1, 2)).argmax(1).numpy()
    assert m["test_acc"] == pytest.approx((pred == yte).mean())
    recalls = [(pred[yte == c] == c).mean() for c in range(10)]
    assert m["test_acc_macro"] == pytest.approx(np.mean(recalls))


# ---- the job level: files in, metrics.json + history.csv out -------------------------------------------------


def _write_inputs(tmp_path, data, poison=False):
    xtr, ytr, xte, yte = data
    root = tmp_path / "in"
    root.mkdir()
    if poison:
        xtr = xtr.copy()
        xtr[5, 0, 0, 0] = np.nan
    np.save(root / "train.npy", xtr)
    np.save(root / "test.npy", xte)
    info = {"side": "bottom", "level": "0.5", "share": 0.5, "variance_kept": 0.49, "dims": 400, "n_directions": 768}
    save_json(root / "train.json", info)
    save_json(root / "test.json", info)
    classes = [str(c) for c in range(10)]
    save_split(root / "train.npz", np.zeros((len(ytr), 1, 1, 1), np.uint8), ytr, classes)
    save_split(root / "test.npz", np.zeros((len(yte), 1, 1, 1), np.uint8), yte, classes)
    return {
        "train": root / "train.npy",
        "test": root / "test.npy",
        "train_info": root / "train.json",
        "test_info": root / "test.json",
        "train_labels": root / "train.npz",
        "test_labels": root / "test.npz",
    }


SETTINGS = job_settings(
    ClassifierSettings,
    {"dataset": "synthetic", "arch": "mlp", "aug": "1", "seed": "4"},
    epochs=4,
    batch_size=50,
    lr=3e-3,
    width=0.25,
    device="cpu",
    eval_every=1,
)


def test_killed_job_resumes_to_the_same_metrics(tmp_path, data, caplog):
    paths = _write_inputs(tmp_path, data)
    full = train_classifier(paths, SETTINGS, tmp_path / "a/metrics.json", tmp_path / "a/history.csv")
    out = tmp_path / "b"
    with pytest.raises(LbrError, match="stopped after epoch 2 of 4"):
        train_classifier(paths, SETTINGS, out / "metrics.json", out / "history.csv", stop_after=2)
    assert not (out / "metrics.json").exists() and len(list(out.glob("checkpoint-*.pt"))) == 1
    caplog.clear()
    with caplog.at_level("INFO", logger="lbr.training.loop"):
        resumed = train_classifier(paths, SETTINGS, out / "metrics.json", out / "history.csv")
    epochs_run = [r.message for r in caplog.records if r.message.startswith("epoch ")]
    assert any("after epoch 1" in r.message for r in caplog.records) and len(epochs_run) == 2
    for key in ("test_acc", "test_acc_macro", "test_loss", "train_loss"):
        assert resumed[key] == full[key]
    hist_a = (tmp_path / "a/history.csv").read_text().splitlines()
    hist_b = (out / "history.csv").read_text().splitlines()
    cols = hist_a[0].split(",")
    drop = cols.index("seconds")
    assert [r.split(",")[:drop] + r.split(",")[drop + 1 :] for r in hist_a] == [
        r.split(",")[:drop] + r.split(",")[drop + 1 :] for r in hist_b
    ]
    assert not list(out.glob("checkpoint-*.pt"))
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["variance_kept"] == 0.49 and saved["epochs"] == 4 and saved["aug"] == 1


def test_checkpoint_of_other_settings_is_discarded(tmp_path, data, caplog):
    paths = _write_inputs(tmp_path, data)
    out = tmp_path / "c"
    with pytest.raises(LbrError, match="stopped"):
        train_classifier(paths, SETTINGS, out / "metrics.json", out / "history.csv", stop_after=1)
    other = ClassifierSettings(**{**SETTINGS.__dict__, "lr": 1e-3, "epochs": 2})
    with caplog.at_level("WARNING", logger="lbr.training.classifier"):
        m = train_classifier(paths, other, out / "metrics.json", out / "history.csv")
    assert any("other settings" in r.message for r in caplog.records)
    assert m["epochs"] == 2 and not list(out.glob("checkpoint-*.pt"))


def test_nan_in_the_data_stops_the_job_without_metrics(tmp_path, data):
    paths = _write_inputs(tmp_path, data, poison=True)
    with pytest.raises(LbrError, match="NaN or infinite"):
        train_classifier(paths, SETTINGS, tmp_path / "d/metrics.json", tmp_path / "d/history.csv")
    assert not (tmp_path / "d/metrics.json").exists()


def test_diverging_loss_stops_the_job_without_metrics(tmp_path, data):
    paths = _write_inputs(tmp_path, data)
    wild = ClassifierSettings(**{**SETTINGS.__dict__, "lr": 1e30, "loss": "mse_onehot", "aug": False})
    with pytest.raises(LbrError, match="training loss became"):
        train_classifier(paths, wild, tmp_path / "e/metrics.json", tmp_path / "e/history.csv")
    assert not (tmp_path / "e/metrics.json").exists() and not (tmp_path / "e/history.csv").exists()
