"""Supervised guidance of a ResNet autoencoder (paper Figs. 5-6): same reconstruction, different perception.

One run trains `GuidedAutoencoder(L)` on reconstruction MSE (decoder(encoder(x)) against the augmented x)
plus the cross-entropies of two online probes on the code. Guidance 0: the probes read the code detached,
so they only measure what the encoder learned by reconstruction. Guidance g > 0: both probe losses are
multiplied by g and back-propagate into the encoder. Images stay on the device as uint8; each batch gets
the authors' RandomResizedCrop(scale .5-1) + flip + RandomGrayscale(.2) on the device, validation a
center crop (`lbr.augment_resized`).
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lbr import augment_resized as aug
from lbr.datasets import load_split
from lbr.datasets.registry import DatasetSpec
from lbr.device import pick_device, seed_everything
from lbr.errors import LbrError
from lbr.io import save_json, save_npz, save_text
from lbr.models.resnet_ae import DECODER_BLOCKS, ENCODER_BLOCKS, GuidedAutoencoder, latent_grid
from lbr.train import LoopConfig, fit

log = logging.getLogger("lbr.guidance")

# settings that change how a run executes, not what it computes: kept out of the rule's params so that
# changing them does not retrain (Snakemake reruns jobs whose params changed)
RUNTIME_KEYS = ("device", "keep_checkpoint", "eval_batch_size", "compile")
TABLE_COLUMNS = ["latent", "guidance", "epoch", "split", "recon_loss", "acc_linear", "acc_mlp"]
EXTRA_COLUMNS = ["dataset", "seed", "acc_linear_macro", "acc_mlp_macro", "ce_linear", "ce_mlp"]


@dataclass(frozen=True)
class Views:
    """How images become network inputs: training augmentation and the validation crop."""

    image_size: int = 224
    scale: tuple[float, float] = (0.5, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: float = 0.5
    grayscale: float = 0.2
    val_crop: float = 0.875


def format_guidance(value: float) -> str:
    """Path form of a guidance weight: 0 -> '0', 0.01 -> '0.01'."""
    return f"{float(value):g}"


def run_dir(dataset: str, latent: int, guidance: float, seed: int) -> str:
    return f"results/guidance/{dataset}/L{int(latent)}/g{format_guidance(guidance)}/seed{int(seed)}"


def resized_options(spec: DatasetSpec, options: dict, size: int) -> dict:
    """Dataset options that prepare this experiment's own copy with side `size` (a square, full short side)."""
    if spec.name == "imagenette":
        return dict(options) | {"size": int(size), "resize": int(size)}
    if spec.name == "synthetic":
        return dict(options) | {"height": int(size), "width": int(size)}
    if spec.kind == "custom" and spec.reader == "folder":
        return dict(options) | {"size": int(size)}
    raise LbrError(
        f"guidance.source_size can re-prepare only imagenette, synthetic and folder datasets, not '{spec.name}'; "
        "set guidance.source_size to null to train on results/data/<dataset> as prepared."
    )


class GuidanceTask:
    """Data on the device (uint8 N x C x H x W) and the loss / evaluation of one guided autoencoder."""

    def __init__(
        self,
        train: tuple[np.ndarray, np.ndarray],
        valid: tuple[np.ndarray, np.ndarray],
        n_classes: int,
        guidance: float,
        views: Views,
        device: torch.device,
        eval_batch_size: int = 256,
    ):
        latent_grid(views.image_size)
        self.device = device
        self.x, self.y = self._to_device(*train)
        self.vx, self.vy = self._to_device(*valid)
        self.n_train = len(self.y)
        self.n_classes = n_classes
        self.guidance = float(guidance)
        self.views = views
        self.size = (views.image_size, views.image_size)
        self.eval_batch_size = eval_batch_size
        self.channels_last = device.type == "cuda"

    def _to_device(self, x: np.ndarray, y: np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).to(self.device)
        return x, torch.from_numpy(np.asarray(y, np.int64)).to(self.device)

    def _ready(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def train_batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        v = self.views
        x = self.x[idx].float().div_(255.0)
        return self._ready(aug.train_view(x, self.size, gen, v.scale, v.ratio, v.flip, v.grayscale))

    def valid_batch(self, start: int, stop: int) -> torch.Tensor:
        x = self.vx[start:stop].float().div_(255.0)
        return self._ready(aug.center_view(x, self.size, self.views.val_crop))

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
            x, y = self.valid_batch(start, stop), self.vy[start:stop]
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
        x = self._ready(aug.center_view(self.vx[idx].float().div_(255.0), self.size, self.views.val_crop))
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


def loop_config(settings: dict) -> LoopConfig:
    return LoopConfig(
        epochs=int(settings["epochs"]),
        batch_size=int(settings["batch_size"]),
        lr=float(settings["lr"]),
        weight_decay=float(settings["weight_decay"]),
        optimizer=settings["optimizer"],
        schedule="onecycle",
        pct_start=float(settings["pct_start"]),
        drop_last=True,
        seed=int(settings["seed"]),
        checkpoint_every=int(settings["checkpoint_every"]),
        eval_every=int(settings["eval_every"]),
        compile=bool(settings["compile"]),
    )


def views(settings: dict) -> Views:
    return Views(
        image_size=int(settings["image_size"]),
        scale=tuple(float(s) for s in settings["scale"]),
        ratio=tuple(float(r) for r in settings["ratio"]),
        flip=float(settings["flip"]),
        grayscale=float(settings["grayscale"]),
        val_crop=float(settings["val_crop"]),
    )


def recon_indices(n_valid: int, count: int) -> np.ndarray:
    """Evenly spaced validation images, the same for every run so that figures compare like with like."""
    return np.unique(np.linspace(0, n_valid - 1, min(count, n_valid)).round().astype(np.int64))


def run_experiment(
    train_path: str | Path,
    valid_path: str | Path,
    outputs: dict,
    settings: dict,
    checkpoint: str | Path,
    stop_after: int | None = None,
) -> dict | None:
    """Train one (latent, guidance, seed) run, resuming from `checkpoint`; write history, metrics, recon.

    `outputs` maps history / metrics / recon to paths. Returns the metrics (None when `stop_after`
    interrupted the run, which then leaves only the checkpoint, as a killed job would).
    """
    device = pick_device(settings.get("device", "auto"))
    x_tr, y_tr, classes = load_split(train_path)
    x_va, y_va, classes_va = load_split(valid_path)
    if classes != classes_va:
        raise LbrError(f"{train_path} and {valid_path} list different classes; prepare both splits together.")
    v = views(settings)
    cfg = loop_config(settings)
    if x_tr.shape[1] < 8 or x_tr.shape[2] < 8:
        raise LbrError(f"images of {train_path} are {x_tr.shape[1]}x{x_tr.shape[2]}; the crops need at least 8x8.")
    seed_everything(cfg.seed)
    model = GuidedAutoencoder(
        int(settings["latent"]), len(classes), v.image_size, int(settings["width"]), x_tr.shape[3],
        float(settings["guidance"]), tuple(settings.get("encoder_blocks", ENCODER_BLOCKS)),
        tuple(settings.get("decoder_blocks", DECODER_BLOCKS)),
    )  # fmt: skip
    task = GuidanceTask((x_tr, y_tr), (x_va, y_va), len(classes), float(settings["guidance"]), v, device,
                        int(settings["eval_batch_size"]))  # fmt: skip
    log.info(
        "guided AE: L=%s guidance=%s seed=%s, %d train / %d valid images %s -> %d px, %.1fM parameters, %s",
        settings["latent"], settings["guidance"], cfg.seed, len(y_tr), len(y_va), x_tr.shape[1:3], v.image_size,
        sum(p.numel() for p in model.parameters()) / 1e6, device,
    )  # fmt: skip
    history = fit(model, task, cfg, device, checkpoint=checkpoint, stop_after=stop_after)
    if len(history) < cfg.epochs:
        return None
    rec = task.reconstructions(model, recon_indices(len(y_va), int(settings["n_reconstructions"])))
    final = next(r for r in reversed(history) if "valid_recon" in r)
    metrics = {
        "latent": int(settings["latent"]),
        "guidance": float(settings["guidance"]),
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "image_size": v.image_size,
        "width": int(settings["width"]),
        "n_train": len(y_tr),
        "n_valid": len(y_va),
        "device": str(device),
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])),
        "train_recon": history[-1]["train_recon"],
        **{k: v for k, v in final.items() if k.startswith("valid_")},
    }
    save_text(outputs["history"], history_csv(history))
    save_npz(outputs["recon"], **rec, classes=np.asarray(classes, dtype=str))
    save_json(outputs["metrics"], metrics)
    if not settings.get("keep_checkpoint", False):
        Path(checkpoint).unlink(missing_ok=True)
    return metrics


def history_csv(history: list[dict]) -> str:
    """Per-epoch log as CSV; epoch counts completed epochs (1-based); absent validation cells are empty."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    lines = [",".join(columns)]
    for row in history:
        cells = []
        for k in columns:
            value = row.get(k, "")
            if k == "epoch":
                value = int(value) + 1
            cells.append(f"{value:.8g}" if isinstance(value, float) else str(value))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def read_history(path: str | Path) -> list[dict]:
    with open(path, newline="") as fh:
        return [{k: (float(v) if v != "" else math.nan) for k, v in row.items()} for row in csv.DictReader(fh)]


def table_rows(history: list[dict], dataset: str, latent: int, guidance: float, seed: int) -> list[dict]:
    """Tidy rows of one run: split 'train' every epoch (running means under augmentation), 'valid' when evaluated."""
    base = {"dataset": dataset, "latent": int(latent), "guidance": float(guidance), "seed": int(seed)}
    rows = []
    for r in history:
        epoch = int(r["epoch"])
        rows.append(base | {
            "epoch": epoch, "split": "train", "recon_loss": r["train_recon"], "acc_linear": r["train_acc_linear"],
            "acc_mlp": r["train_acc_mlp"], "acc_linear_macro": math.nan, "acc_mlp_macro": math.nan,
            "ce_linear": r["train_ce_linear"], "ce_mlp": r["train_ce_mlp"],
        })  # fmt: skip
        if not math.isnan(r.get("valid_recon", math.nan)):
            rows.append(base | {
                "epoch": epoch, "split": "valid", "recon_loss": r["valid_recon"],
                "acc_linear": r["valid_acc_linear"], "acc_mlp": r["valid_acc_mlp"],
                "acc_linear_macro": r["valid_acc_linear_macro"], "acc_mlp_macro": r["valid_acc_mlp_macro"],
                "ce_linear": r["valid_ce_linear"], "ce_mlp": r["valid_ce_mlp"],
            })  # fmt: skip
    return rows


def final_rows(rows: list[dict]) -> list[dict]:
    """Fig. 6: the last validation row of each (latent, guidance, seed)."""
    last: dict[tuple, dict] = {}
    for r in rows:
        if r["split"] == "valid":
            key = (r["latent"], r["guidance"], r["seed"])
            if key not in last or r["epoch"] >= last[key]["epoch"]:
                last[key] = r
    return [last[k] for k in sorted(last)]


def write_tables(histories: list[str], runs: list[dict], fig5_path: str, fig6_path: str) -> None:
    """Tidy tables of Figs. 5 and 6 from the runs' histories (`runs` in the same order as `histories`)."""
    import pandas as pd

    rows = []
    for path, run in zip(histories, runs, strict=True):
        rows += table_rows(read_history(path), run["dataset"], int(run["latent"]), float(run["guidance"]), int(run["seed"]))
    columns = TABLE_COLUMNS + EXTRA_COLUMNS
    curves = pd.DataFrame(rows, columns=columns).sort_values(["latent", "guidance", "seed", "split", "epoch"])
    final = pd.DataFrame(final_rows(rows), columns=columns)
    save_text(fig5_path, curves.to_csv(index=False, float_format="%.8g"))
    save_text(fig6_path, final.to_csv(index=False, float_format="%.8g"))
