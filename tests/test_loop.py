"""The shared loop learns, resumes to identical results, and stops clearly on a non-finite loss."""

import pytest
import torch
import torch.nn.functional as F

from lbr.errors import LbrError
from lbr.training.loop import LoopConfig, fit


class Blobs:
    """Two Gaussian blobs in 8-D: a task any working loop solves."""

    def __init__(self, n=256, poison=False):
        g = torch.Generator().manual_seed(0)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 8, generator=g) + 2.0 * self.y[:, None].float()
        if poison:
            self.x[3, 0] = float("nan")
        self.n_train = n

    def loss(self, model, idx, gen):
        return F.cross_entropy(model(self.x[idx]), self.y[idx])

    def evaluate(self, model, epoch):
        return {"acc": float((model(self.x).argmax(1) == self.y).float().mean())}


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))


CFG = LoopConfig(epochs=6, batch_size=32, lr=1e-2, weight_decay=1e-3, checkpoint_every=2, seed=3)


def test_loop_learns():
    hist = fit(_model(), Blobs(), CFG, torch.device("cpu"))
    assert len(hist) == 6 and hist[-1]["acc"] > 0.9
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_resume_after_preemption_matches_uninterrupted(tmp_path):
    full = fit(_model(), Blobs(), CFG, torch.device("cpu"), checkpoint=tmp_path / "a.pt")
    ckpt = tmp_path / "b.pt"
    part = fit(_model(), Blobs(), CFG, torch.device("cpu"), checkpoint=ckpt, stop_after=3)
    assert len(part) == 3
    resumed = fit(_model(), Blobs(), CFG, torch.device("cpu"), checkpoint=ckpt)
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in full]
    assert resumed[-1]["acc"] == full[-1]["acc"]


def test_changed_settings_refuse_stale_checkpoint(tmp_path):
    ckpt = tmp_path / "c.pt"
    fit(_model(), Blobs(), CFG, torch.device("cpu"), checkpoint=ckpt, stop_after=1)
    with pytest.raises(LbrError, match="different training settings"):
        fit(
            _model(),
            Blobs(),
            LoopConfig(epochs=7, batch_size=32, lr=1e-3, weight_decay=1e-3),
            torch.device("cpu"),
            checkpoint=ckpt,
        )


def test_nan_loss_stops_with_message():
    with pytest.raises(LbrError, match="loss became nan"):
        fit(_model(), Blobs(poison=True), CFG, torch.device("cpu"))


def test_batch_larger_than_data_is_refused():
    with pytest.raises(LbrError, match="exceeds"):
        fit(_model(), Blobs(n=16), CFG, torch.device("cpu"))
