"""The seven parts of bench/gpu_check.py: each fills its entry of the record as it measures and calls
`ctx.save()` after every finished measurement, so that a run cut short keeps them. Sizes: FULL on a GPU, SMOKE
(toy sizes, for the tests) on a CPU. Every clock read follows a device synchronisation; every rate is steady
state, with compilation (the first step) and warm-up (the first epoch's extra time) reported apart."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [p for p in (str(ROOT / "workflow"), str(ROOT / "bench")) if p not in sys.path]

import bench_train  # noqa: E402

from lbr.errors import LbrError  # noqa: E402
from lbr.machine.device import float32_math_now, seed_everything  # noqa: E402

log = logging.getLogger("gpu_check")

# relative errors against float64 (norm-wise): IEEE float32 gives ~1e-7 (a Winograd or FFT convolution up to
# ~1e-6); TF32 rounds both operands to a 10-bit mantissa (unit round-off 2^-11), ~3e-4
FLOAT32_ERROR = 2e-5
TF32_ERROR = 1e-4
FULL = {
    "n_train": 50_000, "batch": 512, "epochs": 3, "width": 1.0, "policy": "gpu",
    "workers": max(0, min(15, (os.cpu_count() or 1) - 1)),
    "matmul": 2048, "conv": (32, 64, 32),
    "spectrum_n": 100_000, "spectrum_side": 64,
    "dcae_n": 50_000, "dcae_side": 32, "dcae_latent": 512, "dcae_epochs": 3,
    "guidance_n": 3_840, "guidance_size": 224, "guidance_latent": 512, "guidance_width": 64,
    "guidance_blocks": ((3, 4, 6, 3), (3, 6, 4, 3)), "guidance_batch": 128, "guidance_epochs": 3,
    "startup_n": 2_048, "startup_batch": 512, "startup_width": 1.0, "startup_threads": 4, "startup_timeout": 420,
    "mnist_epochs": 5, "mnist_width": 1.0, "mnist_batch": 512, "mnist_limit": None,
}  # fmt: skip
SMOKE = {
    "n_train": 128, "batch": 32, "epochs": 2, "width": 1 / 16, "policy": "gpu-eager", "workers": 1,
    "matmul": 128, "conv": (2, 8, 8),
    "spectrum_n": 512, "spectrum_side": 8,
    "dcae_n": 256, "dcae_side": 8, "dcae_latent": 16, "dcae_epochs": 2,
    "guidance_n": 32, "guidance_size": 32, "guidance_latent": 16, "guidance_width": 4,
    "guidance_blocks": ((1, 1, 1, 1), (1, 1, 1, 1)), "guidance_batch": 16, "guidance_epochs": 2,
    "startup_n": 256, "startup_batch": 64, "startup_width": 1 / 16, "startup_threads": 1, "startup_timeout": 120,
    "mnist_epochs": 1, "mnist_width": 1 / 16, "mnist_batch": 64, "mnist_limit": 384,
}  # fmt: skip


@dataclass
class Context:
    """What every part gets: the device, the sizes, the data root, a scratch folder, and `save` (writes the
    record as it stands, so that the numbers measured so far survive a kill)."""

    device: torch.device
    size: dict
    smoke: bool
    data_root: Path | None
    work: Path
    save: Callable[[], None]

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(on: torch.device, fn, *args, **kwargs):
    """(fn(...), seconds) with the device `on` synchronised before each clock read."""
    sync(on)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    sync(on)
    return out, time.perf_counter() - t0


def job(kind, device: torch.device, **fields):
    """Settings of a benchmarked job: the numeric policy's `auto` choices on `device` (compile on a GPU, as every
    trainer's default), no checkpoints; the benchmark sizes are its own, not the workflow's defaults."""
    base = {"device": str(device), "seed": 0, "train_subset": None, "subset_seed": 0, "model": None}
    base |= {"storage": "auto", "autocast": "auto", "channels_last": "auto"}
    return kind(**(base | {"compile": "auto", "compile_mode": "default", "checkpoint_minutes": 0} | fields))


def dcae_settings(ctx: Context, epochs: int):
    """Fig. 3's job: DCAE depth 3, batch 256, AdamW 1e-3, float32 (autocast off), compile on a GPU."""
    from lbr.config.settings import DynamicsSettings

    return job(
        DynamicsSettings,
        ctx.device,
        epochs=epochs,
        batch_size=256,
        lr=1e-3,
        weight_decay=1e-3,
        autocast="off",
        arch="dcae",
        depth=3,
        latent=ctx.size["dcae_latent"],
        measure_images=None,
        measure_batch=1024,
        keep_checkpoint=False,
    )


def classifier_settings(ctx: Context, **fields):
    """A Fig. 4 job with the workflow's recipe (AdamW 1e-3 / 1e-3, OneCycle 0.3, cross-entropy, augmentation)."""
    from lbr.config.settings import ClassifierSettings

    recipe = {"lr": 1e-3, "weight_decay": 1e-3, "arch": "resnet9", "aug": True, "pct_start": 0.3, "loss": "ce"}
    return job(ClassifierSettings, ctx.device, **(recipe | {"eval_every": 5, "eval_batch_size": 1024} | fields))


class SwitchProbe:
    """A training task that records the float32 math switches in force at its first loss, i.e. inside `fit`."""

    def __init__(self, task):
        self.task, self.seen = task, None

    def __getattr__(self, name):
        return getattr(self.task, name)

    def loss(self, model, idx, gen):
        if self.seen is None:
            self.seen = float32_math_now()
        return self.task.loss(model, idx, gen)


def steady(epoch_seconds: list[float], images: int, last_only: bool, stats: dict | None = None) -> dict:
    """Per-epoch times -> the steady rate (epochs after the first, or the last one alone), the first epoch's extra
    time (warm-up: compilation, cuDNN autotuning) and the first step (compilation included) when known."""
    rest = epoch_seconds[-1:] if last_only else epoch_seconds[1:] or epoch_seconds
    per_epoch = sum(rest) / len(rest)
    out = {
        "epoch_seconds": epoch_seconds,
        "steady_epoch_seconds": per_epoch,
        "warmup_seconds": epoch_seconds[0] - per_epoch,
        "images_per_epoch": images,
        "images_per_s": images / per_epoch,
    }
    if stats:
        out["first_step_seconds"] = stats.get("first_step_seconds")
    return out


# --------------------------------------------------------------------------------------------------- parts


def float32_check(ctx: Context, entry: dict) -> None:
    """(a) Relative errors against float64 of a float32 matmul and convolution under the Fig. 3 policy, under
    the bf16 policy's switches (its float32 ops outside autocast) and under PyTorch's defaults."""
    from lbr.training.policy import resolve

    dev = ctx.device
    fig3 = resolve(dcae_settings(ctx, 1), dev, fast_storage="uint8")
    bf16 = resolve(classifier_settings(ctx, epochs=1, batch_size=512, width=1.0), dev, fast_storage="float16")
    gen = torch.Generator().manual_seed(0)
    n = ctx.size["matmul"]
    batch, channels, side = ctx.size["conv"]
    a, b = (torch.randn(n, n, generator=gen, dtype=torch.float64).to(dev) for _ in range(2))
    x = torch.randn(batch, channels, side, side, generator=gen, dtype=torch.float64).to(dev)
    w = (torch.randn(channels, channels, 3, 3, generator=gen, dtype=torch.float64) / (9 * channels) ** 0.5).to(dev)
    with torch.no_grad():
        ref_mm, ref_conv = a @ b, F.conv2d(x, w, padding=1)

    def rel(got: torch.Tensor, ref: torch.Tensor) -> float:
        return float(torch.linalg.vector_norm(got.double() - ref) / torch.linalg.vector_norm(ref))

    def errors(policy) -> dict:
        layout = policy.layout if policy is not None else (lambda t: t)
        with torch.no_grad():
            mm = a.float() @ b.float()
            conv = F.conv2d(layout(x.float()), layout(w.float()), padding=1)
            conv = F.conv2d(layout(x.float()), layout(w.float()), padding=1)  # after cuDNN autotuning
        sync(dev)
        return {"matmul": rel(mm, ref_mm), "conv": rel(conv, ref_conv), "switches": float32_math_now()}

    with fig3.precision():
        entry["fig3_policy"] = errors(fig3) | {"math": fig3.math_precision()}
    with bf16.precision():
        entry["bf16_policy_float32_ops"] = errors(bf16) | {"math": bf16.record()["float32_ops"]}
    entry["pytorch_defaults"] = errors(None)
    entry["shapes"] = {"matmul": [n, n, n], "conv": [batch, channels, side, side, "3x3", channels]}
    f32 = entry["fig3_policy"]
    tf32 = entry["bf16_policy_float32_ops"]
    entry["float32_is_ieee"] = max(f32["matmul"], f32["conv"]) <= FLOAT32_ERROR
    entry["tf32_seen_under_bf16"] = min(tf32["matmul"], tf32["conv"]) >= TF32_ERROR
    if max(f32["matmul"], f32["conv"]) >= TF32_ERROR:
        raise LbrError(
            f"float32 under the Fig. 3 policy differs from float64 by {f32['matmul']:.1e} (matmul) and "
            f"{f32['conv']:.1e} (convolution), TF32's round-off, not float32's: TF32 is on inside "
            "Policy.precision(); see lbr.machine.device.float32_math."
        )


def training_speed(ctx: Context, entry: dict) -> None:
    """(b) ResNet9 and the MLP in the project loop under the GPU policy; the authors'-style loop."""
    from lbr.machine.compiler import compile_problem

    size = ctx.size
    workers, shm_mb = loader_workers(size["workers"], size["batch"] * 3 * 32 * 32 * 4)
    args = argparse.Namespace(
        epochs=size["epochs"],
        batch_size=size["batch"],
        width=size["width"],
        classes=10,
        workers=workers,
        compile_mode="default",
        ref_amp="bf16",
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((size["n_train"], 32, 32, 3), dtype=np.float32).astype(np.float16)
    y = rng.integers(0, 10, size["n_train"]).astype(np.int64)
    images = (size["n_train"] // size["batch"]) * size["batch"]
    name = size["policy"]
    if name == "gpu" and ctx.cuda and compile_problem():  # what `compile: auto` does where Triton cannot build
        name, entry["compile"] = "gpu-eager", "fallback"
    policy = bench_train.POLICIES[name]
    entry |= {"policy": name, "batch": size["batch"], "width": size["width"], "epochs": size["epochs"]}
    for arch in ("resnet9", "mlp"):
        stats: dict = {}
        times = bench_train.project_loop(x, y, args, ctx.device, policy, arch=arch, stats=stats)
        entry[arch] = steady(times, images, last_only=False, stats=stats)
        log.info(f"{arch}: {entry[arch]['images_per_s']:,.0f} images/s, first step {stats['first_step_seconds']:.1f} s")
        ctx.save()
    times = bench_train.reference_loop(x.astype(np.float32), y, args, ctx.device)
    entry["reference"] = steady(times, images, last_only=False) | {"workers": args.workers, "shm_free_mb": shm_mb}
    entry["resnet9_ratio"] = entry["resnet9"]["images_per_s"] / entry["reference"]["images_per_s"]
    log.info(f"authors'-style loop: {entry['reference']['images_per_s']:,.0f} images/s")


def loader_workers(wanted: int, batch_bytes: int, shm: str = "/dev/shm") -> tuple[int, float | None]:
    """(DataLoader workers, free MB of `shm`): at most `wanted`, and no more than the shared memory holds. Each
    worker hands its batches to the main process through /dev/shm and keeps two in flight (prefetch); with twice
    that as margin a worker needs 4 batches of it. A container's default 64 MB /dev/shm holds two workers of
    6 MB batches, not 15, which die with a bus error."""
    try:
        free = shutil.disk_usage(shm).free
    except OSError:  # no /dev/shm (not Linux): torch shares another way
        return wanted, None
    return max(0, min(wanted, int(free // (4 * batch_bytes)))), free / 2**20


def spectrum_and_masking(ctx: Context, entry: dict) -> None:
    """(c) Covariance + eigh at N x D; masking moments and the generalized eigensolve at the same D, after one
    pass of the same calls at D = 192 (library and solver initialisation, timed as the warm-up)."""
    from lbr.spectral import eigenbasis
    from lbr.theory import alignment, denoising

    def closed_forms(x: np.ndarray, y: np.ndarray, side: int) -> dict:
        dev = ctx.device
        spectrum, seconds = timed(dev, eigenbasis.compute, x, dev, method="covariance")
        moments, t_moments = timed(dev, alignment.compute_moments, x, y, 200, "standardize", "covariance", dev)
        basis, t_pca = timed(dev, alignment.pca_basis, moments, device=dev)
        xtx = moments.xtx.to(dev)
        spec = denoising.NoiseSpec("mask", 0.5, 4 if side % 4 == 0 else 1)
        _, t_solve = timed(dev, denoising.feature_basis, basis, xtx, spec, moments.shape, moments.n)
        return {
            "N": len(x),
            "D": int(moments.d),
            "spectrum_seconds": seconds,
            "top_eigenvalue": float(spectrum["eigenvalues"][0]),
            "moments_seconds": t_moments,
            "pca_eigh_seconds": t_pca,
            "masking_solve_seconds": t_solve,
        }

    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    closed_forms(rng.integers(0, 256, (1024, 8, 8, 3), dtype=np.uint8), rng.integers(0, 200, 1024), 8)
    entry["warmup_seconds"] = time.perf_counter() - t0
    side, n = ctx.size["spectrum_side"], ctx.size["spectrum_n"]
    (x, y), entry["data_seconds"] = timed(
        ctx.device, lambda: (rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8), rng.integers(0, 200, n))
    )
    entry |= closed_forms(x, y, side)
    log.info(f"spectrum {entry['spectrum_seconds']:.2f} s, masking solve {entry['masking_solve_seconds']:.2f} s")


def dcae_epochs(ctx: Context, entry: dict) -> None:
    """(d) Fig. 3's DCAE: training epochs without the measurement (rate from the last), then the eigenbasis and
    two energy measurements over every training image, timed apart (the second is the steady one)."""
    from lbr.models.autoencoders import build_autoencoder
    from lbr.spectral import direction_energy as dyn
    from lbr.training.dynamics import EnergyRecorder, ReconstructionTask
    from lbr.training.loop import LoopConfig, fit
    from lbr.training.policy import resolve

    dev, size = ctx.device, ctx.size
    side, n = size["dcae_side"], size["dcae_n"]
    settings = dcae_settings(ctx, size["dcae_epochs"])
    policy = resolve(settings, dev, fast_storage="uint8")
    x = np.random.default_rng(2).integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    train = torch.as_tensor(x).to(dev)
    (_, vectors), entry["eigenbasis_seconds"] = timed(dev, dyn.eigenbasis, train)
    seed_everything(settings.seed)
    model = build_autoencoder("dcae", (3, side, side), settings.latent, settings.depth)
    task = SwitchProbe(ReconstructionTask(train, train[:1000], settings.measure_batch, policy))
    stats: dict = {}
    cfg = LoopConfig.of(settings, policy)
    with policy.precision():
        history = fit(model, task, cfg, dev, stats=stats)
    images = (n // cfg.batch_size) * cfg.batch_size
    entry |= {"N": n, "D": int(vectors.shape[0]), "latent": settings.latent, "batch": cfg.batch_size}
    entry |= steady([r["seconds"] for r in history], images, last_only=True, stats=stats)
    entry |= {"policy": policy.record(), "switches_in_training": task.seen}
    log.info(f"DCAE: {entry['images_per_s']:,.0f} images/s (float32), first step {entry['first_step_seconds']:.1f} s")
    ctx.save()
    recorder = EnergyRecorder(train, vectors, set(), settings.measure_batch, ctx.work / "energies.npz", policy, dev)
    with policy.precision():
        _, entry["measure_first_seconds"] = timed(dev, recorder.measure, model, 0)
        _, entry["measure_seconds"] = timed(dev, recorder.measure, model, 1)
    entry["measure_images"] = n
    entry["measure_seconds_per_image"] = entry["measure_seconds"] / n
    log.info(f"energy measurement of {n} images: {entry['measure_seconds']:.2f} s")


def guidance_epochs(ctx: Context, entry: dict) -> None:
    """(e) The guided ResNet34 autoencoder under the GPU policy (compile on a GPU); rate from the last epoch."""
    from lbr.config.settings import GuidanceSettings
    from lbr.models import GuidedAutoencoder
    from lbr.training.guidance import GuidanceTask
    from lbr.training.loop import LoopConfig, fit
    from lbr.training.policy import resolve

    dev, size = ctx.device, ctx.size
    n, px = size["guidance_n"], size["guidance_size"]
    encoder_blocks, decoder_blocks = size["guidance_blocks"]
    g = job(
        GuidanceSettings,
        dev,
        epochs=size["guidance_epochs"],
        batch_size=size["guidance_batch"],
        lr=2e-4,
        weight_decay=0.0,
        latent=size["guidance_latent"],
        guidance=0.01,
        arch="resnet_ae",
        stem="imagenet",
        width=size["guidance_width"],
        encoder_blocks=encoder_blocks,
        decoder_blocks=decoder_blocks,
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
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (n, px * 8 // 7, px * 8 // 7, 3), dtype=np.uint8)  # source_size 256 for 224
    labels = rng.integers(0, 10, n)
    policy = resolve(g, dev, fast_storage="uint8")
    task = SwitchProbe(GuidanceTask((images, labels), (images[:8], labels[:8]), 10, g.guidance, g, dev, 256, policy))
    seed_everything(g.seed)
    model = GuidedAutoencoder(g.latent, 10, px, g.width, 3, g.guidance, g.encoder_blocks, g.decoder_blocks, g.stem)
    stats: dict = {}
    cfg = LoopConfig.of(g, policy)
    with policy.precision():
        history = fit(model, task, cfg, dev, stats=stats)
    entry |= {"N": n, "image_size": px, "latent": g.latent, "batch": cfg.batch_size}
    entry |= steady([r["seconds"] for r in history], (n // cfg.batch_size) * cfg.batch_size, True, stats)
    entry |= {"policy": policy.record(), "switches_in_training": task.seen}
    log.info(f"guidance: {entry['images_per_s']:,.0f} images/s, first step {entry['first_step_seconds']:.1f} s")


STARTUP_JOB = """
import json, sys
sys.path.insert(0, sys.argv[1])
from lbr.machine.runner import set_threads, setup_logging
job = json.loads(open(sys.argv[2]).read())
setup_logging()
set_threads(job["threads"])
from lbr.config.settings import ClassifierSettings
from lbr.training.classifier import train_classifier
train_classifier(job["paths"], ClassifierSettings(**job["settings"]), job["metrics"], job["history"], job["meta"])
"""


def job_startup(ctx: Context, entry: dict) -> None:
    """(f) One Fig. 4 job as the workflow runs it (a fresh Python process that imports lbr and calls
    train_classifier on filtered float16 arrays; one epoch, ResNet9 at the authors' widths, compile on a GPU),
    first with an empty inductor cache, then with the cache it filled."""
    from lbr.data import save_split

    size = ctx.size
    folder = ctx.work / "startup"
    folder.mkdir()
    rng = np.random.default_rng(4)
    n, n_test = size["startup_n"], size["startup_n"] // 4
    paths = {}
    for split, count in (("train", n), ("test", n_test)):
        np.save(folder / f"{split}.npy", rng.standard_normal((count, 32, 32, 3), dtype=np.float32).astype(np.float16))
        (folder / f"{split}.json").write_text(json.dumps({"side": "top", "level": "1"}))
        no_pixels = np.zeros((count, 1, 1, 1), np.uint8)  # the job reads only the labels of this split file
        save_split(folder / f"{split}_labels.npz", no_pixels, rng.integers(0, 10, count), [str(i) for i in range(10)])
        paths |= {split: str(folder / f"{split}.npy"), f"{split}_info": str(folder / f"{split}.json")}
        paths[f"{split}_labels"] = str(folder / f"{split}_labels.npz")
    settings = classifier_settings(ctx, epochs=1, batch_size=size["startup_batch"], width=size["startup_width"])
    cache = folder / "inductor"
    env = os.environ | {"TORCHINDUCTOR_CACHE_DIR": str(cache), "TRITON_CACHE_DIR": str(cache / "triton")}
    entry |= {"job": {"arch": settings.arch, "width": settings.width, "batch": settings.batch_size, "n_train": n}}
    for run in ("cold", "warm"):
        spec = {
            "paths": paths,
            "settings": asdict(settings),
            "metrics": str(folder / f"{run}.json"),
            "history": str(folder / f"{run}.csv"),
            "meta": {"dataset": "random"},
            "threads": size["startup_threads"],
        }
        (folder / f"{run}_job.json").write_text(json.dumps(spec))
        command = [sys.executable, "-c", STARTUP_JOB, str(ROOT / "workflow"), str(folder / f"{run}_job.json")]
        logfile = folder / f"{run}.log"
        with open(logfile, "w") as fh:
            t0 = time.perf_counter()
            try:
                done = subprocess.run(
                    command, env=env, cwd=folder, stdout=fh, stderr=subprocess.STDOUT, timeout=size["startup_timeout"]
                )
            except subprocess.TimeoutExpired as err:
                raise LbrError(
                    f"the {run}-cache job did not finish in {err.timeout:.0f} s; its log ends: {tail(logfile)}"
                ) from None
            wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise LbrError(f"the {run}-cache job exited with {done.returncode}; its log ends: {tail(logfile)}")
        metrics = json.loads((folder / f"{run}.json").read_text())
        entry[run] = {
            "startup_seconds": metrics["startup_seconds"],  # process start to the end of the first step
            "first_step_seconds": metrics["first_step_seconds"],
            "process_seconds": wall,
            "compile": metrics["compile"],
        }
        # the job's clock starts at its process's start (/proc); it must fit in the wall time seen from here
        entry[run]["clock_consistent"] = metrics["first_step_seconds"] < metrics["startup_seconds"] <= wall
        log.info(
            f"{run} cache: first step done {metrics['startup_seconds']:.1f} s after the process started (it took "
            f"{metrics['first_step_seconds']:.1f} s); the job took {wall:.1f} s"
        )
        ctx.save()
    entry["startup_seconds"] = entry["warm"]["startup_seconds"]  # the job's own record: one definition


def tail(path: Path, chars: int = 600) -> str:
    text = path.read_text(errors="replace").strip()
    return text[-chars:].replace("\n", " | ")


def mnist_files(data_root: Path, work: Path) -> tuple[dict, dict]:
    """The registry's MNIST manifest from `data_root` (each file plain or .gz, the plain one first, as the
    workflow reads them) and what was found: format and whether the content is the real MNIST (md5 of the
    uncompressed bytes). Never downloads: missing files stop the part with a sentence saying how to bring them."""
    from lbr.data import dataset_spec, resolve_dataset

    spec = dataset_spec("mnist")
    if not data_root.is_dir():
        raise LbrError(
            f"--data-root {data_root} is not a folder; give the folder that holds MNIST/raw (with the device tool, "
            "name it in carry), or leave this part out with --skip g."
        )
    missing = [rf.unpacked for rf in spec.files if not (data_root / rf.unpacked).is_file()]
    missing = [m for m in missing if not (data_root / f"{m}.gz").is_file()]
    if missing:
        raise LbrError(
            f"{data_root} lacks {', '.join(missing)} (plain or .gz); bring MNIST as docs/train.md ('GPU check') "
            "says, e.g. gzip the four idx files into .cache/gpu_check_data/MNIST/raw, carry that folder and pass "
            "--data-root .cache/gpu_check_data, or leave this part out with --skip g."
        )
    unverified = {key: {"md5": None} for rf in spec.files for key in (rf.name, rf.unpacked)}
    manifest = resolve_dataset(spec, work / "downloads", data_root, sources=unverified, timeout=5)
    found = {}
    for rf in spec.files:
        path = Path(manifest["files"][rf.key])
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
            digest = hashlib.md5(fh.read()).hexdigest()
        found[rf.key] = {"file": path.name, "real_mnist": digest == rf.unpacked_md5}
    return manifest, found


def mnist_slice(ctx: Context, entry: dict) -> None:
    """(g) MNIST from --data-root (smoke without one: the built-in digits): ResNet9 with augmentation on the full
    images and on the top-0.9 / bottom-0.2 subspaces, through the workflow's filter and trainer."""
    from lbr.data import dataset_spec, prepare, save_split
    from lbr.spectral import eigenbasis
    from lbr.spectral.filtering import filter_dataset
    from lbr.spectral.subspaces import Subspace, resolve
    from lbr.training.classifier import train_classifier

    work, size = ctx.work / "mnist", ctx.size
    if ctx.data_root is None and not ctx.smoke:
        raise LbrError(
            "no --data-root given: this part reads MNIST's four idx files (plain or .gz) from <data root>/MNIST/raw; "
            "bring them as docs/train.md ('GPU check') says, or leave the part out with --skip g."
        )
    name = "digits" if ctx.data_root is None else "mnist"
    manifest = None
    if ctx.data_root is not None:
        manifest, entry["files"] = mnist_files(ctx.data_root, work)
    data = prepare(dataset_spec(name), {}, manifest)
    if size["mnist_limit"]:  # the smoke run's toy size
        data |= {split: tuple(a[: size["mnist_limit"]] for a in data[split]) for split in ("train", "test")}
    splits = {split: data[split][0] for split in ("train", "test")}
    labels = {}
    for split in ("train", "test"):
        labels[split] = work / f"{split}.npz"
        save_split(labels[split], *data[split], data["classes"])
    entry |= {"dataset": name, "n_train": len(splits["train"]), "n_test": len(splits["test"])}
    entry |= {"train_pixel_mean": float(splits["train"].mean()), "epochs": size["mnist_epochs"]}
    spectrum = eigenbasis.compute(splits["train"], ctx.device)
    d = spectrum["eigenvectors"].shape[1]
    subspaces = {"full": Subspace("top", "1", d, d, 1.0, 1.0, 1.0, d)}
    subspaces["top-0.9"] = resolve(spectrum["eigenvalues"], "top", "0.9")
    subspaces["bottom-0.2"] = resolve(spectrum["eigenvalues"], "bottom", "0.2")
    settings = classifier_settings(
        ctx,
        epochs=size["mnist_epochs"],
        batch_size=size["mnist_batch"],
        width=size["mnist_width"],
        eval_every=size["mnist_epochs"],
    )
    for label, sub in subspaces.items():
        folder = work / label
        files = {k: str(folder / f"{k}.npy") for k in ("train", "test")}
        files |= {f"{k}_info": str(folder / f"{k}.json") for k in ("train", "test")}
        filter_dataset(splits, spectrum, sub, files, ctx.device, 4096, name)
        paths = files | {"train_labels": labels["train"], "test_labels": labels["test"]}
        metrics, seconds = timed(ctx.device, train_classifier, paths, settings, folder / "m.json", folder / "h.csv")
        entry[label] = {
            "test_acc": metrics["test_acc"],
            "variance_kept": sub.variance_kept,
            "seconds": seconds,
            "first_step_seconds": metrics["first_step_seconds"],
            "images_per_s": metrics["images_per_s"],
        }
        log.info(f"{name} {label}: test accuracy {metrics['test_acc']:.4f} in {seconds:.1f} s")
        ctx.save()
