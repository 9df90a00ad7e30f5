"""Supervised classification on subspace-filtered images (paper Figs. 1-top and 4), on the shared loop.

The whole dataset is moved to the device once, in the storage dtype and layout of the job's numeric policy
(`lbr.training.policy`: float16 channels_last on a GPU, float32 on a CPU by default), and every batch is a gather
of indices, with the authors' augmentation (reflect-padded random crop + horizontal flip) done on the device
for the whole batch: no DataLoader, no per-sample Python. Evaluation is top-1 accuracy on the test split
(plus the macro average, torchmetrics' default that the authors logged).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lbr import models
from lbr.config.settings import ClassifierSettings
from lbr.data.subsets import draw_subset
from lbr.errors import LbrError
from lbr.io import load_json, save_json
from lbr.machine.device import pick_device, seed_everything
from lbr.models import declared
from lbr.training.crop_flip import crop_flip
from lbr.training.history import write_history
from lbr.training.loop import LoopConfig, fingerprint, fit
from lbr.training.policy import Policy, resolve

log = logging.getLogger(__name__)
LOSSES = ("ce", "mse_onehot")
STOP_ENV = "LBR_STOP_AFTER_EPOCHS"


def crop_padding(height: int) -> int:
    """The authors' crop padding scaled to the image: 4 px at 32, 8 px at 64 (H/8), at least 1."""
    return max(1, height // 8)


def to_device_images(x: np.ndarray | torch.Tensor, device: torch.device, policy: Policy) -> torch.Tensor:
    """N x H x W x C array -> N x C x H x W tensor on `device` in the policy's storage dtype and layout (the
    channels_last layout is the N x H x W x C memory itself: no copy beyond the transfer)."""
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x))
    if t.ndim != 4:
        raise LbrError(f"images must be N x H x W x C, got shape {tuple(t.shape)}.")
    return policy.layout(policy.store(t.to(device)).permute(0, 3, 1, 2))


class ClassificationTask:
    """A `lbr.training.loop.Task`: images and labels resident on the device, loss `ce` or `mse_onehot`."""

    def __init__(
        self,
        x_train: np.ndarray | torch.Tensor,
        y_train: np.ndarray | torch.Tensor,
        x_test: np.ndarray | torch.Tensor,
        y_test: np.ndarray | torch.Tensor,
        n_classes: int,
        device: torch.device,
        aug: bool,
        loss: str,
        eval_batch: int,
        policy: Policy,
    ):
        if loss not in LOSSES:
            raise LbrError(f"classification loss must be one of {', '.join(LOSSES)}, not '{loss}'.")
        self.device, self.aug, self.loss_name, self.n_classes = device, bool(aug), loss, int(n_classes)
        self.policy = policy
        self.x = to_device_images(x_train, device, policy)
        self.x_test = to_device_images(x_test, device, policy)
        for name, t in (("train", self.x), ("test", self.x_test)):
            if not bool(torch.isfinite(t).all()):
                raise LbrError(
                    f"the {name} images contain NaN or infinite values; rebuild the filtered dataset "
                    "(delete it and rerun) or check the source data."
                )
        self.y = torch.as_tensor(np.asarray(y_train), dtype=torch.int64).to(device)
        self.y_test = torch.as_tensor(np.asarray(y_test), dtype=torch.int64).to(device)
        for name, y in (("train", self.y), ("test", self.y_test)):
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
                raise LbrError(f"{name} labels fall outside 0..{self.n_classes - 1}; check the dataset's classes.")
        self.targets = F.one_hot(self.y, self.n_classes).float() if loss == "mse_onehot" else self.y
        self.n_train = len(self.y)
        self.pad = crop_padding(self.x.shape[2])
        self.eval_batch = int(eval_batch)
        self.in_shape = tuple(self.x.shape[1:])

    def batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Training images `idx`, augmented when aug is on (in the storage dtype: crops move values, never round
        them), as float32 in the policy's layout."""
        x = self.x[idx]
        if self.aug:
            x = crop_flip(x, self.pad, gen)
        return self.policy.layout(x.float())

    def objective(self, logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        logits = logits.float()
        if self.loss_name == "ce":
            return F.cross_entropy(logits, targets, reduction=reduction)
        loss = F.mse_loss(logits, targets, reduction="none").mean(1)
        return loss.mean() if reduction == "mean" else loss.sum()

    def loss(self, model: torch.nn.Module, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.objective(model(self.batch(idx, gen)), self.targets[idx])

    def evaluate(self, model: torch.nn.Module, epoch: int) -> dict:
        """Test top-1 accuracy, macro accuracy and loss, with one host sync at the end."""
        c = self.n_classes
        confusion = torch.zeros(c * c, dtype=torch.int64, device=self.device)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        targets = F.one_hot(self.y_test, c).float() if self.loss_name == "mse_onehot" else self.y_test
        for start in range(0, len(self.y_test), self.eval_batch):
            sl = slice(start, start + self.eval_batch)
            logits = model(self.policy.layout(self.x_test[sl].float()))
            total += self.objective(logits, targets[sl], reduction="sum").double()
            cell = self.y_test[sl] * c + logits.argmax(1)
            confusion.scatter_add_(0, cell, torch.ones_like(cell))  # bincount would sync with the host
        return accuracy_metrics(confusion.reshape(c, c).cpu(), float(total) / max(1, len(self.y_test)))


def accuracy_metrics(confusion: torch.Tensor, loss: float) -> dict:
    """Top-1 (micro) accuracy, macro accuracy (mean per-class recall over classes present) and the loss."""
    confusion = confusion.to(torch.float64)
    support = confusion.sum(1)
    present = support > 0
    recall = confusion.diagonal()[present] / support[present]
    return {
        "test_acc": float(confusion.diagonal().sum() / confusion.sum().clamp(min=1)),
        "test_acc_macro": float(recall.mean()) if len(recall) else float("nan"),
        "test_loss": loss,
    }


def load_labels(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Labels and class names of a canonical split, without reading its images."""
    with np.load(path, allow_pickle=False) as z:
        return z["y"], [str(c) for c in z["classes"]]


def throughput(history: list[dict], images_per_epoch: int) -> float:
    """Training images per second, first epoch left out when there are others (warm-up, compilation)."""
    rows = history[1:] if len(history) > 1 else history
    seconds = sum(r["seconds"] for r in rows)
    return len(rows) * images_per_epoch / seconds if seconds > 0 else float("nan")


def train_classifier(
    paths: dict,
    settings: ClassifierSettings,
    out_metrics: str | os.PathLike,
    out_history: str | os.PathLike,
    meta: dict | None = None,
    stop_after: int | None = None,
) -> dict:
    """Train one classifier on a filtered dataset and write metrics.json and history.csv atomically.

    `paths` holds train/test (filtered .npy), train_info/test_info (their .json) and train_labels/test_labels
    (canonical .npz). The checkpoint lives next to the outputs as `checkpoint-<key>.pt`, the key being a
    fingerprint of the settings and the data; it is not a declared output, so Snakemake never deletes it
    before a rerun, and a rerun of the same job resumes from it. It is removed once the outputs exist.
    `stop_after` (or the LBR_STOP_AFTER_EPOCHS environment variable) ends the job after that many epochs
    as if it were preempted. With `fig4.train_subset` it trains on that class-balanced subset of the train
    rows (`lbr.data.subsets`), gathered from the memmapped array in one read; the test split stays whole.
    """
    meta = dict(meta or {})
    device = pick_device(settings.device)
    seed_everything(settings.seed)
    y_train, classes = load_labels(paths["train_labels"])
    y_test, _ = load_labels(paths["test_labels"])
    info = load_json(paths["train_info"]) if paths.get("train_info") else {}
    x_train = np.load(paths["train"], mmap_mode="r")
    x_test = np.load(paths["test"], mmap_mode="r")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise LbrError(
            f"filtered images ({len(x_train)} train, {len(x_test)} test) and labels ({len(y_train)}, {len(y_test)}) "
            "differ in number; rebuild the filtered dataset."
        )
    subset = draw_subset(y_train, settings.train_subset, settings.subset_seed, "fig4.train_subset")
    x_train, y_train = subset.rows(x_train), y_train[subset.indices]
    policy = resolve(settings, device, fast_storage="float16")
    s = settings
    task = ClassificationTask(
        x_train, y_train, x_test, y_test, len(classes), device, s.aug, s.loss, s.eval_batch_size, policy
    )
    del x_train, x_test
    if settings.model is None:
        model = models.build(settings.arch, in_shape=task.in_shape, n_classes=len(classes), width=settings.width)
    else:  # the user's, checked on one batch as the loop will feed it
        batch = policy.layout(task.x[: declared.CHECK_IMAGES].float())
        model = declared.classifier(settings.arch, settings.model, task.in_shape, len(classes), batch)
    cfg = LoopConfig.of(settings, policy, data=subset.data_key)
    out_dir = Path(out_metrics).parent
    key = fingerprint(
        {
            "settings": settings.recipe(),
            "loop": cfg.recipe(),
            "storage": policy.record()["storage"],
            "info": info,
            "shape": task.in_shape,
            "n_train": task.n_train,
            "subset": subset.sha,
            "n_test": len(y_test),
            "classes": classes,
        }
    )
    ckpt = out_dir / f"checkpoint-{key}.pt"
    for stale in out_dir.glob("checkpoint-*.pt"):
        if stale != ckpt:
            log.warning("removing %s: written for other settings or data", stale)
            stale.unlink()
    env_stop = os.environ.get(STOP_ENV)
    stop_after = stop_after if stop_after is not None else (int(env_stop) if env_stop else None)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        f"{settings.arch} on {meta.get('dataset', '?')} ({device}), {n_params} parameters, {task.n_train} train / "
        f"{len(y_test)} test images of shape {task.in_shape}, {len(classes)} classes, aug={settings.aug:d}, "
        f"loss={settings.loss}"
    )
    stats: dict = {}
    history = fit(model, task, cfg, device, checkpoint=ckpt, stop_after=stop_after, stats=stats)
    if len(history) < cfg.epochs:
        raise LbrError(
            f"training stopped after epoch {len(history)} of {cfg.epochs} ({STOP_ENV}, a preemption drill); "
            "rerun the same command to resume from the checkpoint."
        )
    last = history[-1]
    rate = throughput(history, (task.n_train // cfg.batch_size) * cfg.batch_size)
    metrics = meta | {
        "arch": settings.arch,
        "aug": int(settings.aug),
        "loss": settings.loss,
        "seed": settings.seed,
        "epochs": cfg.epochs,
        "width": settings.width,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "weight_decay": cfg.weight_decay,
        **policy.record(),
        "n_params": n_params,
        **subset.record(),
        "n_test": len(y_test),
        "n_classes": len(classes),
        "input_shape": list(task.in_shape),
        "test_acc": last["test_acc"],
        "test_acc_macro": last["test_acc_macro"],
        "test_loss": last["test_loss"],
        "train_loss": last["train_loss"],
        "train_seconds": sum(r["seconds"] for r in history),
        "images_per_s": rate,
        **stats,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "side": info.get("side", meta.get("side")),
        "level": info.get("level", meta.get("level")),
        "share": info.get("share"),
        "variance_kept": info.get("variance_kept"),
        "dims": info.get("dims"),
        "n_directions": info.get("n_directions"),
        "substituted": bool(info.get("substituted", False)),
    }
    write_history(out_history, history)
    save_json(out_metrics, metrics)
    ckpt.unlink(missing_ok=True)
    log.info(f"test accuracy {last['test_acc']:.4f} (macro {last['test_acc_macro']:.4f}), {rate:.0f} images/s")
    return metrics
