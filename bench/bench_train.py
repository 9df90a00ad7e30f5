"""Images/s of the project's training loop against a reference loop in the authors' style, same run, same machine.

Reference (authors' classification_pca.py): per-sample torchvision transforms RandomCrop(H, padding=H/8,
reflect) + RandomHorizontalFlip on float tensors, through a DataLoader (shuffle, drop_last, workers, pinned
memory), model on the device, AdamW + OneCycle, autocast. Project: `lbr.training.loop.fit` with
`lbr.training.classifier.ClassificationTask` (data resident on the device, batched on-device crop/flip) under a
numeric policy: `gpu` = float16 storage, bf16 autocast, channels_last, torch.compile + fused AdamW (what `auto`
means on a GPU), `gpu-eager` = the same without compile, `float32` = float32 eager (what `auto` means on a CPU).
Both train ResNet9 on random CIFAR-shaped data; the first epoch of each is left out of the rate (worker
start-up, cuDNN autotuning, compilation), and its extra time is printed as the first-epoch overhead.

    python bench/bench_train.py                                   # GPU: authors' widths, 3 epochs of 50k
    python bench/bench_train.py --device cpu --width 0.0625 --n-train 1024 --batch-size 128 --epochs 3 --workers 2

Imports only lbr, torch, torchvision and numpy (no Snakemake), so it runs on a bare GPU box.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from lbr import models  # noqa: E402
from lbr.machine.device import float32_math, pick_device  # noqa: E402
from lbr.training.classifier import ClassificationTask, crop_padding  # noqa: E402
from lbr.training.loop import LoopConfig, fit  # noqa: E402
from lbr.training.policy import FLOAT32_EAGER, Policy  # noqa: E402

POLICIES = {
    "float32": FLOAT32_EAGER,
    "gpu-eager": Policy(torch.float16, torch.bfloat16, channels_last=True, compile=False, compile_mode="default"),
    "gpu": Policy(torch.float16, torch.bfloat16, channels_last=True, compile=True, compile_mode="default"),
}


class PerSampleImages(torch.utils.data.Dataset):
    """The authors' style: one image at a time through torchvision transforms."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.transform(self.x[i]), self.y[i]


def reference_loop(x: np.ndarray, y: np.ndarray, args, device: torch.device) -> list[float]:
    """Seconds per epoch of the DataLoader + per-sample transform loop."""
    import torchvision.transforms as T

    h = x.shape[1]
    transform = T.Compose([T.RandomCrop(h, padding=crop_padding(h), padding_mode="reflect"), T.RandomHorizontalFlip()])
    images = torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    data = PerSampleImages(images, torch.from_numpy(y), transform)
    cuda = device.type == "cuda"
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=cuda,
        persistent_workers=args.workers > 0,
    )
    torch.manual_seed(0)
    model = models.build("resnet9", in_shape=tuple(images.shape[1:]), n_classes=args.classes, width=args.width)
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=args.epochs * len(loader))
    dtype = torch.bfloat16 if args.ref_amp == "bf16" else torch.float16
    amp = torch.autocast("cuda", dtype=dtype, enabled=cuda and args.ref_amp != "none")
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and args.ref_amp == "fp16")
    times = []
    model.train()
    with float32_math(tf32=cuda, cudnn_benchmark=cuda):  # what the project's GPU policy uses under autocast
        for _ in range(args.epochs):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for xb, yb in loader:
                xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                with amp:
                    loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return times


def project_loop(
    x: np.ndarray,
    y: np.ndarray,
    args,
    device: torch.device,
    policy: Policy,
    arch: str = "resnet9",
    stats: dict | None = None,
) -> list[float]:
    """Seconds per epoch of lbr.training.loop.fit on a ClassificationTask (per-epoch times measured by fit);
    `stats` receives fit's startup_seconds and first_step_seconds (compilation included)."""
    n_test = min(len(y), 1024)
    task = ClassificationTask(x, y, x[:n_test], y[:n_test], args.classes, device, True, "ce", 1024, policy)
    torch.manual_seed(0)
    model = models.build(arch, in_shape=task.in_shape, n_classes=args.classes, width=args.width)
    loop = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": 1e-3, "weight_decay": 1e-3, "eval_every": 0}
    cfg = LoopConfig(
        **loop,
        autocast=policy.autocast,
        channels_last=policy.channels_last,
        compile=policy.compile,
        compile_mode=args.compile_mode,
    )
    history = fit(model, task, cfg, device, stats=stats)
    return [row["seconds"] for row in history]


def rate(times: list[float], images_per_epoch: int) -> float:
    steady = times[1:] if len(times) > 1 else times
    return len(steady) * images_per_epoch / sum(steady)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--epochs", type=int, default=3, help="epochs per loop (the first is not timed when there are more)")
    p.add_argument("--n-train", type=int, default=50_000, help="images per epoch (CIFAR-10: 50000)")
    p.add_argument("--steps", type=int, default=0, help="steps per epoch (overrides --n-train: steps x batch size)")
    p.add_argument("--size", type=int, default=32, help="image side (32 = CIFAR, 64 = TinyImageNet)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--width", type=float, default=1.0, help="ResNet9 width multiplier (1.0 = authors' widths)")
    p.add_argument(
        "--workers",
        type=int,
        default=max(0, min(15, (os.cpu_count() or 1) - 1)),
        help="DataLoader workers of the reference loop (default: CPUs - 1, at most 15)",
    )
    p.add_argument(
        "--policies",
        default="auto",
        help=f"numeric policies of the project loop, comma-separated among {', '.join(POLICIES)} "
        "(auto: gpu on a GPU; float32,gpu on a CPU)",
    )
    p.add_argument("--compile-mode", default="default", help="torch.compile mode, e.g. max-autotune-no-cudagraphs")
    p.add_argument(
        "--ref-amp",
        choices=["bf16", "fp16", "none"],
        default="bf16",
        help="autocast of the reference on GPU (fp16 = the authors' precision=16, with loss scaling)",
    )
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave as is)")
    args = p.parse_args(argv)
    if args.steps:
        args.n_train = args.steps * args.batch_size
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n_train, args.size, args.size, 3), dtype=np.float32).astype(np.float16)
    y = rng.integers(0, args.classes, args.n_train).astype(np.int64)
    images = (args.n_train // args.batch_size) * args.batch_size
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    probe = models.build("resnet9", in_shape=(3, args.size, args.size), n_classes=args.classes, width=args.width)
    params = sum(p.numel() for p in probe.parameters())
    print(
        f"device: {name}; torch {torch.__version__}; ResNet9 width {args.width} ({params / 1e6:.2f}M parameters); "
        f"{args.epochs} epochs x {images} images of {args.size}x{args.size}x3, batch {args.batch_size}"
    )
    policies = (
        args.policies.split(",")
        if args.policies != "auto"
        else (["gpu"] if device.type == "cuda" else ["float32", "gpu"])
    )
    results = {}
    if not args.skip_reference:
        t = reference_loop(x.astype(np.float32), y, args, device)
        results["reference"] = rate(t, images)
        print(
            f"reference (DataLoader, {args.workers} workers, per-sample transforms): "
            f"{results['reference']:,.0f} images/s; epochs {', '.join(f'{s:.2f}' for s in t)} s"
        )
    for name in policies:
        t = project_loop(x, y, args, device, POLICIES[name])
        key = f"project, {name} policy"
        results[key] = rate(t, images)
        warm = t[0] - (sum(t[1:]) / len(t[1:]) if len(t) > 1 else 0.0)
        print(
            f"{key} (resident data, on-device crop/flip): {results[key]:,.0f} images/s; "
            f"epochs {', '.join(f'{s:.2f}' for s in t)} s; first-epoch overhead {warm:.1f} s"
        )
    if "reference" in results:
        for key, value in results.items():
            if key != "reference":
                print(f"ratio {key} / reference: {value / results['reference']:.2f}x")


if __name__ == "__main__":
    main()
