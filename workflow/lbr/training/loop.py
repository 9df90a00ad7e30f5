"""One resumable training loop for every model of the project (classifiers, autoencoders, guided AEs).

A `Task` owns its data (already on the device) and says how to compute the loss of a batch of indices and
how to evaluate; `fit` owns everything else: seeded shuffling, optimiser and OneCycle schedule, the numeric
policy (bf16 autocast, channels_last, torch.compile with the fused optimizer; the same on a CPU and a GPU;
IEEE float32 math when autocast is off), a non-finite-loss stop, one log line per epoch, and atomic checkpoints
from which a killed or preempted job resumes with identical results (every epoch's randomness is derived from
(seed, epoch), not from the state of a long-lived generator). Checkpoints are written by wall-clock time
(`checkpoint_minutes`), never just before the job writes its outputs, so short runs write none and long runs
write one every few minutes, not one per epoch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Protocol

import torch

from lbr.errors import LbrError
from lbr.io import atomic_path
from lbr.machine.device import float32_math
from lbr.training.policy import autocast_context, uses_tf32

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    """How `fit` trains (each trainer builds one from its job settings). The RUNTIME fields change how the loop
    runs, not what it computes: a checkpoint written under other values of them still resumes."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "onecycle"
    pct_start: float = 0.3
    drop_last: bool = True
    seed: int = 0
    eval_every: int = 1
    eval_epochs: tuple[int, ...] = field(default_factory=tuple)
    autocast: torch.dtype | None = None
    checkpoint_minutes: float = 0.0
    channels_last: bool = False
    compile: bool = False
    compile_mode: str = "default"
    data: str = ""

    RUNTIME = ("checkpoint_minutes", "channels_last", "compile", "compile_mode")

    @classmethod
    def of(cls, settings, policy, **overrides) -> LoopConfig:
        """The loop of a job: every field its settings dataclass shares with LoopConfig, its resolved numeric
        policy (`lbr.training.policy.Policy`), then `overrides`."""
        names = {f.name for f in fields(cls)}
        resolved = {k: getattr(policy, k) for k in ("autocast", "channels_last", "compile", "compile_mode")}
        return cls(**({k: v for k, v in asdict(settings).items() if k in names} | resolved | overrides))

    def recipe(self) -> dict:
        """The fields that decide the numbers (what a checkpoint must agree on to be resumed). `data`, a
        fingerprint of what the loop cannot see (the model's settings, a training subset), counts only when a
        trainer sets it."""
        return {k: v for k, v in asdict(self).items() if k not in self.RUNTIME and (k != "data" or v)}


class Task(Protocol):
    """What `fit` needs from a training job. Data live on the device inside the task."""

    n_train: int

    def loss(self, model: torch.nn.Module, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor | dict:
        """Mean loss on the training examples `idx` (random augmentation drawn from `gen`).

        May instead return {"loss": tensor to minimise, name: scalar tensor, ...}: each extra term is
        averaged over the epoch and logged as `train_<name>` (e.g. loss components, running accuracy).
        """

    def evaluate(self, model: torch.nn.Module, epoch: int) -> dict:
        """Metrics after `epoch` (0-based), model in eval mode under no_grad."""


def compile_model(model: torch.nn.Module, cfg: LoopConfig) -> torch.nn.Module:
    """torch.compile for the fixed training batch shape (drop_last keeps it static); `compile_mode` is
    torch.compile's mode ('default', 'max-autotune-no-cudagraphs', ...). Compiled kernels are cached in
    .cache/torchinductor of the working directory unless TORCHINDUCTOR_CACHE_DIR says otherwise."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path(".cache/torchinductor").resolve()))
    mode = None if cfg.compile_mode == "default" else cfg.compile_mode
    return torch.compile(model, mode=mode, dynamic=False if cfg.drop_last else None)


def process_seconds() -> float:
    """Seconds since this process started (Linux /proc), so that jobs can report their start-up time."""
    try:
        start_ticks = float(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


_IMPORTED_AT = time.monotonic()


def fingerprint(payload: dict) -> str:
    """A short sha256 of everything a checkpoint depends on (settings, data), JSON-serialised."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """The random stream of one epoch: a function of (seed, epoch) only, so resumed runs match."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


def make_optimizer(params, cfg: LoopConfig, fused: bool = False) -> torch.optim.Optimizer:
    """AdamW / Adam / SGD; `fused`: the fused Adam kernels (one launch per step instead of one per tensor, on a
    GPU and on a CPU alike)."""
    fused = {"fused": True} if fused else {}
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas, **fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas, **fused)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=0.9, nesterov=True)
    raise LbrError(f"optimizer must be adamw, adam or sgd, not '{cfg.optimizer}'.")


def make_schedule(opt: torch.optim.Optimizer, cfg: LoopConfig, steps_per_epoch: int):
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=cfg.pct_start
        )
    if cfg.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    raise LbrError(f"schedule must be onecycle or constant, not '{cfg.schedule}'.")


def steps_per_epoch(n: int, cfg: LoopConfig) -> int:
    steps = n // cfg.batch_size if cfg.drop_last else math.ceil(n / cfg.batch_size)
    if steps == 0:
        raise LbrError(f"batch size {cfg.batch_size} exceeds the {n} training examples; lower the batch size.")
    return steps


def _eval_due(cfg: LoopConfig, epoch: int) -> bool:
    last = epoch == cfg.epochs - 1
    return last or epoch in cfg.eval_epochs or (cfg.eval_every > 0 and (epoch + 1) % cfg.eval_every == 0)


def save_checkpoint(path: str | Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def match_parameter_layout(opt: torch.optim.Optimizer) -> None:
    """Give every optimizer state tensor shaped like its parameter that parameter's dtype, device and strides.

    `Optimizer.load_state_dict` moves state to the parameter's device and dtype but keeps the strides it was
    saved with, so a run resumed under another memory layout (channels_last is a runtime key) would hand CUDA's
    fused Adam a contiguous moment for a channels_last weight, which it refuses."""
    for group in opt.param_groups:
        for param in group["params"]:
            for name, value in opt.state.get(param, {}).items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    opt.state[param][name] = torch.empty_like(param).copy_(value)


def load_checkpoint(path: str | Path, cfg: LoopConfig) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable checkpoint gets the same advice
        raise LbrError(f"checkpoint {path} is unreadable ({err}); delete it to restart the run.") from err
    if state.get("recipe") != cfg.recipe():
        raise LbrError(f"checkpoint {path} was written with different training settings; delete it to restart.")
    return state


def fit(
    model: torch.nn.Module,
    task: Task,
    cfg: LoopConfig,
    device: torch.device,
    checkpoint: str | Path | None = None,
    on_epoch_end: Callable[[torch.nn.Module, int, dict], None] | None = None,
    parameters=None,
    stop_after: int | None = None,
    stats: dict | None = None,
) -> list[dict]:
    """Train `model` on `task` for cfg.epochs; return the per-epoch history (resumes from `checkpoint`).

    `on_epoch_end(model, epoch, row)` runs after every epoch (e.g. to record dynamics) and may add to `row`.
    A checkpoint is written when `cfg.checkpoint_minutes` have passed since the last one (or since the start),
    except after the last epoch, whose results the caller writes at once. `stop_after` ends the run after that
    many epochs of this call and checkpoints it (a preemption drill for tests). `stats`, when given, receives
    startup_seconds (process start to the end of the first training step: the job's start-up, as `lbr plan`
    prices it, since the steady rate leaves the first step out) and first_step_seconds (the first step,
    compilation included). Evaluation runs the eager model (a compiled one would recompile for its batch shapes)
    under the same autocast. Float32 math is IEEE float32 unless bf16 autocast is on (`lbr.training.policy`).
    """
    cuda = device.type == "cuda"
    with float32_math(uses_tf32(cfg.autocast, device), cudnn_benchmark=cuda):
        return _fit(model, task, cfg, device, checkpoint, on_epoch_end, parameters, stop_after, stats)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _fit(model, task, cfg, device, checkpoint, on_epoch_end, parameters, stop_after, stats) -> list[dict]:
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    fused = device.type == "cuda" or cfg.compile
    opt = make_optimizer(parameters if parameters is not None else model.parameters(), cfg, fused)
    n_steps = steps_per_epoch(task.n_train, cfg)
    sched = make_schedule(opt, cfg, n_steps)
    history: list[dict] = []
    start = 0
    if checkpoint is not None and (state := load_checkpoint(checkpoint, cfg)) is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        match_parameter_layout(opt)
        sched.load_state_dict(state["scheduler"])
        history, start = state["history"], state["epoch"] + 1
        log.info("resumed from %s after epoch %d", checkpoint, state["epoch"])
    step_model = compile_model(model, cfg) if cfg.compile else model
    autocast = autocast_context(cfg.autocast, device)
    stats = {} if stats is None else stats
    done_here = 0
    last_saved = time.monotonic()
    for epoch in range(start, cfg.epochs):
        _sync(device)
        t0 = time.perf_counter()
        gen = epoch_generator(cfg.seed, epoch, device)
        order = torch.randperm(task.n_train, device=device, generator=gen)
        model.train()
        total = torch.zeros((), device=device)
        terms: dict[str, torch.Tensor] = {}
        for step in range(n_steps):
            first = "first_step_seconds" not in stats
            if first:
                step_start = time.perf_counter()
            idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            with autocast:
                loss = task.loss(step_model, idx, gen)
            if isinstance(loss, dict):
                for name, value in loss.items():
                    if name != "loss":
                        terms[name] = terms.get(name, 0.0) + value.detach().float()
                loss = loss["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach().float()
            if first:
                _sync(device)
                stats["first_step_seconds"] = time.perf_counter() - step_start
                stats["startup_seconds"] = startup = process_seconds()
                took = stats["first_step_seconds"]
                log.info(f"first training step done {startup:.1f} s after the process started; it took {took:.1f} s")
        train_loss = float(total) / n_steps  # one host sync per epoch
        seconds = time.perf_counter() - t0
        if not math.isfinite(train_loss):
            raise LbrError(
                f"the training loss became {train_loss} in epoch {epoch}; lower the learning rate or check "
                "the input data for NaN/inf values."
            )
        row = {"epoch": epoch, "train_loss": train_loss, "lr": sched.get_last_lr()[0], "seconds": seconds}
        row |= {f"train_{name}": float(value) / n_steps for name, value in terms.items()}
        if _eval_due(cfg, epoch):
            model.eval()
            with torch.no_grad(), autocast:
                row |= task.evaluate(model, epoch)
        if on_epoch_end is not None:
            model.eval()
            on_epoch_end(model, epoch, row)
        history.append(row)
        described = " ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k != "epoch")
        log.info("epoch %d/%d %s", epoch + 1, cfg.epochs, described)
        done_here += 1
        last = epoch == cfg.epochs - 1
        preempt = stop_after is not None and done_here >= stop_after
        due = cfg.checkpoint_minutes > 0 and time.monotonic() - last_saved >= 60.0 * cfg.checkpoint_minutes
        if checkpoint is not None and not last and (preempt or due):
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
            save_checkpoint(checkpoint, state | {"epoch": epoch, "history": history, "recipe": cfg.recipe()})
            last_saved = time.monotonic()
        if preempt and not last:
            break
    return history


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
