"""Whether torch.compile can build its kernels on this machine. On a GPU, Triton compiles a small C launcher at
the first kernel with the C compiler it finds ($CC, else gcc, else clang) and Python's headers (Python.h); without
either, every compiled training step fails. `compile: auto` asks here first and runs eager where Triton cannot
build (lbr.training.policy). No torch import: `lbr doctor` asks too."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path


def c_compiler() -> str | None:
    """The C compiler Triton would use (as triton.runtime.build finds it): $CC, else gcc, else clang on PATH."""
    cc = os.environ.get("CC")
    if cc:
        return shutil.which(cc) or (cc if os.access(cc, os.X_OK) else None)
    return shutil.which("gcc") or shutil.which("clang")


def python_headers() -> Path | None:
    """The folder holding this Python's Python.h (as Triton looks for it), None when it is not installed."""
    scheme = sysconfig.get_default_scheme()
    scheme = "posix_prefix" if scheme == "posix_local" else scheme  # Debian's system Python
    include = Path(sysconfig.get_paths(scheme=scheme)["include"])
    return include if (include / "Python.h").is_file() else None


def compile_problem() -> str | None:
    """None when Triton can build its launcher here; else what is missing and how to get it, in one sentence."""
    missing = []
    if c_compiler() is None:
        cc = os.environ.get("CC")
        missing.append(f"the C compiler CC={cc} (not found)" if cc else "a C compiler (gcc or clang on PATH, or CC)")
    if python_headers() is None:
        missing.append(f"Python's headers (Python.h for Python {sysconfig.get_python_version()})")
    if not missing:
        return None
    return (
        f"torch.compile cannot build Triton kernels here: it needs {' and '.join(missing)}; install them (Debian "
        f"and Ubuntu: apt-get install gcc python{sysconfig.get_python_version()}-dev) or set compile: false"
    )
