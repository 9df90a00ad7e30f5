"""How big a dataset is, without loading it: train and test image counts and the image shape, for sizing jobs
while the workflow plans. A prepared split (results/data/<name>/train.npz) is read from its array header;
otherwise the registry's published sizes, a custom npz's header or a custom folder's file count are used."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
PUBLISHED = {  # name: (train images, test images, (C, H, W)) as the prepare step makes them
    "mnist": (60_000, 10_000, (1, 28, 28)),
    "fashion_mnist": (60_000, 10_000, (1, 28, 28)),
    "cifar10": (50_000, 10_000, (3, 32, 32)),
    "cifar100": (50_000, 10_000, (3, 32, 32)),
    "svhn": (73_257, 26_032, (3, 32, 32)),
    "imagenette": (9_469, 3_925, (3, 224, 224)),
    "tinyimagenet": (100_000, 10_000, (3, 64, 64)),
    "arabic_characters": (13_440, 3_360, (1, 32, 32)),
    "arabic_digits": (60_000, 10_000, (1, 28, 28)),
    "digits": (1_347, 450, (1, 8, 8)),
}
ASSUMED = (50_000, 10_000, (3, 32, 32))  # a custom dataset whose files are not there yet


@dataclass(frozen=True)
class DatasetSize:
    n_train: int
    n_test: int
    shape: tuple[int, int, int]  # C, H, W
    source: str  # prepared | published | options | files | assumed

    @property
    def pixels(self) -> int:
        return int(np.prod(self.shape))


def npz_shape(path: str | os.PathLike, key: str = "x") -> tuple[int, ...] | None:
    """Shape of array `key` in an .npz, read from its header only (None when unreadable)."""
    try:
        with zipfile.ZipFile(path) as z, z.open(f"{key}.npy") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            return tuple(int(s) for s in read(f)[0])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _chw(nhwc: tuple[int, ...]) -> tuple[int, int, int]:
    """N x H x W [x C] -> (C, H, W)."""
    return (int(nhwc[3]) if len(nhwc) > 3 else 1), int(nhwc[1]), int(nhwc[2])


def _count_images(folder: Path) -> int:
    return sum(1 for _, _, files in os.walk(folder) for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES)


def dataset_size(config: dict, name: str, prepared: str | os.PathLike = "results/data") -> DatasetSize:
    """Sizes of dataset `name` under `config` (its options, custom entries), best source first."""
    train, test = Path(prepared) / name / "train.npz", Path(prepared) / name / "test.npz"
    a, b = npz_shape(train), npz_shape(test)
    if a and b:
        return DatasetSize(a[0], b[0], _chw(a), "prepared")
    custom = config.get("custom_datasets", {}).get(name)
    if custom is not None:
        return _custom_size(custom)
    if name == "synthetic":
        o = config.get("datasets", {}).get("synthetic", {})
        shape = (o.get("channels", 3), o.get("height", 32), o.get("width", 32))
        return DatasetSize(o.get("n_train", 4000), o.get("n_test", 500), shape, "options")
    if name == "imagenette":
        size = config.get("datasets", {}).get("imagenette", {}).get("size", 224)
        n_train, n_test, _ = PUBLISHED[name]
        return DatasetSize(n_train, n_test, (3, size, size), "published")
    if name in PUBLISHED:
        n_train, n_test, shape = PUBLISHED[name]
        return DatasetSize(n_train, n_test, shape, "published")
    return DatasetSize(*ASSUMED, "assumed")


def _custom_size(entry: dict) -> DatasetSize:
    if entry.get("format") == "npz":
        a, b = npz_shape(entry.get("train", "")), npz_shape(entry.get("test", ""))
        if a and b:
            return DatasetSize(a[0], b[0], _chw(a), "files")
        return DatasetSize(*ASSUMED, "assumed")
    root = Path(entry.get("root", ""))
    channels = 1 if entry.get("mode") == "L" else 3
    size = entry.get("size") or ASSUMED[2][1]
    if (root / "train").is_dir() and (root / "test").is_dir():
        return DatasetSize(_count_images(root / "train"), _count_images(root / "test"), (channels, size, size), "files")
    return DatasetSize(ASSUMED[0], ASSUMED[1], (channels, size, size), "assumed")
