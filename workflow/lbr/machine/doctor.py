"""`lbr doctor`: what a run of the given targets needs from this machine, checked before it starts, one line per
check with the fix where one fails: Python and the packages, torch and its CUDA, the GPUs and the driver, a C
compiler and Python's headers for torch.compile, each dataset's raw files, the free disk for the planned outputs,
the GPU slot folder, and the Slurm profile's EDIT lines. A failed check is one that a planned job would fail on;
a warning is one that costs time or needs a decision. Nothing is downloaded or written."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

from lbr.errors import LbrError
from lbr.machine import compiler, gpuslots, nvidia

REPO = Path(__file__).resolve().parents[3]
TRAINING_SECTIONS = ("fig4", "dynamics", "guidance")


@dataclass(frozen=True)
class Line:
    """One check: ok, warn (costs time or needs a decision) or fail (a planned job would fail)."""

    check: str
    status: str
    text: str
    fix: str = ""

    def render(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:<4}  {self.check:<14} {self.text}{fix}"


# ---------------------------------------------------------------------------------------------- the software


def python_line() -> Line:
    need = (3, 11)
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < need:
        return Line("python", "fail", f"{version} ({sys.executable})", "use Python 3.11 or newer")
    return Line("python", "ok", f"{version} ({sys.executable})")


def requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """The package's dependencies: pyproject.toml of the checkout, else the installed package's metadata."""
    if pyproject.is_file():
        return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])
    try:
        return [r for r in importlib.metadata.requires("lbr") or [] if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        return []


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3])


def _too_old(installed: str, spec: str) -> str | None:
    """The lower bound `installed` misses, if any (only >= bounds are checked)."""
    for bound in re.findall(r">=\s*([0-9][0-9.]*)", spec):
        if _numbers(installed) < _numbers(bound):
            return bound
    return None


def packages_line(reqs: list[str], version=importlib.metadata.version) -> Line:
    """Whether every dependency is installed, at its lower bound or newer."""
    missing, old, found = [], [], []
    for req in reqs:
        name = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
        try:
            installed = version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        bound = _too_old(installed, req)
        (old.append(f"{name} {installed} (needs >= {bound})") if bound else found.append(name))
    if missing or old:
        what = "; ".join(filter(None, [f"missing {', '.join(missing)}" if missing else "", ", ".join(old)]))
        return Line(
            "packages",
            "fail",
            what,
            "`python3 -m pip install -e .` in the repository (it keeps an installed torch >= 2.4)",
        )
    return Line("packages", "ok", f"all {len(found)} dependencies of pyproject.toml installed")


TORCH_PROBE = """
import json, torch
n = torch.cuda.device_count()
gpus = [torch.cuda.get_device_name(i) for i in range(n)]
print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "hip": torch.version.hip, "gpus": gpus}))
"""


@dataclass(frozen=True)
class TorchFacts:
    """What this machine's torch is and which GPUs it sees (under the current CUDA_VISIBLE_DEVICES)."""

    version: str
    cuda: str | None
    hip: str | None = None
    gpus: tuple[str, ...] = ()


def start_torch_probe() -> subprocess.Popen:
    """Ask torch in a child process, which runs beside the planning (importing torch takes seconds) and keeps CUDA
    out of this one."""
    return subprocess.Popen([sys.executable, "-c", TORCH_PROBE], stdout=PIPE, stderr=PIPE, text=True)


def torch_facts(probe: subprocess.Popen, timeout: float = 300) -> TorchFacts | str:
    """The probe's answer, or the last line of its error when torch does not import or count."""
    try:
        out, err = probe.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        probe.kill()
        return f"torch did not answer in {timeout:g} s"
    if probe.returncode != 0:
        return (err.strip().splitlines() or ["exit status " + str(probe.returncode)])[-1]
    found = json.loads(out.strip().splitlines()[-1])
    return TorchFacts(found["version"], found["cuda"], found["hip"], tuple(found["gpus"]))


def torch_line(facts: TorchFacts | str) -> Line:
    if isinstance(facts, str):
        fix = "install a torch build for your machine (https://pytorch.org/get-started/locally/), then rerun"
        return Line("torch", "fail", f"not importable ({facts})", fix)
    build = f"CUDA {facts.cuda}" if facts.cuda else "ROCm" if facts.hip else "CPU build"
    return Line("torch", "ok", f"{facts.version} ({build})")


# ------------------------------------------------------------------------------------------------ the GPUs


def gpus_line(facts: TorchFacts | None, gpu_jobs: int, driver: nvidia.Driver | None) -> Line:
    """What torch and the driver see, against the GPU jobs the targets plan."""
    seen = len(facts.gpus) if facts is not None else 0
    jobs = f"{gpu_jobs} planned GPU job(s)"
    if seen:
        extra = f", {driver.describe()}" if driver else ""
        try:
            ids = gpuslots.device_ids()
        except LbrError as err:
            return Line("gpus", "fail", f"torch sees {seen} GPU(s) but {err}", "fix CUDA_VISIBLE_DEVICES or LBR_GPUS")
        names = ", ".join(sorted(set(facts.gpus)))
        return Line("gpus", "ok", f"torch sees {seen} GPU(s) ({names}){extra}; jobs use {len(ids)}")
    if driver is None:
        status = "warn" if gpu_jobs else "ok"
        text = "torch sees no GPU and nvidia-smi does not answer (no NVIDIA driver)"
        return Line("gpus", status, f"{text}: the {jobs} run on the CPU" if gpu_jobs else text)
    torch_cuda = facts.cuda if facts is not None else None
    why = "torch is a CPU build" if facts is not None and not torch_cuda else "torch cannot reach them"
    fix = "install a torch built with CUDA (https://pytorch.org/get-started/locally/)"
    if driver.runs(torch_cuda) is False:
        why = f"torch is built for CUDA {torch_cuda}, newer than the driver's CUDA {driver.cuda}"
        fix = f"update the NVIDIA driver, or install a torch built for CUDA {driver.cuda} or older"
    elif torch_cuda:
        fix = "check CUDA_VISIBLE_DEVICES (`nvidia-smi -L`) and run `python3 -c 'import torch; torch.zeros(1).cuda()'`"
    status = "fail" if gpu_jobs else "warn"
    return Line("gpus", status, f"{driver.describe()} but torch sees none: {why}; {jobs} would stop", fix)


def compile_line(config: dict, gpu_seen: bool) -> Line:
    """Whether torch.compile can build its kernels where the training sections ask for it: Triton on a GPU (a C
    compiler and Python's headers), inductor's C++ backend on a CPU (only `compile: true` compiles there)."""
    forced = [s for s in TRAINING_SECTIONS if config.get(s, {}).get("compile") is True]
    asked = ", ".join(f"{s}.compile: true" for s in forced)
    if gpu_seen:
        problem = compiler.compile_problem()
        if problem is None:
            return Line("compile", "ok", f"C compiler {compiler.c_compiler()}, headers {compiler.python_headers()}")
        if forced:
            return Line("compile", "fail", f"{asked}, but {problem}", f"install them or set {forced[0]}.compile: auto")
        return Line("compile", "warn", f"{problem}; compile: auto runs eager (recorded as compile: fallback)")
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")
    if forced and cxx is None:
        fix = f"install g++ (or set CXX), or set {forced[0]}.compile: auto"
        return Line("compile", "fail", f"{asked} compiles on the CPU with inductor, which needs a C++ compiler", fix)
    return Line("compile", "ok", f"{asked or 'compile: auto'} on a CPU" + (f" with {cxx}" if forced else ": eager"))


# ------------------------------------------------------------------------------------------ data and disk


def data_lines(config: dict, datasets: list[str], prepared: str | os.PathLike = "results/data") -> list[Line]:
    """One line per dataset the targets prepare."""
    from lbr.data.availability import MD5_BUDGET, Md5Budget, dataset_status

    budget = Md5Budget(MD5_BUDGET)
    root = config.get("data_root")
    lines = []
    if root and not Path(root).is_dir():
        lines.append(Line("data_root", "fail", f"{root} is not a folder", "fix data_root, or set it to null"))
    elif root:
        lines.append(Line("data_root", "ok", f"{root}"))
    for name in datasets:
        found = dataset_status(config, name, prepared, budget)
        lines.append(Line(f"data {name}", "fail" if found.fix else "ok", found.text, found.fix or ""))
    return lines


def _existing(path: Path) -> Path:
    """`path`, or the nearest folder above it that exists (where it would be created)."""
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def disk_line(config: dict, jobs: list, workdir: Path = Path("."), at_once: int | None = None) -> Line:
    """The planned outputs of the jobs still to run against the free disk where they go (downloads in
    download_dir, everything else under the working directory). Passing bytes (temp() filtered datasets,
    checkpoints) count for the `at_once` largest only (default: one job per CPU core, a local run's `--cores
    all`)."""
    from lbr.cost.disk import job_bytes

    at_once = at_once or os.cpu_count() or 1
    kept: dict[Path, int] = {}
    passing: list[int] = []
    for job in jobs:
        if not job.needs_run:
            continue
        size = job_bytes(job.rule, job.wildcards, config)
        place = Path(config["download_dir"]) if job.rule == "download" else workdir
        kept[place] = kept.get(place, 0) + size.kept
        passing += [size.passing] if size.passing else []
    kept[workdir] = kept.get(workdir, 0) + sum(sorted(passing)[-at_once:])
    by_device: dict[int, list] = {}  # file system -> [bytes, free bytes, places]
    for place, size in kept.items():
        probe = _existing(place)
        entry = by_device.setdefault(os.stat(probe).st_dev, [0, shutil.disk_usage(probe).free, []])
        entry[0] += size
        entry[2].append(str(place))
    gb = 2**30
    short = [(size, free, where) for size, free, where in by_device.values() if size > free]
    total = sum(size for size, _, _ in by_device.values())
    if short:
        size, free, where = short[0]
        text = f"the planned outputs need up to {size / gb:.1f} GB in {', '.join(where)}, {free / gb:.1f} GB are free"
        return Line("disk", "fail", text, "free space, or move the working directory or download_dir elsewhere")
    free = min(f for _, f, _ in by_device.values())
    temp = f" (of the temporary files, those of {at_once} jobs at once)" if passing else ""
    return Line("disk", "ok", f"the planned outputs need up to {total / gb:.1f} GB{temp}; {free / gb:.1f} GB free")


# ---------------------------------------------------------------------------------------- slots and Slurm


def slots_line(gpu_jobs: int) -> Line:
    """Whether the GPU slot folder can be used, and by whom."""
    directory = gpuslots.slot_dir()
    if not gpuslots.enabled():
        return Line("gpu slots", "ok", "not used here (Slurm chooses the GPUs, or LBR_GPU_SLOTS=off)")
    probe = _existing(directory)
    if not os.access(probe, os.W_OK | os.X_OK):
        fix = "set LBR_GPU_SLOT_DIR to a folder you may write"
        return Line("gpu slots", "fail" if gpu_jobs else "warn", f"{probe} is not writable for you", fix)
    locked = [p for p in directory.rglob("*.lock") if not os.access(p, os.R_OK | os.W_OK)] if directory.is_dir() else []
    if locked:
        fix = f"ask their owner to `chmod a+rw` them, or set LBR_GPU_SLOT_DIR to another folder ({len(locked)} files)"
        return Line("gpu slots", "fail" if gpu_jobs else "warn", f"{locked[0]} is read-only for you", fix)
    shared = directory.is_dir() and directory.stat().st_mode & 0o002
    whose = "shared with every user" if shared else "yours alone (other users' jobs would not see these slots)"
    return Line("gpu slots", "ok", f"{directory}: writable, {whose}")


def slurm_lines(profile: Path | None) -> list[Line]:
    """The Slurm profile's EDIT lines: filled (uncommented) or left at their defaults, and whether the
    partitions they name exist (`sinfo`). Checked for a Slurm profile given with --profile, or profiles/slurm on
    a machine with `sbatch`."""
    if profile is None:
        if shutil.which("sbatch") is None:
            return []
        profile = REPO / "profiles" / "slurm"
    path = profile / "config.yaml" if profile.is_dir() else profile
    if not path.is_file():
        return [Line("slurm", "fail", f"{path} does not exist", "give the folder of a Snakemake profile")]
    text = path.read_text()
    if not re.search(r"^executor:\s*slurm", text, re.M):
        return []
    partitions = _partitions()
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        edit = EDIT_LINE.match(line)
        if edit is None or "optional" in edit["note"]:
            continue
        where = f"{path.name}:{number} {edit['key']}"
        default = re.search(r"\(default: ([^)]*)\)", edit["note"])
        if edit["commented"]:
            if default:
                lines.append(Line("slurm", "ok", f"{where} left at its default ({default.group(1)})"))
            else:
                fix = f"uncomment it and give your cluster's value in {path}"
                lines.append(Line("slurm", "fail", f"{where} is not filled", fix))
            continue
        value = edit["value"].strip("\"' ")
        if edit["key"] == "slurm_partition" and partitions is not None and value not in partitions:
            fix = f"set it to one of {', '.join(sorted(partitions))} in {path}"
            lines.append(Line("slurm", "fail", f"{where}: partition '{value}' does not exist here", fix))
        else:
            checked = "" if partitions is not None or edit["key"] != "slurm_partition" else " (sinfo does not answer)"
            lines.append(Line("slurm", "ok", f"{where}: {value}{checked}"))
    return lines


EDIT_LINE = re.compile(r"^\s*(?P<commented>#\s*)?(?P<key>[a-z_]+):\s*(?P<value>[^#]*?)\s*#\s*EDIT(?P<note>.*)$")
"""A line of a Slurm profile marked for the user: `key: value  # EDIT...`, perhaps commented out."""


def _partitions() -> set[str] | None:
    """The partitions `sinfo` lists (None where sinfo is absent or fails)."""
    exe = shutil.which("sinfo")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-h", "-o", "%P"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return {p.strip().rstrip("*") for p in out.stdout.split()} if out.returncode == 0 else None


# ----------------------------------------------------------------------------------------------- the run


def run(targets: list[str], configfiles: list, profile: Path | None = None) -> list[Line]:
    """Every check for a run of `targets` with `configfiles` in the current folder (the workflow's)."""
    probe = start_torch_probe()
    lines = [python_line(), packages_line(requirements())]
    plan = None
    try:
        from lbr.cost.plan import build

        plan = build(targets, configfiles)
    except ImportError as err:
        lines.append(Line("plan", "fail", f"cannot plan the targets ({err})", "install the packages above"))
    except LbrError as err:
        lines.append(Line("plan", "fail", str(err), "fix the configuration"))
    except Exception as err:  # noqa: BLE001 - Snakemake's own errors (a missing input, a bad target) in one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        lines.append(Line("plan", "fail", f"Snakemake cannot plan {' '.join(targets)}: {first}", "fix the target"))
    todo = [j for j in plan.jobs if j.needs_run] if plan else []
    gpu_jobs = sum(1 for j in todo if j.gpus)
    if plan is not None:
        lines.append(Line("plan", "ok", f"{len(plan.jobs)} jobs for {' '.join(targets)}, {len(todo)} to run"))
    facts = torch_facts(probe)
    lines.insert(2, torch_line(facts))
    facts = facts if isinstance(facts, TorchFacts) else None
    lines.append(gpus_line(facts, gpu_jobs, nvidia.driver()))
    gpu_seen = bool(facts is not None and facts.gpus)
    if plan is not None:
        lines.append(compile_line(plan.config, gpu_seen))
        datasets = [j.wildcards["dataset"] for j in todo if j.rule in ("download", "prepare", "prepare_resized")]
        lines += data_lines(plan.config, list(dict.fromkeys(datasets)))
        lines.append(disk_line(plan.config, plan.jobs))
    lines.append(slots_line(gpu_jobs))
    lines += slurm_lines(profile)
    return lines


def report(lines: list[Line]) -> tuple[str, int]:
    """The lines as text, a summary, and the exit status: 1 when a planned job would fail."""
    failed = [line for line in lines if line.status == "fail"]
    warned = [line for line in lines if line.status == "warn"]
    summary = (
        f"{len(failed)} check(s) failed: a planned job would fail; fix them before the run"
        if failed
        else f"ready ({len(warned)} warning(s))"
    )
    return "\n".join([line.render() for line in lines] + [summary]), 1 if failed else 0
