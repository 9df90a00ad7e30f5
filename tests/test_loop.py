"""The shared loop learns, resumes to identical results, and stops clearly on a non-finite loss."""

import time

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


CFG = LoopConfig(epochs=6, batch_size=32, lr=1e-2, weight_decay=1e-3, seed=3)


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


# ---- checkpoints by wall-clock time -------------------------------------------------------------------------------


@pytest.fixture()
def saves(monkeypatch):
    """The epochs after which `fit` wrote a checkpoint."""
    import lbr.training.loop as loop

    written: list[int] = []
    original = loop.save_checkpoint
    monkeypatch.setattr(
        loop, "save_checkpoint", lambda path, state: (written.append(state["epoch"]), original(path, state))
    )
    return written


def test_a_run_shorter_than_the_interval_writes_no_checkpoint(tmp_path, saves):
    cfg = LoopConfig(epochs=6, batch_size=32, lr=1e-2, checkpoint_minutes=10)
    fit(_model(), Blobs(), cfg, torch.device("cpu"), checkpoint=tmp_path / "a.pt")
    assert saves == [] and not (tmp_path / "a.pt").exists()


def test_checkpoints_follow_the_clock_and_skip_the_last_epoch(tmp_path, saves, monkeypatch):
    """A clock that moves 4 minutes each time the loop reads it (at the start, once per epoch and after each
    save) and a 10-minute interval: checkpoints after epoch 2 (12 min) and epoch 5 (12 min after the save), none
    after the last epoch, whose results the caller writes at once."""
    import types

    import lbr.training.loop as loop

    ticks = iter(range(10_000))
    fake = types.SimpleNamespace(monotonic=lambda: 240.0 * next(ticks), perf_counter=time.perf_counter)
    monkeypatch.setattr(loop, "time", fake)
    cfg = LoopConfig(epochs=7, batch_size=32, lr=1e-2, checkpoint_minutes=10)
    fit(_model(), Blobs(), cfg, torch.device("cpu"), checkpoint=tmp_path / "a.pt")
    assert saves == [2, 5]


def test_resume_restores_the_history_after_a_clock_checkpoint(tmp_path):
    cfg = LoopConfig(epochs=6, batch_size=32, lr=1e-2, weight_decay=1e-3, seed=3, checkpoint_minutes=1e-9)
    full = fit(_model(), Blobs(), cfg, torch.device("cpu"))
    part = fit(_model(), Blobs(), cfg, torch.device("cpu"), checkpoint=tmp_path / "b.pt", stop_after=4)
    assert len(part) == 4
    resumed = fit(_model(), Blobs(), cfg, torch.device("cpu"), checkpoint=tmp_path / "b.pt")
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in full]


# ---- resume under another memory layout ---------------------------------------------------------------------------


class Pictures:
    """Four-class 6x6 images with a class-dependent mean: a conv net learns it in a few epochs."""

    def __init__(self, n=128):
        g = torch.Generator().manual_seed(0)
        self.y = torch.arange(n) % 4
        self.x = torch.randn(n, 3, 6, 6, generator=g) + self.y[:, None, None, None].float()
        self.n_train = n

    def loss(self, model, idx, gen):
        return F.cross_entropy(model(self.x[idx]), self.y[idx])

    def evaluate(self, model, epoch):
        return {}


def _conv():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 16, 4)
    )


@pytest.mark.parametrize("saved, resumed", [(True, False), (False, True)], ids=["cl-to-contiguous", "contiguous-to-cl"])
def test_resumed_optimizer_state_has_its_parameters_layout(tmp_path, monkeypatch, saved, resumed):
    """channels_last is a runtime key, so a run may resume under the other layout: every optimizer state tensor
    shaped like its parameter must then have the parameter's strides (CUDA's fused Adam refuses anything else;
    a CPU accepts it, so the strides are checked directly). The history still matches an uninterrupted run."""
    import lbr.training.loop as loop

    base = dict(epochs=4, batch_size=32, lr=1e-2, weight_decay=1e-3, seed=1)
    ckpt = tmp_path / "ck.pt"
    fit(_conv(), Pictures(), LoopConfig(**base, channels_last=saved), torch.device("cpu"), ckpt, stop_after=2)
    seen = {}
    original = loop.match_parameter_layout

    def check(opt):
        weight = opt.param_groups[0]["params"][0]  # the conv weight, the only 4-d tensor
        before = opt.state[weight]["exp_avg"].stride()
        original(opt)
        seen["differed"] = before != weight.stride()
        seen["pairs"] = [
            (state.stride(), p.stride(), state.dtype == p.dtype, state.device == p.device)
            for g in opt.param_groups
            for p in g["params"]
            for state in opt.state[p].values()
            if torch.is_tensor(state) and state.shape == p.shape
        ]

    monkeypatch.setattr(loop, "match_parameter_layout", check)
    after = fit(_conv(), Pictures(), LoopConfig(**base, channels_last=resumed), torch.device("cpu"), ckpt)
    assert seen["differed"], "the checkpoint's moments should have come back in the other layout"
    assert len(seen["pairs"]) == 8 and all(a == b and dtype and dev for a, b, dtype, dev in seen["pairs"])
    straight = fit(_conv(), Pictures(), LoopConfig(**base, channels_last=resumed), torch.device("cpu"))
    assert [r["train_loss"] for r in after] == pytest.approx([r["train_loss"] for r in straight], rel=1e-5)


class SlowFirstStep(Blobs):
    """The first training step takes at least 0.3 s (as a compiled first step does); records the process's age
    when it began."""

    entered = None

    def loss(self, model, idx, gen):
        if self.entered is None:
            from lbr.training.loop import process_seconds

            self.entered = process_seconds()
            time.sleep(0.3)
        return super().loss(model, idx, gen)


def test_startup_is_measured_to_the_end_of_the_first_step():
    """startup_seconds runs from the process's start to the end of the first training step (the one definition
    lbr plan prices and gpu_check reports): at least the process's age when that step began plus its 0.3 s, and
    at most its age after fit, both read on the process's own clock (/proc, via process_seconds)."""
    from lbr.training.loop import process_seconds

    stats: dict = {}
    task = SlowFirstStep()
    fit(_model(), task, LoopConfig(epochs=1, batch_size=32, lr=1e-2), torch.device("cpu"), stats=stats)
    after = process_seconds()
    assert stats["first_step_seconds"] >= 0.3
    assert task.entered + 0.3 - 0.02 <= stats["startup_seconds"] <= after  # /proc counts in hundredths
