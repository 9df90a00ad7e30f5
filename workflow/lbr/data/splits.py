"""From raw files (or generators) to the canonical split files every later stage reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lbr.data import builtin, readers
from lbr.data.registry import DatasetSpec
from lbr.errors import LbrError
from lbr.io import save_npz


def prepare(spec: DatasetSpec, options: dict, manifest: dict | None, threads: int = 1) -> dict:
    """Return {'train': (x, y), 'test': (x, y), 'classes': [...]} for one dataset, validated."""
    options = {k: v for k, v in (options or {}).items() if k != "content"}  # the planner's fingerprint of the files
    options.setdefault("threads", threads)
    if spec.kind == "builtin":
        params = {k: v for k, v in options.items() if k != "threads"}
        data = getattr(builtin, spec.name)(**params)
    elif spec.kind == "custom":
        if spec.reader == "npz":
            data = readers.read_npz_pair(options["train"], options["test"])
        elif spec.reader == "folder":
            data = readers.read_image_folder(
                options["root"],
                options.get("size"),
                options.get("mode", "RGB"),
                threads,
                spec.name,
                bool(options.get("skip_corrupt", False)),
            )
        else:
            raise LbrError(f"custom dataset '{spec.name}' has format '{spec.reader}'; use npz or folder.")
    else:
        if manifest is None:
            raise LbrError(f"dataset '{spec.name}' needs its raw files; run the download rule first.")
        missing = [p for p in manifest["files"].values() if not Path(p).exists()]
        if missing:
            raise LbrError(
                f"raw files {missing} recorded for '{spec.name}' are gone; rerun with -R download_{spec.name}."
            )
        data = readers.READERS[spec.reader](manifest["files"], options)
    for split in ("train", "test"):
        validate_split(spec.name, split, *data[split], data["classes"])
    if data["train"][0].shape[1:] != data["test"][0].shape[1:]:
        raise LbrError(f"{spec.name}: train and test images differ in shape; set a common size for this dataset.")
    return data


def validate_split(name: str, split: str, x: np.ndarray, y: np.ndarray, classes: list[str]) -> None:
    """Check the canonical contract so that no later stage sees malformed data."""
    if x.dtype != np.uint8 or x.ndim != 4:
        raise LbrError(f"{name}/{split}: images must be uint8 N x H x W x C, got {x.dtype} {x.shape}.")
    if y.ndim != 1 or len(y) != len(x):
        raise LbrError(f"{name}/{split}: {len(x)} images but labels of shape {y.shape}.")
    if len(x) == 0:
        raise LbrError(f"{name}/{split} is empty; check the dataset's files.")
    if y.min() < 0 or y.max() >= len(classes):
        raise LbrError(f"{name}/{split}: labels span {y.min()}..{y.max()} but there are {len(classes)} classes.")


def save_split(path: str | Path, x: np.ndarray, y: np.ndarray, classes: list[str]) -> None:
    save_npz(path, x=np.ascontiguousarray(x, np.uint8), y=y.astype(np.int64), classes=np.asarray(classes, dtype=str))


def load_split(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a canonical split file: (x uint8 N x H x W x C, y int64, class names)."""
    with np.load(path, allow_pickle=False) as z:
        return z["x"], z["y"], [str(c) for c in z["classes"]]
