"""One learning-dynamics job: train an autoencoder with the shared loop and record, after every measured epoch,
the energy of its reconstructions along each eigen-direction of the training images (paper Fig. 3).

The same job trains the denoising autoencoders of Fig. 10 (settings `DenoisingAESettings`): the input of every
training batch is corrupted by the run's noise (`lbr.theory.noise`, drawn on the device from the epoch's seeded
generator, in the closed forms' standardized coordinates: the train split's mean image and global pixel std), the
target stays the clean image, and at the probe epochs a closed-form ridge probe (`lbr.training.probe`) of the code
`encode(x)` of clean images is fitted on the training images and scored on the test split. Energies are always
those of clean inputs' reconstructions.

Resumable: the loop checkpoints the model, and the energies (and probe accuracies) measured so far are kept in
sidecar files written atomically after each measurement; all are removed once the final results exist.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lbr.config.settings import DenoisingAESettings, DynamicsSettings
from lbr.data.subsets import draw_subset
from lbr.errors import LbrError
from lbr.io import save_npz
from lbr.machine.device import seed_everything
from lbr.models import declared
from lbr.models.autoencoders import build_autoencoder
from lbr.spectral import direction_energy as dyn
from lbr.spectral.accumulate import chunks
from lbr.spectral.pixels import standardization
from lbr.theory.noise import NoiseSpec
from lbr.theory.pca_mask import Components
from lbr.training import probe as ridge_probe
from lbr.training.history import write_history
from lbr.training.loop import LoopConfig, fingerprint, fit
from lbr.training.policy import Policy, resolve

log = logging.getLogger(__name__)

INIT_EPOCH = -1


class ReconstructionTask:
    """MSE between images in [0, 1] and their reconstructions; the N x H x W x C images live on the device as the
    policy stores them (uint8 pixels, or pixels / 255 in float16 or float32).

    With a `noise` (and the `frame` of its standardized coordinates: mean image 1 x C x H x W, global std; for a
    pca_mask also the principal `components` of those pixels) the model sees each training batch corrupted, drawn
    from the epoch's generator, and is scored against the clean batch (a denoising autoencoder); evaluation
    reconstructs clean test images."""

    def __init__(
        self,
        train: torch.Tensor,
        test: torch.Tensor,
        eval_batch: int,
        policy: Policy,
        noise: NoiseSpec | None = None,
        frame: tuple[torch.Tensor, float] | None = None,
        components: Components | None = None,
    ):
        self.train, self.test = policy.store(train, 255.0), policy.store(test, 255.0)
        self.eval_batch, self.policy = eval_batch, policy
        self.n_train = len(train)
        self.noise = noise if noise is not None and not noise.clean else None
        if self.noise is not None and frame is None:
            raise LbrError("a noisy reconstruction task needs the mean image and std of its standardized pixels.")
        self.frame = frame
        self.components = components  # a pca_mask's principal components of the standardized train pixels

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """Stored images -> float32 N x C x H x W in [0, 1], in the policy's layout."""
        return self.policy.layout(dyn.model_input(images))

    def loss(self, model, idx, gen):
        x = self.inputs(self.train[idx])
        if self.noise is None:
            return F.mse_loss(model(x).float(), x)
        mean, std = self.frame
        noisy = self.policy.layout(self.noise.corrupt(x, gen, mean, std, components=self.components))
        return F.mse_loss(model(noisy).float(), x)

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


class ProbeRecorder:
    """`on_epoch_end` callback: at chosen epochs, the test accuracy of a ridge probe (`lbr.training.probe`) of the
    model's code of clean images, fitted on the training images; kept in a sidecar as the energies are.

    The code is `encode(x)` flattened per image, computed under the job's autocast as in training and probed in
    float64."""

    def __init__(self, train, y_train, test, y_test, n_classes, epochs, ridge, batch, sidecar, policy, device):
        self.train, self.test, self.batch = train, test, batch
        self.y_train = torch.as_tensor(np.asarray(y_train), dtype=torch.int64, device=device)
        self.y_test = torch.as_tensor(np.asarray(y_test), dtype=torch.int64, device=device)
        self.n_classes, self.epochs, self.ridge, self.sidecar = n_classes, set(epochs), ridge, sidecar
        self.policy, self.device = policy, device
        self.records: dict[int, tuple[float, int]] = {}
        if sidecar.exists():
            with np.load(sidecar, allow_pickle=False) as z:
                self.records = {int(e): (float(a), int(f)) for e, a, f in zip(z["epochs"], z["acc"], z["features"])}

    def codes(self, model: torch.nn.Module, images: torch.Tensor):
        """The flattened float32 codes of `images`, batch by batch."""
        with torch.no_grad():
            for sl in chunks(len(images), self.batch):
                with self.policy.autocast_context(self.device):
                    code = model.encode(self.policy.layout(dyn.model_input(images[sl])))
                yield code.float().reshape(len(code), -1)

    def measure(self, model: torch.nn.Module, epoch: int) -> float:
        model.eval()
        fitted = ridge_probe.fit(self.codes(model, self.train), self.y_train, self.n_classes, self.ridge)
        acc = fitted.accuracy(self.codes(model, self.test), self.y_test)
        self.records[epoch] = (acc, int(fitted.weights.shape[0]))
        epochs = sorted(self.records)
        save_npz(
            self.sidecar,
            epochs=np.asarray(epochs, dtype=np.int64),
            acc=np.asarray([self.records[e][0] for e in epochs]),
            features=np.asarray([self.records[e][1] for e in epochs], dtype=np.int64),
        )
        return acc

    def __call__(self, model, epoch, row):
        if epoch in self.epochs:
            row["probe_acc"] = self.measure(model, epoch)


def callbacks(*steps):
    """One `on_epoch_end` that runs each of `steps` in turn (None entries skipped)."""
    steps = [s for s in steps if s is not None]

    def each(model, epoch, row):
        for step in steps:
            step(model, epoch, row)

    return each


def noise_frame(x_train: np.ndarray, device) -> tuple[torch.Tensor, float]:
    """The standardized coordinates of the noise (`lbr.theory.noise`): the train split's mean image as a
    1 x C x H x W float32 tensor on `device`, and the global pixel std, as the closed forms standardize."""
    mean, std = standardization(x_train)
    return torch.as_tensor(mean, dtype=torch.float32, device=device).permute(2, 0, 1)[None], std


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
    y_test: np.ndarray | None = None,
    n_classes: int | None = None,
) -> dict | None:
    """Train one autoencoder and write its direction energies (npz) and per-epoch history (csv).

    Energies are measured on the untrained model (epoch -1) and after every epoch. `stop_after` ends the
    call after that many epochs without writing results (a simulated preemption; the next call resumes).
    With `dynamics.train_subset` the run trains on that class-balanced subset of x_train (drawn from the
    labels `y_train`, `lbr.data.subsets`) and measures within it; the energies file records the subset
    (train_subset -1 = null, the whole split). With `DenoisingAESettings` (Fig. 10) the inputs are corrupted by
    its noise and the code is probed at its probe epochs (-1 = the untrained model), which needs the labels of
    both splits and `n_classes`; the file then also holds noise, noise_std, probe_epochs, probe_acc, n_features.
    """
    denoising = isinstance(settings, DenoisingAESettings)
    if denoising and (y_train is None or y_test is None or n_classes is None):
        raise LbrError("a denoising run probes its code, so it needs the training and test labels and n_classes.")
    noise = NoiseSpec.from_dict(settings.noise) if denoising else None
    out_dir = Path(out_energies).parent
    checkpoint, sidecar = out_dir / "checkpoint.pt", out_dir / "energies.partial.npz"
    probe_sidecar = out_dir / "probe.partial.npz"
    if x_train.ndim != 4:
        raise LbrError(f"training images must be N x H x W x C, not shape {x_train.shape}.")
    if settings.train_subset is not None and y_train is None:
        raise LbrError("dynamics.train_subset is set but no training labels were given to draw it from.")
    if y_train is not None and len(y_train) != len(x_train):
        raise LbrError(f"{len(x_train)} training images but {len(y_train)} labels; prepare the dataset again.")
    labels = np.zeros(len(x_train), np.int64) if y_train is None else np.asarray(y_train)
    subset = draw_subset(labels, settings.train_subset, settings.subset_seed, "dynamics.train_subset")
    t0 = time.time()
    frame, components = None, None
    if noise is not None and not noise.clean:
        noise.check_shape(x_train.shape[1:])
        frame = noise_frame(x_train, device)  # the whole split's, as the closed forms' standardized pixels
        log.info(f"noise {noise.label} in standardized pixels: train mean image, global std {frame[1]:.6g}")
        if noise.kind == "pca_mask":  # drawn in the PCA basis of the same pixels (lbr.theory.pca_mask)
            components = Components.of_images(x_train, device)
    x_train = subset.rows(x_train)
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
    prober = None
    if denoising:
        args = (subset.rows(labels), test, y_test, n_classes, settings.probe_epochs, settings.probe_ridge)
        prober = ProbeRecorder(train, *args, settings.measure_batch, probe_sidecar, policy, device)
    task = ReconstructionTask(train, test, settings.measure_batch, policy, noise, frame, components)
    stats: dict = {}
    cfg = LoopConfig.of(settings, policy, data=fingerprint({"job": settings.recipe(), "subset": subset.data_key}))
    with policy.precision():  # float32 means IEEE float32 here too, not cuDNN's default TF32
        if INIT_EPOCH not in recorder.records:
            recorder.measure(model, INIT_EPOCH)
        if prober is not None and INIT_EPOCH in prober.epochs and INIT_EPOCH not in prober.records:
            prober.measure(model, INIT_EPOCH)
        on_epoch_end = callbacks(recorder, prober)
        history = fit(model, task, cfg, device, checkpoint, on_epoch_end, stop_after=stop_after, stats=stats)
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
    if prober is not None:
        probed = sorted(prober.records)
        result |= {
            "noise": np.asarray(noise.label),
            "noise_std": np.float64(frame[1] if frame is not None else np.nan),
            "seed": np.int64(settings.seed),
            "probe_ridge": np.float64(settings.probe_ridge),
            "probe_epochs": np.asarray(probed, dtype=np.int64),
            "probe_acc": np.asarray([prober.records[e][0] for e in probed]),
            "n_features": np.int64(prober.records[probed[-1]][1]),
        }
    save_npz(out_energies, **result)
    write_history(out_history, history)
    if not settings.keep_checkpoint:
        checkpoint.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        probe_sidecar.unlink(missing_ok=True)
    log.info("done in %.1f s", time.time() - t0)
    return result
