"""One learning-dynamics job (paper Fig. 3): train an autoencoder with the shared loop and record, after every
measured epoch, the energy of its reconstructions along each eigen-direction of the training images.

Resumable: the loop checkpoints the model, and the energies measured so far are kept in a sidecar file
written atomically after each measurement; both are removed once the final results exist.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lbr.data.subsets import draw_subset
from lbr.device import seed_everything
from lbr.errors import LbrError
from lbr.io import save_npz
from lbr.models import declared
from lbr.models.autoencoders import build_autoencoder
from lbr.settings import DynamicsSettings
from lbr.spectral import direction_energy as dyn
from lbr.spectral.accumulate import chunks
from lbr.training.history import write_history
from lbr.training.loop import LoopConfig, fingerprint, fit
from lbr.training.policy import Policy, resolve

log = logging.getLogger(__name__)

INIT_EPOCH = -1


class ReconstructionTask:
    """MSE between images in [0, 1] and their reconstructions; the N x H x W x C images live on the device as the
    policy stores them (uint8 pixels, or pixels / 255 in float16 or float32)."""

    def __init__(self, train: torch.Tensor, test: torch.Tensor, eval_batch: int, policy: Policy):
        self.train, self.test = policy.store(train, 255.0), policy.store(test, 255.0)
        self.eval_batch, self.policy = eval_batch, policy
        self.n_train = len(train)

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """Stored images -> float32 N x C x H x W in [0, 1], in the policy's layout."""
        return self.policy.layout(dyn.model_input(images))

    def loss(self, model, idx, gen):
        x = self.inputs(self.train[idx])
        return F.mse_loss(model(x).float(), x)

    def evaluate(self, model, epoch):
        total = 0.0
        for sl in chunks(len(self.test), self.eval_batch):
            x = self.inputs(self.test[sl])
            total += float(F.mse_loss(model(x).float(), x, reduction="sum"))
        return {"test_mse": total / self.test[0].numel() / len(self.test)}


class EnergyRecorder:
    """`on_epoch_end` callback: measures the direction energies at chosen epochs and keeps them in a sidecar.

    The measured images are the exact pixels; the model runs under the job's autocast, as in training, and its
    reconstructions are projected in float32."""

    def __init__(self, images, vectors, epochs: set[int], batch: int, sidecar: Path, policy: Policy, device):
        self.images, self.vectors, self.epochs, self.batch, self.sidecar = images, vectors, epochs, batch, sidecar
        self.policy, self.device = policy, device
        self.records: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if sidecar.exists():
            with np.load(sidecar, allow_pickle=False) as z:
                self.records = {int(e): (z["energy"][i], z["error"][i]) for i, e in enumerate(z["epochs"])}

    def reconstruct(self, model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        with self.policy.autocast_context(self.device):
            return model(self.policy.layout(dyn.model_input(batch))).float()

    def measure(self, model: torch.nn.Module, epoch: int) -> float:
        model.eval()
        energy, error = dyn.direction_energy(
            lambda b: self.reconstruct(model, b), self.images, self.vectors, self.batch
        )
        self.records[epoch] = (energy, error)
        epochs = sorted(self.records)
        save_npz(
            self.sidecar,
            epochs=np.asarray(epochs, dtype=np.int64),
            energy=np.stack([self.records[e][0] for e in epochs]),
            error=np.stack([self.records[e][1] for e in epochs]),
        )
        return float(error.sum() / len(error))

    def __call__(self, model, epoch, row):
        if epoch in self.epochs:
            row["measure_mse"] = self.measure(model, epoch)


def measurement_indices(n: int, size: int | None, seed: int) -> np.ndarray:
    """All training images, or a seeded random subset of `size` of them (sorted)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def run(
    x_train: np.ndarray,
    x_test: np.ndarray,
    settings: DynamicsSettings,
    device: torch.device,
    out_energies: str | Path,
    out_history: str | Path,
    stop_after: int | None = None,
    y_train: np.ndarray | None = None,
) -> dict | None:
    """Train one autoencoder and write its direction energies (npz) and per-epoch history (csv).

    Energies are measured on the untrained model (epoch -1) and after every epoch. `stop_after` ends the
    call after that many epochs without writing results (a simulated preemption; the next call resumes).
    With `dynamics.train_subset` the run trains on that class-balanced subset of x_train (drawn from the
    labels `y_train`, `lbr.data.subsets`) and measures within it; the energies file records the subset
    (train_subset -1 = null, the whole split).
    """
    out_dir = Path(out_energies).parent
    checkpoint, sidecar = out_dir / "checkpoint.pt", out_dir / "energies.partial.npz"
    if x_train.ndim != 4:
        raise LbrError(f"training images must be N x H x W x C, not shape {x_train.shape}.")
    if settings.train_subset is not None and y_train is None:
        raise LbrError("dynamics.train_subset is set but no training labels were given to draw it from.")
    if y_train is not None and len(y_train) != len(x_train):
        raise LbrError(f"{len(x_train)} training images but {len(y_train)} labels; prepare the dataset again.")
    labels = np.zeros(len(x_train), np.int64) if y_train is None else np.asarray(y_train)
    subset = draw_subset(labels, settings.train_subset, settings.subset_seed, "dynamics.train_subset")
    x_train = subset.rows(x_train)
    t0 = time.time()
    train = torch.as_tensor(x_train).to(device)
    test = torch.as_tensor(x_test).to(device)
    chosen = measurement_indices(len(train), settings.measure_images, settings.seed)
    images = train if len(chosen) == len(train) else train[torch.as_tensor(chosen, device=device)]
    eigenvalues, vectors = dyn.eigenbasis(images)
    if len(images) < vectors.shape[0]:
        n, d = len(images), vectors.shape[0]
        log.warning(
            f"only {n} measurement images for D={d} pixels: the bottom {d - n} directions are an arbitrary basis "
            "of the null space; raise dynamics.measure_images"
        )
    log.info("eigenbasis of X^T X from %d images (D=%d) in %.1f s", len(images), vectors.shape[0], time.time() - t0)
    seed_everything(settings.seed)
    h, w, c = x_train.shape[1:]
    if settings.model is None:
        model = build_autoencoder(settings.arch, (c, h, w), settings.latent, settings.depth).to(device)
    else:  # the user's, checked on one batch; depth passed when its factory takes it
        batch = dyn.model_input(train[: declared.CHECK_IMAGES])
        model = declared.autoencoder(settings.arch, settings.model, (c, h, w), settings.latent, batch, settings.depth)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(f"{settings.arch} depth {settings.depth} latent {settings.latent}: {n_params} parameters")
    policy = resolve(settings, device, fast_storage="uint8")
    epochs = set(range(settings.epochs))
    recorder = EnergyRecorder(images, vectors, epochs, settings.measure_batch, sidecar, policy, device)
    task = ReconstructionTask(train, test, settings.measure_batch, policy)
    stats: dict = {}
    cfg = LoopConfig.of(settings, policy, data=fingerprint({"job": settings.recipe(), "subset": subset.data_key}))
    with policy.precision():  # float32 means IEEE float32 here too, not cuDNN's default TF32
        if INIT_EPOCH not in recorder.records:
            recorder.measure(model, INIT_EPOCH)
        history = fit(model, task, cfg, device, checkpoint, recorder, stop_after=stop_after, stats=stats)
    if len(history) < settings.epochs:
        return None
    epochs = sorted(recorder.records)
    result = {
        "epochs": np.asarray(epochs, dtype=np.int64),
        "eigenvalues": eigenvalues.cpu().numpy(),
        "energy": np.stack([recorder.records[e][0] for e in epochs]),
        "error": np.stack([recorder.records[e][1] for e in epochs]),
        "arch": np.asarray(settings.arch),
        "depth": np.int64(settings.depth),
        "latent": np.int64(settings.latent),
        "n_images": np.int64(len(images)),
        "image_shape": np.asarray(x_train.shape[1:]),
        "trained_epochs": np.int64(settings.epochs),
        "train_subset": np.int64(-1 if settings.train_subset is None else settings.train_subset),
        "subset_seed": np.int64(subset.seed),
        "n_train": np.int64(len(subset.indices)),
        "subset_sha": np.asarray(subset.sha),
        "policy": np.asarray(json.dumps(policy.record())),
        **{k: np.float64(v) for k, v in stats.items()},
    }
    save_npz(out_energies, **result)
    write_history(out_history, history)
    if not settings.keep_checkpoint:
        checkpoint.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
    log.info("done in %.1f s", time.time() - t0)
    return result
