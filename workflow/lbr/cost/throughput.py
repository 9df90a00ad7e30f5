"""How fast one GPU trains each architecture: documented estimates for an H100, or what `bench/gpu_check.py`
measured on your GPU (its gpu_check.json). Each rate is for one reference configuration; other sizes scale by
their FLOPs per image (`lbr.cost.flops`), capped, since small models run into per-step overheads instead.

The estimates and where each comes from are listed in ESTIMATES and docs/train.md; every number that `lbr plan`
and the Slurm runtimes derive from them is marked as an estimate until a measured file is given."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from lbr.cost import flops
from lbr.errors import LbrError

MAX_SPEEDUP = 8.0
"""A model with fewer FLOPs than its reference trains at most this much faster (launch and step overheads)."""


@dataclass(frozen=True)
class Throughput:
    """Training images per second of each reference configuration on one GPU, seconds per image of one Fig. 3
    energy measurement, a job's start-up seconds, and where each number comes from."""

    resnet9: float  # ResNet9, authors' widths, 32x32x3, batch 512, GPU policy with compile
    mlp: float  # the depth-4 MLP on the same data
    dcae: float  # DCAE depth 3, latent 512, 32x32x3, batch 256, float32 (no TF32)
    dcae_measure: float  # seconds per image of one energy measurement at D = 3072
    guidance: float  # guided ResNet34 autoencoder, L = 512, 224 px, batch 128, GPU policy with compile
    startup: float  # seconds from a training job's process start to the end of its first step (warm compile cache)
    device: str = "H100 (estimate)"
    origin: dict[str, str] = field(default_factory=dict)  # field -> "measured" | "estimate"

    def measured(self, name: str) -> bool:
        return self.origin.get(name) == "measured"

    def describe(self) -> str:
        got = [f.name for f in fields(self) if f.name in RATES and self.measured(f.name)]
        if not got:
            return "documented H100 estimates (docs/train.md), none measured"
        return f"measured on {self.device}: {', '.join(got)}; estimates for the rest"


RATES = ("resnet9", "mlp", "dcae", "dcae_measure", "guidance", "startup")
ESTIMATES = Throughput(
    resnet9=56_000.0,  # DESIGN.md anchor: one H100, torch 2.11, bf16, data on the GPU, torch.compile: 0.88 s/epoch
    mlp=200_000.0,  # no anchor: 0.05 GFLOP per image, bound by step overhead (about 2.5 ms per 512-image step)
    dcae=40_000.0,  # 0.30 GFLOP per image in IEEE float32 (about 60 TFLOP/s peak on an H100, 20 achieved)
    dcae_measure=1e-5,  # a forward pass (0.1 GFLOP) and a 3072 x 3072 float32 projection per image
    guidance=3_400.0,  # docs/guidance.md: 44 GFLOP per image, 2.6-2.9 s per Imagenette epoch (9,469 images)
    startup=30.0,  # imports, data to the device, compile from cache, cuDNN autotuning: 25-40 s estimated
    origin={name: "estimate" for name in RATES},
)
REFERENCE_FLOPS = {
    "resnet9": flops.training(flops.resnet9((3, 32, 32))),
    "mlp": flops.training(flops.mlp((3, 32, 32))),
    "dcae": flops.training(flops.dcae((3, 32, 32), 512, 3)),
    "guidance": flops.training(flops.guided_autoencoder(224, 64, 512)),
}
THROUGHPUT_KEYS = {  # gpu_check.json "throughput" key -> field
    "resnet9_images_per_s": "resnet9",
    "mlp_images_per_s": "mlp",
    "dcae_images_per_s": "dcae",
    "dcae_measure_seconds_per_image": "dcae_measure",
    "guidance_images_per_s": "guidance",
    "startup_seconds": "startup",
}


def images_per_second(table: Throughput, kind: str, flops_per_image: float) -> float:
    """Training images/s of a model of reference family `kind` (resnet9, mlp, dcae, guidance) that costs
    `flops_per_image` per training image: the reference's rate scaled by the FLOP ratio (at most MAX_SPEEDUP
    faster). The MLP's reference is bound by per-step overhead, not FLOPs, so an MLP runs at that rate unless its
    FLOPs at ResNet9's achieved FLOP rate take longer (the TinyImageNet MLP has 16x the FLOPs of CIFAR's)."""
    flops_per_image = max(flops_per_image, 1.0)
    if kind == "mlp":
        return min(table.mlp, table.resnet9 * REFERENCE_FLOPS["resnet9"] / flops_per_image)
    return getattr(table, kind) * min(MAX_SPEEDUP, REFERENCE_FLOPS[kind] / flops_per_image)


def load(path: str | Path | None, force: bool = False) -> Throughput:
    """The estimates, or the rates a gpu_check.json measured (estimates for what it did not measure). A record of
    a smoke run (toy sizes) or of a run on the CPU prices nothing a GPU does and is refused unless `force`."""
    if not path:
        return ESTIMATES
    path = Path(path)
    if not path.is_file():
        raise LbrError(
            f"the GPU throughput file {path} does not exist (relative paths start at the working directory); "
            "write it with `python bench/gpu_check.py --out DIR` on your GPU, or set gpu_throughput: null."
        )
    try:
        record = json.loads(path.read_text())
        measured = record.get("throughput") or {}
    except (json.JSONDecodeError, AttributeError) as err:
        raise LbrError(f"{path} is not a gpu_check.json ({err}); give the file bench/gpu_check.py wrote.") from None
    device = str(measured.get("device") or record.get("device") or "your GPU")
    if not force and (record.get("smoke") or device.lower() == "cpu" or device.lower().startswith("cpu ")):
        what = "a --smoke run (toy sizes)" if record.get("smoke") else "a run on the CPU"
        raise LbrError(
            f"{path} records {what}, whose rates say nothing about a GPU; give the gpu_check.json of a full run on "
            "your GPU (`python bench/gpu_check.py --out DIR` there), or pass --force to price from it anyway."
        )
    values, origin = {}, dict(ESTIMATES.origin)
    for key, name in THROUGHPUT_KEYS.items():
        value = measured.get(key)
        if isinstance(value, int | float) and value > 0:
            values[name], origin[name] = float(value), "measured"
    return Throughput(**{**{n: getattr(ESTIMATES, n) for n in RATES}, **values}, device=device, origin=origin)
