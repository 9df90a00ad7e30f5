"""Supervised guidance of a ResNet autoencoder (paper Figs. 5-6): same reconstruction, different perception.

One run trains `GuidedAutoencoder(L)` on reconstruction MSE (decoder(encoder(x)) against the augmented x)
plus the cross-entropies of two online probes on the code. Guidance 0: the probes read the code detached,
so they only measure what the encoder learned by reconstruction. Guidance g > 0: both probe losses are
multiplied by g and back-propagate into the encoder. Images stay on the device as uint8; each batch gets
the authors' RandomResizedCrop(scale .5-1) + flip + RandomGrayscale(.2) on the device, validation a
center crop (`lbr.training.resized_views`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lbr.config.settings import GuidanceSettings
from lbr.data import load_split
from lbr.data.subsets import draw_subset
from lbr.errors import LbrError
from lbr.io import save_json, save_npz
from lbr.machine.device import pick_device, seed_everything
from lbr.models import declared
from lbr.models.guided_autoencoder import GuidedAutoencoder, latent_grid
from lbr.training import resized_views as aug
from lbr.training.history import write_history
from lbr.training.loop import LoopConfig, fingerprint, fit
from lbr.training.policy import Policy, resolve

log = logging.getLogger(__name__)


class GuidanceTask:
    """Data on the device (N x C x H x W, as the policy stores them: uint8 pixels or pixels / 255) and the loss
    / evaluation of one guided autoencoder; `views` (the settings' image_size, scale, ratio, flip, grayscale,
    val_crop) turns images into network inputs."""

    def __init__(
        self,
        train: tuple[np.ndarray, np.ndarray],
        valid: tuple[np.ndarray, np.ndarray],
        n_classes: int,
        guidance: float,
        views: GuidanceSettings,
        device: torch.device,
        eval_batch_size: int,
        policy: Policy,
    ):
        latent_grid(views.image_size, views.stem)
        self.device, self.policy = device, policy
        self.x, self.y = self._to_device(*train)
        self.vx, self.vy = self._to_device(*valid)
        self.n_train = len(self.y)
        self.n_classes = n_classes
        self.guidance = float(guidance)
        self.views = views
        self.size = (views.image_size, views.image_size)
        self.eval_batch_size = eval_batch_size

    def _to_device(self, x: np.ndarray, y: np.ndarray):
        x = self.policy.store(torch.from_numpy(np.ascontiguousarray(x)).to(self.device), 255.0)
        return x.permute(0, 3, 1, 2), torch.from_numpy(np.asarray(y, np.int64)).to(self.device)

    @staticmethod
    def _pixels(x: torch.Tensor) -> torch.Tensor:
        """Stored images -> float32 in [0, 1]."""
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def train_batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        v = self.views
        x = aug.train_view(self._pixels(self.x[idx]), self.size, gen, v.scale, v.ratio, v.flip, v.grayscale)
        return self.policy.layout(x)

    def valid_view(self, stored: torch.Tensor) -> torch.Tensor:
        return self.policy.layout(aug.center_view(self._pixels(stored), self.size, self.views.val_crop))

    def losses(self, model, x: torch.Tensor, y: torch.Tensor) -> dict:
        recon, _, logits_linear, logits_mlp = model(x)
        rec = F.mse_loss(recon.float(), x.float())
        ce_linear = F.cross_entropy(logits_linear.float(), y)
        ce_mlp = F.cross_entropy(logits_mlp.float(), y)
        weight = self.guidance if self.guidance > 0 else 1.0
        return {
            "loss": rec + weight * (ce_linear + ce_mlp),
            "recon": rec,
            "ce_linear": ce_linear,
            "ce_mlp": ce_mlp,
            "acc_linear": (logits_linear.argmax(1) == y).float().mean(),
            "acc_mlp": (logits_mlp.argmax(1) == y).float().mean(),
        }

    def loss(self, model, idx: torch.Tensor, gen: torch.Generator) -> dict:
        return self.losses(model, self.train_batch(idx, gen), self.y[idx])

    def evaluate(self, model, epoch: int) -> dict:
        n = len(self.vy)
        sq_err = torch.zeros((), device=self.device, dtype=torch.float64)
        ce = torch.zeros(2, device=self.device, dtype=torch.float64)
        preds = []
        for start in range(0, n, self.eval_batch_size):
            stop = min(start + self.eval_batch_size, n)
            x, y = self.valid_view(self.vx[start:stop]), self.vy[start:stop]
            recon, _, logits_linear, logits_mlp = model(x)
            sq_err += ((recon.float() - x.float()) ** 2).sum(dtype=torch.float64)
            ce[0] += F.cross_entropy(logits_linear.float(), y, reduction="sum").double()
            ce[1] += F.cross_entropy(logits_mlp.float(), y, reduction="sum").double()
            preds.append(torch.stack([logits_linear.argmax(1), logits_mlp.argmax(1)]))
        pred = torch.cat(preds, 1)
        out = {"valid_recon": float(sq_err) / (n * self.vx.shape[1] * self.size[0] * self.size[1])}
        for k, head in enumerate(("linear", "mlp")):
            top1, macro = accuracies(pred[k], self.vy, self.n_classes)
            out |= {f"valid_acc_{head}": top1, f"valid_acc_{head}_macro": macro, f"valid_ce_{head}": float(ce[k]) / n}
        return out

    @torch.no_grad()
    def reconstructions(self, model, indices: np.ndarray) -> dict:
        """Validation inputs and their reconstructions as uint8 N x H x W x C (for the figure)."""
        model.eval()
        idx = torch.as_tensor(indices, device=self.device)
        x = self.valid_view(self.vx[idx])
        with self.policy.autocast_context(self.device):
            recon = model(x)[0].float()
        to_u8 = lambda t: (t.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()  # noqa: E731
        return {"x": to_u8(x), "recon": to_u8(recon), "y": self.vy[idx].cpu().numpy(), "index": np.asarray(indices)}


def accuracies(pred: torch.Tensor, y: torch.Tensor, n_classes: int) -> tuple[float, float]:
    """Top-1 accuracy, and the macro average of per-class recalls over classes present in y."""
    correct = (pred == y).double()
    top1 = float(correct.mean())
    count = torch.bincount(y, minlength=n_classes).double()
    hits = torch.bincount(y, weights=correct, minlength=n_classes)
    present = count > 0
    return top1, float((hits[present] / count[present]).mean())


def recon_indices(n_valid: int, count: int) -> np.ndarray:
    """Evenly spaced validation images, the same for every run so that figures compare like with like."""
    return np.unique(np.linspace(0, n_valid - 1, min(count, n_valid)).round().astype(np.int64))


def run_experiment(
    train_path: str | Path,
    valid_path: str | Path,
    outputs: dict,
    settings: GuidanceSettings,
    checkpoint: str | Path,
    stop_after: int | None = None,
) -> dict | None:
    """Train one (latent, guidance, seed) run, resuming from `checkpoint`; write history, metrics, recon.

    `outputs` maps history / metrics / recon to paths. Returns the metrics (None when `stop_after`
    interrupted the run, which then leaves only the checkpoint, as a killed job would). With
    `guidance.train_subset` it trains on that class-balanced subset of the train split (`lbr.data.subsets`);
    validation stays whole.
    """
    s = settings
    device = pick_device(s.device)
    x_tr, y_tr, classes = load_split(train_path)
    x_va, y_va, classes_va = load_split(valid_path)
    if classes != classes_va:
        raise LbrError(f"{train_path} and {valid_path} list different classes; prepare both splits together.")
    subset = draw_subset(y_tr, s.train_subset, s.subset_seed, "guidance.train_subset")
    x_tr, y_tr = subset.rows(x_tr), y_tr[subset.indices]
    policy = resolve(s, device, fast_storage="uint8")
    cfg = LoopConfig.of(s, policy, data=fingerprint({"job": s.recipe(), "subset": subset.data_key}))
    if x_tr.shape[1] < 8 or x_tr.shape[2] < 8:
        raise LbrError(f"images of {train_path} are {x_tr.shape[1]}x{x_tr.shape[2]}; the crops need at least 8x8.")
    task = GuidanceTask((x_tr, y_tr), (x_va, y_va), len(classes), s.guidance, s, device, s.eval_batch_size, policy)
    seed_everything(cfg.seed)
    if s.model is None:
        model = GuidedAutoencoder(
            s.latent,
            len(classes),
            s.image_size,
            s.width,
            x_tr.shape[3],
            s.guidance,
            s.encoder_blocks,
            s.decoder_blocks,
            s.stem,
        )
    else:  # the user's autoencoder, its N x L codes read by our two probes
        shape = (x_tr.shape[3], s.image_size, s.image_size)
        batch = task.valid_view(task.vx[: declared.CHECK_IMAGES])
        autoencoder = declared.autoencoder(s.arch, s.model, shape, s.latent, batch, code_shape=(s.latent,))
        model = declared.ProbedAutoencoder(autoencoder, s.latent, len(classes), s.guidance)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        f"guided AE: L={s.latent} guidance={s.guidance} seed={s.seed}, {len(y_tr)} train / {len(y_va)} valid images "
        f"{x_tr.shape[1:3]} -> {s.image_size} px (stem {s.stem}), {n_params / 1e6:.1f}M parameters, {device}"
    )
    stats: dict = {}
    with policy.precision():
        history = fit(model, task, cfg, device, checkpoint=checkpoint, stop_after=stop_after, stats=stats)
        if len(history) < cfg.epochs:
            return None
        rec = task.reconstructions(model, recon_indices(len(y_va), s.n_reconstructions))
    final = next(r for r in reversed(history) if "valid_recon" in r)
    metrics = {
        "arch": s.arch,
        "latent": s.latent,
        "guidance": s.guidance,
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "image_size": s.image_size,
        "stem": s.stem,
        "width": s.width,
        **subset.record(),
        "n_valid": len(y_va),
        "device": str(device),
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])),
        "train_recon": history[-1]["train_recon"],
        **policy.record(),
        **stats,
        **{k: v for k, v in final.items() if k.startswith("valid_")},
    }
    write_history(outputs["history"], history)
    save_npz(outputs["recon"], **rec, classes=np.asarray(classes, dtype=str))
    save_json(outputs["metrics"], metrics)
    if not s.keep_checkpoint:
        Path(checkpoint).unlink(missing_ok=True)
    return metrics
