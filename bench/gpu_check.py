"""Every GPU goal of the project in one short run, written part by part into one output folder.

    python bench/gpu_check.py --data-root .cache/gpu_check_data --out DIR   # one GPU, about 5.5 minutes
    python bench/gpu_check.py --parts b,d --out DIR                          # a subset (or --skip g)
    python bench/gpu_check.py --smoke --out DIR                              # toy sizes on a CPU (the tests)

After each part it writes DIR/gpu_check.json and DIR/gpu_check.txt (atomically: a run cut short leaves the
parts it finished) and DIR/gpu_check.log (every line printed). A part that fails (out of memory, missing data,
an exception) is recorded with its error sentence and the run goes on; the exit code is 1 if any part failed.
A part whose estimate would end the run more than 6 minutes after it started is skipped (--budget-minutes).
The parts, in the order they run (docs/train.md, "GPU check", says what each settles and what it costs):

(a) float32 means float32: a convolution and a matmul under the Fig. 3 policy (autocast off) against float64,
    and the same under the bf16 policy's float32 switches (TF32 on a GPU) and under PyTorch's defaults;
(b) training speed: ResNet9 (authors' widths, CIFAR-shaped, batch 512) in the project loop under the GPU policy
    (float16 storage, bf16, channels_last, compile, fused AdamW) against the authors'-style loop (per-sample
    torchvision transforms, DataLoader with workers); the depth-4 MLP under the same policy;
(c) the eigenbasis of N x D = 100,000 x 12,288 (float64 covariance + eigh) and, at the same D, the masking
    moments and the generalized eigensolve of Theorem 3;
(d) Fig. 3: DCAE depth 3, latent 512, batch 256 in float32 (compile), epochs without the measurement, and one
    energy measurement over every training image (D = 3,072), timed apart;
(e) Figs. 5-6: the guided ResNet34 autoencoder (L = 512, 224 px, batch 128) under the GPU policy with compile;
(f) a Fig. 4 job's start-up: a fresh process training one epoch the way the workflow runs it, with a cold and
    then a warm inductor cache;
(g) a real-data slice: MNIST from --data-root (plain or gzipped idx files), ResNet9 with augmentation on the full
    images and on the top-0.9 / bottom-0.2 variance subspaces.
Every speed is steady state (the device synchronised before each clock read; compilation and warm-up reported
apart); the `throughput` section holds the numbers `lbr plan --measured` reads. Data are random except in (g);
speed does not depend on the values. Compiled kernels go to a fresh temporary cache, so compile times are
cold-cache times. It needs only torch, torchvision, numpy and lbr (no Snakemake, pandas or SciPy; lbr is found in
the repository), so it runs on a bare GPU box (docs/train.md, "First GPU"). Where torch sees no GPU it refuses to
run its full sizes on the CPU, in one sentence saying what torch and the driver see, unless given --device cpu.
Where Triton cannot build (no C compiler or no Python headers) `compile: auto` runs eager and the record says
`compile: fallback`. The smoke run shrinks every size, uses built-in digits for (g) unless given --data-root
(they need scikit-learn), and says nothing about a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent)]

import gpu_parts as gp  # noqa: E402

from lbr.errors import LbrError  # noqa: E402
from lbr.io import save_json, save_text  # noqa: E402
from lbr.machine import nvidia  # noqa: E402
from lbr.machine.compiler import compile_problem  # noqa: E402
from lbr.machine.device import PRECISION_API, float32_math_now, pick_device, restore_float32_math  # noqa: E402
from lbr.machine.progress import heartbeat  # noqa: E402
from lbr.training.loop import process_seconds  # noqa: E402

log = logging.getLogger("gpu_check")

JSON_NAME, TABLE_NAME, LOG_NAME = "gpu_check.json", "gpu_check.txt", "gpu_check.log"
# what `lbr plan --measured` reads: key -> where the number is in the parts (None until measured)
THROUGHPUT = {
    "resnet9_images_per_s": ("b_training", "resnet9", "images_per_s"),
    "mlp_images_per_s": ("b_training", "mlp", "images_per_s"),
    "dcae_images_per_s": ("d_dcae", "images_per_s"),
    "dcae_measure_seconds_per_image": ("d_dcae", "measure_seconds_per_image"),
    "guidance_images_per_s": ("e_guidance", "images_per_s"),
    "startup_seconds": ("f_startup", "startup_seconds"),
}
GPU_GOALS = {  # (sense, goal), judged on an H100-class GPU only
    "resnet9_images_per_s": (">=", 65_000),
    "resnet9_ratio": (">=", 2.5),  # project loop / authors'-style loop
    "spectrum_seconds": ("<=", 3.0),  # covariance + eigh at N = 100,000, D = 12,288
    "masking_solve_seconds": ("<=", 5.0),  # moments in the PCA basis + generalized eigensolve at D = 12,288
}


@dataclass(frozen=True)
class Part:
    """One part: its key in the record, its name in the table, the function that measures it, and its estimated
    seconds on one H100 with cold compile caches (docs/train.md, "GPU check"), which the time budget uses."""

    key: str
    name: str
    run: Callable[[gp.Context, dict], None]
    estimate_s: float


PARTS = {  # in the order they run: the goals first, the real-data slice last
    "a": Part("a_float32", "float32 means float32", gp.float32_check, 3),
    "b": Part("b_training", "training speed", gp.training_speed, 50),
    "c": Part("c_spectrum", "spectrum and masking", gp.spectrum_and_masking, 20),
    "d": Part("d_dcae", "Fig. 3 DCAE epoch and energy measurement", gp.dcae_epochs, 20),
    "e": Part("e_guidance", "Figs. 5-6 guidance epoch", gp.guidance_epochs, 90),
    "f": Part("f_startup", "Fig. 4 job start-up", gp.job_startup, 85),
    "g": Part("g_mnist", "MNIST slice", gp.mnist_slice, 45),
}
BUDGET_MINUTES = 6.0  # a full run on a GPU skips a part that would end later than this after the process started


# ------------------------------------------------------------------------------------------------ the record


def numeric_state() -> dict:
    """Process-wide switches a part could leave changed for the parts after it; float32 precision is read through
    the API lbr sets it with (`lbr.machine.device.PRECISION_API`), never the other (torch refuses a mix)."""
    legacy = {"float32_matmul_precision": torch.get_float32_matmul_precision()} if PRECISION_API == "legacy" else {}
    return {
        **float32_math_now(),
        **legacy,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "grad_enabled": torch.is_grad_enabled(),
        "default_dtype": str(torch.get_default_dtype()),
    }


def restore_numeric_state(state: dict) -> None:
    if "float32_matmul_precision" in state:
        torch.set_float32_matmul_precision(state["float32_matmul_precision"])
    restore_float32_math(state)
    torch.backends.cudnn.benchmark = state["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = state["cudnn_deterministic"]
    torch.set_grad_enabled(state["grad_enabled"])
    torch.set_default_dtype(getattr(torch, state["default_dtype"].removeprefix("torch.")))


def versions(device: torch.device) -> dict:
    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version()}
    out["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    driver = nvidia.driver() if device.type == "cuda" else None
    out |= {"driver": driver.version, "driver_cuda": driver.cuda} if driver else {}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out |= {"device": props.name, "memory_gb": props.total_memory / 2**30}
        out["capability"] = f"{props.major}.{props.minor}"
    else:
        out["device"] = f"cpu ({torch.get_num_threads()} threads)"
    return out


def error_sentence(err: BaseException) -> str:
    """One line: the LbrError's own sentence, or the exception's type and first line."""
    if isinstance(err, torch.cuda.OutOfMemoryError):
        return f"out of memory: {str(err).splitlines()[0]}"
    if isinstance(err, LbrError):
        return str(err)
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def finite(obj):
    """JSON-safe copy: NaN and infinities become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def dig(record: dict, path: tuple[str, ...]):
    node = record["parts"]
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def throughput(record: dict) -> dict:
    """The section `lbr plan --measured` reads: each number once measured (also in a part that failed later),
    null otherwise."""
    return {key: dig(record, path) for key, path in THROUGHPUT.items()} | {"device": record["device"]}


def goal_verdict(value, goal_key: str, device: str) -> tuple[str, str]:
    sense, goal = GPU_GOALS[goal_key]
    target = f"{sense} {goal:,}"
    if value is None:
        return target, ""
    if not any(name in device.lower() for name in ("h100", "h200")):
        return target, "(goal is for an H100)"
    ok = value >= goal if sense == ">=" else value <= goal
    return target, "met" if ok else "MISSED"


def number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    v = float(value)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 1 or v == 0:
        return f"{v:.2f}"
    if abs(v) >= 1e-3:
        return f"{v:.4f}"
    return f"{v:.2e}"


def table(record: dict) -> str:
    """The one table: each measure, its goal and verdict (goals judged on an H100-class GPU), part by part."""
    device, gpu = record["device"], record["versions"]["device"]
    skipped = f" (skipped: {', '.join(record['skipped'])})" if record.get("skipped") else ""
    lines = [f"GPU check on {device}: {record['status']}{skipped}"]
    lines.append(f"{'measure':52s} {'value':>12s} {'goal':>10s}  verdict")
    lines.append("-" * 88)

    def row(name: str, value, goal_key: str | None = None, goal: str = "", verdict: str = "") -> None:
        if goal_key is not None:
            goal, verdict = goal_verdict(value, goal_key, gpu)
        lines.append(f"  {name:50s} {number(value):>12s} {goal:>10s}  {verdict}")

    for letter, part in PARTS.items():
        entry = record["parts"].get(part.key)
        if entry is None:
            lines.append(f"({letter}) {part.name}: not run")
            continue
        head = f"({letter}) {part.name}: {entry['status']}"
        if "seconds" in entry:
            head += f" in {entry['seconds']:.0f} s"
        lines.append(head + (f": {entry['error']}" if "error" in entry else ""))
        if entry["status"] == "skipped":
            lines[-1] += f" ({entry['reason']})"
            continue
        rows = TABLE_ROWS[part.key]
        for name, path, *goal in rows(entry) if callable(rows) else rows:
            value = dig({"parts": entry}, path)
            if goal and goal[0] == "float32":
                ok = value is not None and value <= gp.FLOAT32_ERROR
                gpu_verdict = ("met" if ok else "MISSED") if "cpu" not in gpu else "(on a CPU)"
                row(name, value, goal=f"<= {gp.FLOAT32_ERROR:.0e}", verdict=gpu_verdict if value is not None else "")
            elif goal and goal[0] == "tf32":
                seen = value is not None and value >= gp.TF32_ERROR
                row(name, value, verdict="" if value is None else "TF32" if seen else "IEEE float32")
            else:
                row(name, value, goal[0] if goal else None)
        if entry.get("leaked"):
            lines.append(f"  LEAKED process-wide switches: {entry['leaked']}")
    lines.append("throughput (for lbr plan --measured): " + json.dumps(finite(record["throughput"])))
    peaks = {k: v.get("peak_gpu_gb") for k, v in record["parts"].items() if v.get("peak_gpu_gb") is not None}
    if peaks:
        lines.append("peak GPU memory (GiB): " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    lines.append(f"versions: {record['versions']}")
    return "\n".join(lines) + "\n"


def _mnist_rows(entry: dict) -> list:
    subs = [k for k in ("full", "top-0.9", "bottom-0.2") if k in entry]
    return [(f"{entry.get('dataset', 'mnist')} {k} test accuracy", (k, "test_acc")) for k in subs]


TABLE_ROWS = {
    "a_float32": [
        ("matmul rel. error, Fig. 3 policy (float32)", ("fig3_policy", "matmul"), "float32"),
        ("conv rel. error, Fig. 3 policy (float32)", ("fig3_policy", "conv"), "float32"),
        ("matmul rel. error, bf16 policy's float32 ops", ("bf16_policy_float32_ops", "matmul"), "tf32"),
        ("conv rel. error, bf16 policy's float32 ops", ("bf16_policy_float32_ops", "conv"), "tf32"),
        ("conv rel. error, PyTorch defaults", ("pytorch_defaults", "conv"), "tf32"),
    ],
    "b_training": [
        ("ResNet9 images/s (project loop)", ("resnet9", "images_per_s"), "resnet9_images_per_s"),
        ("ResNet9 / authors'-style loop", ("resnet9_ratio",), "resnet9_ratio"),
        ("ResNet9 compile + first step (s)", ("resnet9", "first_step_seconds")),
        ("ResNet9 first-epoch extra time (s)", ("resnet9", "warmup_seconds")),
        ("authors'-style loop images/s", ("reference", "images_per_s")),
        ("MLP images/s", ("mlp", "images_per_s")),
        ("MLP compile + first step (s)", ("mlp", "first_step_seconds")),
    ],
    "c_spectrum": [
        ("spectrum + eigh (s)", ("spectrum_seconds",), "spectrum_seconds"),
        ("masking solve (s)", ("masking_solve_seconds",), "masking_solve_seconds"),
        ("moments X^T X (s)", ("moments_seconds",)),
        ("warm-up at D = 192 (s)", ("warmup_seconds",)),
    ],
    "d_dcae": [
        ("DCAE images/s (float32, last epoch)", ("images_per_s",)),
        ("DCAE compile + first step (s)", ("first_step_seconds",)),
        ("energy measurement (s, steady)", ("measure_seconds",)),
        ("energy measurement (s per image)", ("measure_seconds_per_image",)),
        ("eigenbasis (s)", ("eigenbasis_seconds",)),
    ],
    "e_guidance": [
        ("guidance images/s (last epoch)", ("images_per_s",)),
        ("guidance compile + first step (s)", ("first_step_seconds",)),
    ],
    "f_startup": [
        ("cold cache: process start to end of first step (s)", ("cold", "startup_seconds")),
        ("cold cache: first step, compile included (s)", ("cold", "first_step_seconds")),
        ("warm cache: process start to end of first step (s)", ("warm", "startup_seconds")),
        ("warm cache: first step, compile included (s)", ("warm", "first_step_seconds")),
    ],
    "g_mnist": _mnist_rows,
}


class Record:
    """The run's JSON record and table, rewritten atomically into the output folder after every change."""

    def __init__(self, out: Path, device: torch.device, smoke: bool, requested: list[str], argv: list[str]):
        self.out, self.device = out, device
        self.t0 = time.perf_counter() - process_seconds()  # elapsed time counts from the process's start
        info = versions(device)
        self.data = {
            "format": "lbr gpu_check 2",
            "command": ["bench/gpu_check.py", *argv],
            "smoke": smoke,
            "device": info["device"] if device.type == "cuda" else "cpu",
            "versions": info,
            "requested": [PARTS[k].key for k in requested],
            "status": "running",
            "failed": [],
            "skipped": [],
            "elapsed_seconds": 0.0,
            "compile": compile_choice(device),
            "precision_api": PRECISION_API,
            "numeric_defaults": numeric_state(),
            "throughput": {},
            "parts": {},
        }

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def save(self) -> None:
        """The table first, then the JSON: once the JSON shows a part, the table shows it too."""
        self.data["elapsed_seconds"] = self.elapsed()
        self.data["throughput"] = throughput(self.data)
        data = finite(self.data)
        save_text(self.out / TABLE_NAME, table(data))
        save_json(self.out / JSON_NAME, data)

    def run(self, letter: str, ctx: gp.Context, budget_s: float | None = None) -> None:
        """Run one part and record it; skip it (recorded, not a failure) when its estimate would take the run past
        `budget_s` seconds after the process started."""
        part = PARTS[letter]
        entry = {"name": part.name, "status": "running", "started_after_seconds": self.elapsed()}
        self.data["parts"][part.key] = entry
        if budget_s is not None and self.elapsed() + part.estimate_s > budget_s:
            entry["status"] = "skipped"
            entry["reason"] = (
                f"it would end after the {budget_s / 60:g}-minute budget ({self.elapsed():.0f} s elapsed, estimated "
                f"{part.estimate_s:.0f} s); run it with --parts {letter}, or raise --budget-minutes"
            )
            self.data["skipped"].append(part.key)
            log.warning(f"({letter}) {part.name} skipped: {entry['reason']}")
            self.save()
            return
        self.save()
        before = numeric_state()
        t0 = time.perf_counter()
        try:
            if self.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(self.device)
            with heartbeat(f"({letter}) {part.name}", logger=log):  # a line at least every 30 s
                part.run(ctx, entry)
            gp.sync(self.device)
            entry["status"] = "ok"
        except Exception as err:  # noqa: BLE001 - every failure is recorded and the run goes on
            entry["status"], entry["error"] = "failed", error_sentence(err)
            entry["traceback"] = traceback.format_exc(limit=-8).splitlines()[-30:]
            self.data["failed"].append(part.key)
            log.error(f"({letter}) {part.name} failed: {entry['error']}")
        entry["seconds"] = time.perf_counter() - t0
        with contextlib.suppress(Exception):  # a broken CUDA context must not stop the record
            if self.device.type == "cuda":
                entry["peak_gpu_gb"] = torch.cuda.max_memory_allocated(self.device) / 2**30
        after = numeric_state()
        leaked = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if leaked:
            entry["leaked"] = leaked
            log.warning(f"({letter}) left process-wide switches changed: {leaked}; restored")
            restore_numeric_state(before)
        gc.collect()
        with contextlib.suppress(Exception):
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        self.save()
        log.info(f"[{self.elapsed():5.0f} s] ({letter}) {part.name}: {entry['status']} in {entry['seconds']:.1f} s")


def compile_choice(device: torch.device):
    """What `compile: auto` means here: True on a GPU where Triton can build, 'fallback' (eager) where it cannot,
    False on a CPU."""
    if device.type != "cuda":
        return False
    return "fallback" if compile_problem() else True


def no_gpu_sentence() -> str:
    """Why a full run refuses the CPU, with what torch and the driver see."""
    found = nvidia.driver()
    seen = f"nvidia-smi reports {found.describe()}" if found else "nvidia-smi does not answer (no NVIDIA driver found)"
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA: a CPU build"
    return (
        f"torch {torch.__version__} ({build}) sees {torch.cuda.device_count()} CUDA device(s) and {seen}, so the "
        "full-size parts would run on the CPU for about an hour and measure nothing about a GPU; fix what `lbr "
        "doctor` reports for torch and the driver (docs/train.md, 'First GPU'), or pass --device cpu to run them on "
        "the CPU on purpose (--smoke: toy sizes)."
    )


def letters(text: str, parser: argparse.ArgumentParser, flag: str) -> list[str]:
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    if chosen == ["all"]:
        return list(PARTS)
    unknown = [t for t in chosen if t not in PARTS]
    if unknown:
        parser.error(f"{flag} names unknown parts {', '.join(unknown)}; choose among {', '.join(PARTS)} or all.")
    return chosen


@contextlib.contextmanager
def logging_to(out: Path):
    """Every line of this check and of lbr to stdout (flushed per line) and to OUT/gpu_check.log, for the
    duration of the run; the handlers are removed afterwards (the tests call main in-process)."""
    fmt = logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout), logging.FileHandler(out / LOG_NAME, mode="w")]
    loggers = [logging.getLogger(name) for name in ("gpu_check", "lbr")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for h in handlers:
        h.setFormatter(fmt)
    for lg in loggers:
        lg.setLevel(logging.INFO)
        lg.propagate = False
        for h in handlers:
            lg.addHandler(h)
    try:
        yield
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            for h in handlers:
                lg.removeHandler(h)
            lg.setLevel(level)
            lg.propagate = propagate
        for h in handlers:
            h.close()


@contextlib.contextmanager
def fresh_compile_cache():
    """A temporary scratch folder whose inductor/Triton caches start empty (every compile time reported is a
    cold-cache time, and nothing is left behind); the previous settings come back afterwards."""
    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    names = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(work / "inductor")
    os.environ["TRITON_CACHE_DIR"] = str(work / "inductor" / "triton")
    try:
        yield work
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the requested parts; 0 when all of them succeeded, 1 otherwise."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="toy sizes on a CPU (the test suite runs this)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (smoke: cpu unless given)")
    p.add_argument("--data-root", type=Path, help="holds MNIST/raw, each idx file plain or .gz (part g)")
    p.add_argument("--out", type=Path, default=gp.ROOT / "benchmarks" / "gpu_check", help="results folder")
    p.add_argument("--parts", default="all", help=f"parts to run, e.g. a,c ({', '.join(PARTS)}; default all)")
    p.add_argument("--skip", default="", help="parts to leave out, e.g. g")
    p.add_argument(
        "--budget-minutes",
        type=float,
        help=f"skip a part whose estimate would end the run later than this (default {BUDGET_MINUTES:g} on a GPU, "
        "none with --smoke; 0 = none)",
    )
    args = p.parse_args(argv)
    minutes = args.budget_minutes if args.budget_minutes is not None else None if args.smoke else BUDGET_MINUTES
    budget_s = 60 * minutes if minutes else None
    chosen, skip = set(letters(args.parts, p, "--parts")), set(letters(args.skip, p, "--skip"))
    requested = [k for k in PARTS if k in chosen - skip]  # always in the order of PARTS
    device = pick_device("cpu" if args.smoke and args.device == "auto" else args.device)
    if device.type == "cpu" and not args.smoke and args.device != "cpu":
        raise LbrError(no_gpu_sentence())
    args.out.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        torch.set_num_threads(1)  # toy sizes: one thread beats threads that wait on each other on a busy machine
    with logging_to(args.out), fresh_compile_cache() as work:
        record = Record(args.out, device, args.smoke, requested, argv)
        size = gp.SMOKE if args.smoke else gp.FULL
        ctx = gp.Context(device, size, args.smoke, args.data_root, work, record.save)
        log.info(f"GPU check on {record.data['device']}: parts {', '.join(requested)}; results in {args.out}")
        if record.data["compile"] == "fallback":
            log.warning(f"compile: auto runs eager in every part (compile: fallback): {compile_problem()}")
        for letter in requested:
            record.run(letter, ctx, budget_s)
        failed = record.data["failed"]
        record.data["status"] = "failed: " + ", ".join(failed) if failed else "ok"
        record.save()
        print(table(finite(record.data)), end="", flush=True)
        log.info(f"total {record.elapsed():.0f} s; written to {args.out / JSON_NAME} and {args.out / TABLE_NAME}")
    return 1 if record.data["failed"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LbrError as err:  # before any part ran (e.g. --device cuda on a machine without one)
        print(f"gpu_check: {err}", file=sys.stderr)
        sys.exit(2)
