"""GPU slots on one machine: place each GPU job on a GPU of its own or on a GPU it shares, via lock files and
CUDA_VISIBLE_DEVICES.

Snakemake's `--resources gpu=N` only caps how many GPU jobs run at once; it never says which GPU a job may use.
Each GPU has CAPACITY slot lock files `<dir>/gpu-<id>/slot-<j>.lock`. A job whose rule declares
`jobs_per_gpu=k` holds CAPACITY // k of them (an exclusive `flock` each) on every GPU it uses, so at most k such
jobs share a GPU and a job with k=1 waits until its GPU is entirely free. The job takes its slots before CUDA
initialises and exports `CUDA_VISIBLE_DEVICES=<id>`. Taking happens under one folder-wide lock
(`<dir>/acquire.lock`) and takes all of a job's slots or none, so two jobs never together exceed a GPU's
capacity and never deadlock holding half each. Among the GPUs with room, a job picks the one with the most free
slots (an idle GPU before doubling up on a busy one, so that start-ups overlap computation, not each other).
Jobs take slots in the order they arrived (`<dir>/queue`): a job waiting for a whole GPU is not overtaken forever
by half-GPU jobs that fit into the room it waits for. The kernel drops the locks when the process ends, however
it ends (also `kill -9`), so a dead job never keeps its slots. Each held slot file names its holder (pid and job);
`lbr gpus` prints who holds what. Lock files are created readable and writable by every user and lock folders
world-writable with the sticky bit, so that two users' runs can share one LBR_GPU_SLOT_DIR.

Which GPUs exist:
  real  where torch is built with CUDA and NVIDIA device files (/dev/nvidia0, ...) exist (or with ROCm and
        /dev/kfd): torch counts the GPUs in a child process, and the ids are CUDA_VISIBLE_DEVICES when set (all
        of which must exist), else 0..count-1;
  fake  elsewhere (a CPU machine, tests): the ids are CUDA_VISIBLE_DEVICES when set, else 0..LBR_GPUS-1; nothing
        can check them, and a training job given such a GPU stops in `lbr.machine.device.pick_device`.

Environment (all optional):
  LBR_GPU_SLOTS         auto (default): allocate unless Slurm runs the job (SLURM_JOB_ID set, Slurm
                        already chose the GPUs); on: always allocate (e.g. inside `salloc`); off: never.
  LBR_GPUS              use only the first N GPUs; more than there are is refused.
  LBR_GPU_SLOT_DIR      folder of the lock files (default /tmp/lbr-gpu-slots-<user>); every run that
                        should share the GPUs must use the same folder.
  LBR_GPU_SLOT_TIMEOUT  seconds to wait for room before failing (default: wait without limit).
While a GPU job runs, LBR_JOB_GPUS holds the number of GPUs its rule asked for (read by `lbr.machine.device`).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import getpass
import glob
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lbr.errors import LbrError

log = logging.getLogger("lbr")

CAPACITY = 12  # slots per GPU: divisible by every allowed jobs_per_gpu
JOBS_PER_GPU = (1, 2, 3, 4, 6, 12)
JOB_GPUS_VAR = "LBR_JOB_GPUS"
POLL_SECONDS = 0.25
REPORT_EVERY_SECONDS = 60.0
SHARED_FILE_MODE, SHARED_FOLDER_MODE = 0o666, 0o1777


@dataclass
class Slots:
    """GPUs held by this process: their ids and the open slot lock files that hold them."""

    ids: list[str] = field(default_factory=list)
    files: list[int] = field(default_factory=list)

    def release(self) -> None:
        for fd in self.files:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # a released slot names nobody
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        self.files.clear()


def slot_dir() -> Path:
    """Folder of the slot lock files, shared by every job of this user on this machine."""
    default = Path(tempfile.gettempdir()) / f"lbr-gpu-slots-{_user()}"
    return Path(os.environ.get("LBR_GPU_SLOT_DIR") or default)


def mode() -> str:
    value = os.environ.get("LBR_GPU_SLOTS", "auto").strip().lower() or "auto"
    if value not in ("auto", "on", "off"):
        raise LbrError(f"LBR_GPU_SLOTS is '{value}' but must be auto, on or off; fix the environment variable.")
    return value


def enabled() -> bool:
    """Whether this process should pick its own GPUs (not when Slurm already did)."""
    chosen = mode()
    if chosen == "auto":
        return not os.environ.get("SLURM_JOB_ID")
    return chosen == "on"


def device_ids() -> list[str]:
    """GPU ids offered to jobs (see the module's docstring for real and fake GPUs), capped by LBR_GPUS;
    asking for more GPUs than exist, or listing GPUs torch cannot see, is refused."""
    count = os.environ.get("LBR_GPUS", "").strip()
    if count and not count.isdigit():
        raise LbrError(f"LBR_GPUS is '{count}' but must be a number of GPUs; fix the environment variable.")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    real = count_gpus() if real_gpus_countable() else None
    if visible is not None:
        ids = [d.strip() for d in visible.split(",") if d.strip()]
        where = f"CUDA_VISIBLE_DEVICES lists {len(ids)} ({','.join(ids) or 'none'})"
        if real is not None and real < len(ids):
            raise LbrError(
                f"CUDA_VISIBLE_DEVICES={visible} lists {len(ids)} GPUs but torch sees {real} of them; list only "
                "GPUs that exist (`nvidia-smi -L` shows them) or unset CUDA_VISIBLE_DEVICES."
            )
    elif real is not None:
        ids, where = [str(i) for i in range(real)], f"torch sees {real} on this machine"
    else:
        return [str(i) for i in range(int(count))] if count else []  # fake GPUs: nothing to check them against
    if count and int(count) > len(ids):
        raise LbrError(
            f"LBR_GPUS is {count} but only {len(ids)} GPUs are visible ({where}); set LBR_GPUS to at most "
            f"{len(ids)} or unset it, since a job on a GPU that does not exist would train on the CPU."
        )
    return ids[: int(count)] if count else ids


def nvidia_device_files() -> list[str]:
    """The NVIDIA GPU device files of this machine (/dev/nvidia0, ...): GPUs exist here, whatever torch sees."""
    return sorted(glob.glob("/dev/nvidia[0-9]*"))


def amd_device_file() -> bool:
    """Whether this machine has AMD's GPU device file (/dev/kfd)."""
    return os.path.exists("/dev/kfd")


def real_gpus_countable() -> bool:
    """Whether torch can count real GPUs here: a CUDA (or ROCm) build of torch and, for CUDA, NVIDIA device
    files. Elsewhere GPU ids are fake (tests on a CPU machine) and are not checked."""
    nvidia, amd = bool(nvidia_device_files()), amd_device_file()
    if not (nvidia or amd):
        return False  # no GPU device files: no need to import torch
    import torch

    return (torch.version.cuda is not None and nvidia) or (torch.version.hip is not None and amd)


def count_gpus() -> int:
    """GPUs torch sees under the current CUDA_VISIBLE_DEVICES, counted in a child process: if counting
    initialised CUDA here, the CUDA_VISIBLE_DEVICES chosen afterwards would be ignored (torch falls back to
    cudaGetDeviceCount when NVML is unavailable)."""
    code = "import torch; print(torch.cuda.device_count())"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        return int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        raise LbrError("could not count the GPUs with torch; set CUDA_VISIBLE_DEVICES to the GPUs to use.") from None


CUDA_SUCCESS = 0


def cuda_driver_initialised() -> bool:
    """Whether this process has initialised the CUDA driver (cuInit, which torch.cuda.is_available() and every
    CUDA call do; CUDA reads CUDA_VISIBLE_DEVICES there, once). Asked of the driver library only if the process
    has already loaded it (dlopen RTLD_NOLOAD), so asking initialises nothing: cuDeviceGetCount answers
    CUDA_ERROR_NOT_INITIALIZED before cuInit."""
    try:
        lib = ctypes.CDLL("libcuda.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except (OSError, AttributeError):  # not loaded here (or no RTLD_NOLOAD): nothing has initialised CUDA
        return False
    count = ctypes.c_int()
    return lib.cuDeviceGetCount(ctypes.byref(count)) == CUDA_SUCCESS


def slots_per_job(jobs_per_gpu: int) -> int:
    """Slots a job holds on each of its GPUs so that `jobs_per_gpu` such jobs fill a GPU."""
    if jobs_per_gpu not in JOBS_PER_GPU:
        raise LbrError(
            f"jobs_per_gpu is {jobs_per_gpu} but must be one of {', '.join(map(str, JOBS_PER_GPU))} (a divisor "
            f"of the {CAPACITY} slots per GPU); fix the rule's jobs_per_gpu setting (e.g. fig4.jobs_per_gpu)."
        )
    return CAPACITY // jobs_per_gpu


def acquire(
    n: int,
    ids: list[str] | None = None,
    directory: Path | None = None,
    timeout: float | None = None,
    jobs_per_gpu: int = 1,
    label: str = "",
) -> Slots:
    """Hold CAPACITY // jobs_per_gpu slots on each of `n` GPUs out of `ids`, waiting (up to `timeout` s,
    None = forever) while no `n` GPUs have that much room; logs who holds them at most once a minute."""
    need = slots_per_job(jobs_per_gpu)
    ids = device_ids() if ids is None else ids
    if n > len(ids):
        raise LbrError(
            f"a job asks for {n} GPUs but this machine offers {len(ids)} ({','.join(ids) or 'none'}); "
            "lower the rule's gpu resource or set LBR_GPUS."
        )
    directory = slot_dir() if directory is None else directory
    _make_folder(directory)
    owner = f"pid {os.getpid()}" + (f" {label}" if label else "")
    start = time.monotonic()
    last_report = None
    ticket = None
    try:
        while True:
            with _folder_lock(directory):
                ticket = ticket or _Ticket.take(directory)
                ahead = ticket.ahead()
                slots, held = _try_take(n, need, ids, directory, owner, may_take=not ahead)
                if slots is not None:
                    return slots
            now = time.monotonic()
            wanted = f"{n} GPU(s) with {need} of {CAPACITY} slots free (jobs_per_gpu={jobs_per_gpu})"
            queued = f" behind {ahead} job(s) that waited longer" if ahead else ""
            if timeout is not None and now - start >= timeout:
                raise LbrError(
                    f"no room after {timeout:g} s for {wanted}{queued} among GPUs {','.join(ids)}: {describe(held)}; "
                    "run with --resources gpu=N at most GPUs x jobs_per_gpu, or raise LBR_GPU_SLOT_TIMEOUT."
                )
            if last_report is None or now - last_report >= REPORT_EVERY_SECONDS:
                log.info("waiting for %s%s among GPUs %s: %s", wanted, queued, ",".join(ids), describe(held))
                last_report = now
            time.sleep(POLL_SECONDS)
    finally:
        if ticket is not None:
            ticket.leave()


class _Ticket:
    """A job's place in the queue of jobs that want slots (`<dir>/queue/<number>.ticket`, numbered in the order the
    jobs arrived). Only the job that has waited longest may take slots, so a job that needs a whole GPU is not
    starved by half-GPU jobs that keep arriving and fit into the room it waits for. The ticket is locked while its
    job waits; a ticket nobody locks belongs to a job that died and is skipped (and removed where permitted)."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def take(cls, directory: Path) -> _Ticket:
        """A new ticket, after every other (call under the folder lock)."""
        queue = directory / "queue"
        _make_folder(queue)
        numbers = [int(p.stem) for p in queue.glob("*.ticket") if p.stem.isdigit()]
        path = queue / f"{max(numbers, default=0) + 1:012d}.ticket"
        fd = _open_shared(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def ahead(self) -> int:
        """Live tickets older than this one (call under the folder lock)."""
        count = 0
        for path in sorted(self.path.parent.glob("*.ticket")):
            if path.name >= self.path.name:
                break
            if _locked(path):
                count += 1
            else:
                with contextlib.suppress(OSError):
                    path.unlink()  # its job died while waiting
        return count

    def leave(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _locked(path: Path) -> bool:
    """Whether some process holds a lock on `path` (a waiting job's ticket)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def gpu_slots(n: int, jobs_per_gpu: int = 1, label: str = "") -> Iterator[Slots]:
    """Hold `n` GPUs (shared by up to `jobs_per_gpu` jobs each) for the duration of the block and export
    CUDA_VISIBLE_DEVICES; marks the process as a GPU job (LBR_JOB_GPUS) even where lbr does not allocate."""
    if n <= 0:
        with _environ(JOB_GPUS_VAR, "0"):  # a CPU job by its rule: `auto` means the CPU (lbr.machine.device)
            yield Slots()
        return
    with _environ(JOB_GPUS_VAR, str(n)):
        if not enabled():
            yield Slots()
            return
        slots_per_job(jobs_per_gpu)  # a bad setting fails before any GPU is counted
        ids = device_ids()
        if not ids:
            log.info("no GPU visible: the job runs on the CPU")
            yield Slots()
            return
        torch = sys.modules.get("torch")
        if (torch is not None and torch.cuda.is_initialized()) or cuda_driver_initialised():
            raise LbrError(
                "CUDA was initialised (a CUDA call, or torch.cuda.is_available() or device_count()) before a GPU was "
                "assigned to this job, so the CUDA_VISIBLE_DEVICES it is given would be ignored; move CUDA calls "
                "into main() (or set PYTORCH_NVML_BASED_CUDA_CHECK=1 for code that only asks whether CUDA exists)."
            )
        timeout = os.environ.get("LBR_GPU_SLOT_TIMEOUT", "").strip()
        slots = acquire(n, ids, timeout=float(timeout) if timeout else None, jobs_per_gpu=jobs_per_gpu, label=label)
        try:
            with _environ("CUDA_VISIBLE_DEVICES", ",".join(slots.ids)):
                log.info(
                    "GPU slot: CUDA_VISIBLE_DEVICES=%s, %d of %d slots (jobs_per_gpu=%d; locks in %s)",
                    ",".join(slots.ids),
                    CAPACITY // jobs_per_gpu,
                    CAPACITY,
                    jobs_per_gpu,
                    slot_dir(),
                )
                yield slots
        finally:
            slots.release()


def holders(ids: list[str], directory: Path) -> dict[str, dict[str, int]]:
    """Who holds slots of each GPU: {gpu: {holder: slots held}}, read from the held slot files (free ones are
    taken and released again under the folder lock, so a holder that died is never listed)."""
    _make_folder(directory)
    with _folder_lock(directory):
        taken, held = _take_free(ids, directory)
        for fds in taken.values():
            Slots(files=fds).release()
    return held


def describe(held: dict[str, dict[str, int]]) -> str:
    """One line for messages: 'GPU 0: pid 12 train_classifier ... (6 of 12 slots); GPU 1: free'."""
    parts = []
    for gpu, owners in held.items():
        who = ", ".join(f"{owner} ({count} of {CAPACITY} slots)" for owner, count in owners.items())
        parts.append(f"GPU {gpu}: {who or 'free'}")
    return "; ".join(parts) or "no GPUs"


def _try_take(n: int, need: int, ids: list[str], directory: Path, owner: str, may_take: bool = True):
    """Under the folder lock: keep `need` slots on each of the `n` roomiest GPUs that have that many free, or
    none (always none unless `may_take`); returns (Slots or None, holders)."""
    taken, held = _take_free(ids, directory)
    roomy = sorted((gpu for gpu in ids if len(taken[gpu]) >= need), key=lambda gpu: -len(taken[gpu]))[:n]
    slots = None
    if may_take and len(roomy) == n:
        slots = Slots()
        for gpu in roomy:
            slots.ids.append(gpu)
            for fd in taken[gpu][:need]:
                os.pwrite(fd, f"{owner}\n".encode(), 0)
                slots.files.append(fd)
            taken[gpu] = taken[gpu][need:]
    for fds in taken.values():
        Slots(files=fds).release()
    return slots, held


def _take_free(ids: list[str], directory: Path) -> tuple[dict[str, list[int]], dict[str, dict[str, int]]]:
    """Lock every free slot of every GPU; returns the locked files per GPU and the holders of the others."""
    taken: dict[str, list[int]] = {}
    held: dict[str, dict[str, int]] = {}
    for gpu in ids:
        folder = directory / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', gpu)}"
        _make_folder(folder)
        taken[gpu], held[gpu] = [], {}
        for j in range(CAPACITY):
            fd = _open_shared(folder / f"slot-{j:02d}.lock")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "?"
                held[gpu][owner] = held[gpu].get(owner, 0) + 1
                os.close(fd)
                continue
            os.ftruncate(fd, 0)  # a free slot names nobody, even if its last holder was killed
            taken[gpu].append(fd)
    return taken, held


@contextlib.contextmanager
def _folder_lock(directory: Path) -> Iterator[None]:
    """One process at a time looks at and takes slots (held for milliseconds; dropped if the process dies)."""
    fd = _open_shared(directory / "acquire.lock")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _make_folder(folder: Path) -> None:
    """Create a lock folder (and its parents) that every user may use: world-writable with the sticky bit, as
    /tmp, since users who share GPUs share LBR_GPU_SLOT_DIR. A folder that exists is left as it is."""
    if folder.is_dir():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)  # the user's own folders keep their modes
    try:
        folder.mkdir()
    except FileExistsError:
        return
    with contextlib.suppress(OSError):
        os.chmod(folder, SHARED_FOLDER_MODE)  # past the umask


def _open_shared(path: Path) -> int:
    """Open a lock file for reading and writing, creating it readable and writable by every user (past the
    umask): a slot file made by one user's job must open in another user's job."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, SHARED_FILE_MODE)
    except FileExistsError:
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    with contextlib.suppress(OSError):
        os.fchmod(fd, SHARED_FILE_MODE)
    return fd


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """Set one environment variable for the block, then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
