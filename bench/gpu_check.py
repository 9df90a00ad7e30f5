"""Every GPU goal of the project in one short run: one table on stdout and benchmarks/gpu_check.json.

    python bench/gpu_check.py                       # one GPU, at most 8 minutes, compilation included
    python bench/gpu_check.py --smoke               # every part at toy size on a CPU, under a minute (tests)
    python bench/gpu_check.py --data-root /path     # where MNIST/raw is (default ../shared/data; the smoke
                                                    # run uses the built-in digits unless given one)

(a) training speed: ResNet9 (authors' widths) on CIFAR-shaped data, the project loop under the GPU policy
    (float16 storage, bf16, channels_last, compile, fused AdamW) against the authors'-style loop (per-sample
    torchvision transforms, DataLoader with workers) in the same run; and the depth-4 MLP's images/s;
(b) the eigenbasis of N x D = 100,000 x 12,288 (float64 covariance + eigh), and at the same D the masking
    moments and the generalized eigensolve of Theorem 3;
(c) a real-data slice: MNIST (data_root), ResNet9 for 15 epochs with augmentation, test accuracy on the full
    images, on the top-0.9 and on the bottom-0.2 variance subspace;
(d) one Fig. 3 DCAE epoch with its energy measurement on CIFAR-shaped data, and one guidance epoch (ResNet34
    autoencoder, L = 512, 224 px);
(e) peak GPU memory of each part, and the torch / CUDA / device versions.
It needs only torch, torchvision, numpy and lbr (no Snakemake), so it runs on a bare GPU box. Data are random
except (c); speed does not depend on the values. The smoke run shrinks every size and skips compilation (the
tests compile every trainer on a CPU elsewhere); its numbers say nothing about a GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "workflow"), str(ROOT / "bench")]

import bench_train  # noqa: E402

from lbr.device import pick_device  # noqa: E402

GOALS = {
    "resnet9_images_per_s": 65_000,  # on an H100-class GPU
    "resnet9_ratio": 2.5,  # project loop / authors'-style loop
    "spectrum_seconds": 3.0,  # covariance + eigh at N = 100,000, D = 12,288
    "masking_solve_seconds": 5.0,  # moments in the PCA basis + generalized eigensolve at D = 12,288
}
FULL = {
    "n_train": 50_000, "batch": 512, "epochs": 3, "width": 1.0, "workers": 15, "policy": "gpu",
    "spectrum_n": 100_000, "spectrum_side": 64, "mnist_epochs": 15, "mnist_width": 1.0,
    "dcae_n": 50_000, "guidance_n": 9_469, "guidance_size": 224, "guidance_latent": 512, "guidance_width": 64,
}  # fmt: skip
SMOKE = {
    "n_train": 256, "batch": 64, "epochs": 2, "width": 1 / 16, "workers": 1, "policy": "gpu-eager",
    "spectrum_n": 512, "spectrum_side": 8, "mnist_epochs": 1, "mnist_width": 1 / 16,
    "dcae_n": 256, "guidance_n": 64, "guidance_size": 32, "guidance_latent": 16, "guidance_width": 4,
}  # fmt: skip


class Part:
    """Times a part and records its peak GPU memory."""

    def __init__(self, device: torch.device, results: dict, name: str):
        self.device, self.results, self.name = device, results, name

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self.t0 = time.perf_counter()
        print(f"-- {self.name}", flush=True)
        return self

    def __exit__(self, *exc):
        sync(self.device)
        peak = torch.cuda.max_memory_allocated(self.device) / 2**30 if self.device.type == "cuda" else float("nan")
        self.results.setdefault("peak_gpu_gb", {})[self.name] = peak
        self.results.setdefault("part_seconds", {})[self.name] = time.perf_counter() - self.t0


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def job(kind, device: torch.device, **fields):
    """Settings of a benchmarked job: the numeric policy's `auto` choices on `device`, no checkpoints, no
    compile unless `fields` say so (the benchmark sizes are its own, not the workflow's defaults)."""
    base = {"device": str(device), "seed": 0, "storage": "auto", "autocast": "auto", "channels_last": "auto"}
    return kind(**(base | {"compile": False, "compile_mode": "default", "checkpoint_minutes": 0} | fields))


def timed(on: torch.device, fn, *args, **kwargs):
    """(fn(...), seconds) with the device `on` synchronised at both ends."""
    sync(on)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    sync(on)
    return out, time.perf_counter() - t0


def training_speed(size: dict, device: torch.device, out: dict) -> None:
    """(a) ResNet9: project loop against the authors'-style loop; the MLP's images/s."""
    args = argparse.Namespace(
        epochs=size["epochs"],
        batch_size=size["batch"],
        width=size["width"],
        classes=10,
        workers=size["workers"],
        compile_mode="default",
        ref_amp="bf16",
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((size["n_train"], 32, 32, 3), dtype=np.float32).astype(np.float16)
    y = rng.integers(0, 10, size["n_train"]).astype(np.int64)
    images = (size["n_train"] // size["batch"]) * size["batch"]
    policy = bench_train.POLICIES[size["policy"]]
    reference = bench_train.rate(bench_train.reference_loop(x.astype(np.float32), y, args, device), images)
    project_times = bench_train.project_loop(x, y, args, device, policy)
    project = bench_train.rate(project_times, images)
    mlp = bench_train.rate(bench_train.project_loop(x, y, args, device, policy, arch="mlp"), images)
    out["a_training"] = {
        "policy": size["policy"],
        "resnet9_images_per_s": project,
        "reference_images_per_s": reference,
        "resnet9_ratio": project / reference,
        "mlp_images_per_s": mlp,
        "first_epoch_overhead_s": project_times[0] - float(np.mean(project_times[1:])),
    }


def spectrum_and_masking(size: dict, device: torch.device, out: dict) -> None:
    """(b) Covariance + eigh at N x D; masking moments and the generalized eigensolve at the same D."""
    from lbr.spectral import eigenbasis
    from lbr.theory import alignment, denoising

    side, n = size["spectrum_side"], size["spectrum_n"]
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    y = rng.integers(0, 200, n)
    spectrum, seconds = timed(device, eigenbasis.compute, x, device, method="covariance")
    moments, t_moments = timed(device, alignment.compute_moments, x, y, 200, "standardize", "covariance", device)
    del x
    basis, t_pca = timed(device, alignment.pca_basis, moments, device=device)
    xtx = moments.xtx.to(device)
    spec = denoising.NoiseSpec("mask", 0.5, 4 if side % 4 == 0 else 1)
    _, t_solve = timed(device, denoising.feature_basis, basis, xtx, spec, moments.shape, moments.n)
    out["b_closed_forms"] = {
        "N": n,
        "D": int(moments.d),
        "spectrum_seconds": seconds,
        "top_eigenvalue": float(spectrum["eigenvalues"][0]),
        "moments_seconds": t_moments,
        "pca_eigh_seconds": t_pca,
        "masking_solve_seconds": t_solve,
    }


def mnist_slice(size: dict, device: torch.device, data_root: Path | None, out: dict) -> None:
    """(c) MNIST from `data_root` (None: the built-in digits, for the smoke run): ResNet9 with augmentation on the
    full images and on the top-0.9 / bottom-0.2 subspaces."""
    from lbr.data import dataset_spec, prepare, resolve_dataset, save_split
    from lbr.io import save_json
    from lbr.settings import ClassifierSettings
    from lbr.spectral import eigenbasis
    from lbr.spectral.filtering import filter_dataset
    from lbr.spectral.subspaces import Subspace, resolve
    from lbr.training.classifier import train_classifier

    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    if data_root is not None and not (data_root / "MNIST" / "raw").is_dir():
        raise SystemExit(f"MNIST is not in {data_root}/MNIST/raw; pass --data-root (torchvision's layout).")
    name = "digits" if data_root is None else "mnist"
    spec = dataset_spec(name)
    manifest = resolve_dataset(spec, work / "downloads", data_root) if spec.kind == "remote" else None
    data = prepare(spec, {}, manifest)
    splits = {split: data[split][0] for split in ("train", "test")}
    labels = {}
    for split in ("train", "test"):
        save_split(work / f"{split}.npz", *data[split], data["classes"])
        labels[split] = work / f"{split}.npz"
    spectrum = eigenbasis.compute(splits["train"], device)
    d = spectrum["eigenvectors"].shape[1]
    everything = Subspace("top", "1", d, d, 1.0, 1.0, 1.0, d)
    subspaces = {"full": everything, "top-0.9": resolve(spectrum["eigenvalues"], "top", "0.9")}
    subspaces["bottom-0.2"] = resolve(spectrum["eigenvalues"], "bottom", "0.2")
    settings = job(
        ClassifierSettings,
        device,
        epochs=size["mnist_epochs"],
        batch_size=512 if size is FULL else 64,
        lr=1e-3,
        weight_decay=1e-3,
        compile="auto" if size is FULL else False,
        arch="resnet9",
        aug=True,
        pct_start=0.3,
        loss="ce",
        width=size["mnist_width"],
        eval_every=size["mnist_epochs"],
        eval_batch_size=1024,
    )
    results = {"dataset": name}
    for label, sub in subspaces.items():
        folder = work / label
        files = {k: str(folder / f"{k}.npy") for k in ("train", "test")}
        files |= {f"{k}_info": str(folder / f"{k}.json") for k in ("train", "test")}
        filter_dataset(splits, spectrum, sub, files, device, 4096, name)
        paths = files | {"train_labels": labels["train"], "test_labels": labels["test"]}
        metrics, seconds = timed(device, train_classifier, paths, settings, folder / "m.json", folder / "h.csv")
        results[label] = {"test_acc": metrics["test_acc"], "variance_kept": sub.variance_kept, "seconds": seconds}
        save_json(work / "mnist.json", results)
    out["c_mnist"] = results


def autoencoder_epochs(size: dict, device: torch.device, out: dict) -> None:
    """(d) One DCAE epoch with the per-direction energy measurement; one guidance epoch."""
    from lbr.models import GuidedAutoencoder
    from lbr.settings import DynamicsSettings, GuidanceSettings
    from lbr.training.dynamics import run
    from lbr.training.guidance import GuidanceTask
    from lbr.training.loop import LoopConfig, fit
    from lbr.training.policy import resolve

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (size["dcae_n"], 32, 32, 3), dtype=np.uint8)
    dcae = job(
        DynamicsSettings,
        device,
        epochs=1,
        batch_size=256,
        lr=1e-3,
        weight_decay=1e-3,
        autocast="off",
        arch="dcae",
        depth=3,
        latent=512 if size is FULL else 16,
        measure_images=None,
        measure_batch=1024,
        keep_checkpoint=False,
    )
    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    result, seconds = timed(device, run, x, x[:1000], dcae, device, work / "e.npz", work / "h.csv")
    out["d_dcae"] = {"N": len(x), "seconds_with_measurement": seconds, "first_step_s": result["first_step_seconds"]}

    n, px = size["guidance_n"], size["guidance_size"]
    full = size is FULL
    g = job(
        GuidanceSettings,
        device,
        epochs=1,
        batch_size=128 if full else 16,
        lr=2e-4,
        weight_decay=0.0,
        latent=size["guidance_latent"],
        guidance=0.01,
        width=size["guidance_width"],
        encoder_blocks=(3, 4, 6, 3) if full else (1, 1, 1, 1),
        decoder_blocks=(3, 6, 4, 3) if full else (1, 1, 1, 1),
        optimizer="adam",
        pct_start=0.3,
        eval_every=0,
        image_size=px,
        scale=(0.5, 1.0),
        ratio=(0.75, 4 / 3),
        flip=0.5,
        grayscale=0.2,
        val_crop=0.875,
        n_reconstructions=1,
        eval_batch_size=256,
        keep_checkpoint=False,
    )
    images = rng.integers(0, 256, (n, px * 8 // 7, px * 8 // 7, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    policy = resolve(g, device, fast_storage="uint8")
    task = GuidanceTask((images, labels), (images[:8], labels[:8]), 10, g.guidance, g, device, 256, policy)
    model = GuidedAutoencoder(g.latent, 10, px, g.width, 3, g.guidance, g.encoder_blocks, g.decoder_blocks)
    history, seconds = timed(device, fit, model, task, LoopConfig.of(g, policy), device)
    out["d_guidance"] = {"N": n, "image_size": px, "latent": g.latent, "seconds_per_epoch": history[0]["seconds"]}


def versions(device: torch.device) -> dict:
    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out |= {
            "device": props.name,
            "memory_gb": props.total_memory / 2**30,
            "capability": f"{props.major}.{props.minor}",
        }
    else:
        out |= {"device": f"cpu ({torch.get_num_threads()} threads)"}
    return out


def table(out: dict) -> str:
    """The one table: measured value, goal, verdict (goals only on a GPU)."""
    gpu = out["versions"]["device"].lower()
    rows = [
        ("ResNet9 images/s (project loop)", out["a_training"]["resnet9_images_per_s"], "resnet9_images_per_s", ">="),
        ("ResNet9 / authors'-style loop", out["a_training"]["resnet9_ratio"], "resnet9_ratio", ">="),
        ("reference loop images/s", out["a_training"]["reference_images_per_s"], None, ""),
        ("MLP images/s", out["a_training"]["mlp_images_per_s"], None, ""),
        ("spectrum + eigh (s)", out["b_closed_forms"]["spectrum_seconds"], "spectrum_seconds", "<="),
        ("masking solve (s)", out["b_closed_forms"]["masking_solve_seconds"], "masking_solve_seconds", "<="),
        ("moments X^T X (s)", out["b_closed_forms"]["moments_seconds"], None, ""),
        *[
            (f"{out['c_mnist']['dataset']} {k} test accuracy", v["test_acc"], None, "")
            for k, v in out["c_mnist"].items()
            if isinstance(v, dict)
        ],
        ("DCAE epoch + measurement (s)", out["d_dcae"]["seconds_with_measurement"], None, ""),
        ("guidance epoch (s)", out["d_guidance"]["seconds_per_epoch"], None, ""),
    ]
    lines = [f"{'measure':40s} {'value':>12s} {'goal':>10s}  verdict", "-" * 74]
    for name, value, goal_key, sense in rows:
        goal = GOALS.get(goal_key)
        verdict = ""
        if goal is not None:
            ok = value >= goal if sense == ">=" else value <= goal
            verdict = ("met" if ok else "MISSED") if ("h100" in gpu or "h200" in gpu) else "(goal is for an H100)"
        lines.append(f"{name:40s} {value:12,.3f} {'' if goal is None else f'{sense} {goal:,}':>10s}  {verdict}")
    peaks = ", ".join(f"{k} {v:.1f}" for k, v in out["peak_gpu_gb"].items())
    lines.append(f"peak GPU memory (GB): {peaks}")
    lines.append(f"versions: {out['versions']}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="toy sizes on a CPU (the test suite runs this)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--data-root", type=Path, help="holds MNIST/raw (default ../shared/data; smoke: built-in digits)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "gpu_check.json")
    p.add_argument("--skip", default="", help="parts to leave out, e.g. c,d")
    args = p.parse_args(argv)
    device = pick_device("cpu" if args.smoke and args.device == "auto" else args.device)
    size = SMOKE if args.smoke else FULL
    data_root = args.data_root or (None if args.smoke else ROOT.parent / "shared" / "data")
    out: dict = {"smoke": args.smoke, "versions": versions(device)}
    parts = {
        "a": ("a training speed", lambda: training_speed(size, device, out)),
        "b": ("b spectrum and masking", lambda: spectrum_and_masking(size, device, out)),
        "c": ("c MNIST slice", lambda: mnist_slice(size, device, data_root, out)),
        "d": ("d autoencoder epochs", lambda: autoencoder_epochs(size, device, out)),
    }
    t0 = time.perf_counter()
    for key, (name, part) in parts.items():
        if key not in args.skip.split(","):
            with Part(device, out, name):
                part()
    out["total_seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(table(out) if not args.skip else json.dumps(out, indent=1, default=str))
    print(f"total {out['total_seconds']:.0f} s; written to {args.out}")
    return out


if __name__ == "__main__":
    main()
