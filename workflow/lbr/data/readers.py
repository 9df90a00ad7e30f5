"""Readers from each dataset's native files to canonical arrays: x uint8 (N, H, W, C), y int64, class names."""

from __future__ import annotations

import csv
import gzip
import itertools
import logging
import pickle
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from lbr.data.content import IMAGE_SUFFIXES, list_image_folder
from lbr.data.registry import AHCD_CLASSES, AHDD_CLASSES, IMAGENETTE_CLASSES
from lbr.errors import LbrError
from lbr.machine.progress import Progress

log = logging.getLogger("lbr.readers")
Split = tuple[np.ndarray, np.ndarray]


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an MNIST-style idx file (plain or .gz), checking its header against its length."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise LbrError(f"{path} is not a readable idx file ({err}); delete it and rerun to fetch it again.") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise LbrError(f"{path} is not an unsigned-byte idx file; delete it and rerun to fetch it again.")
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise LbrError(f"{path} is truncated: its header announces {dims} but the payload size differs.")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _idx_splits(files: dict, classes: list[str]) -> dict:
    out = {}
    for split in ("train", "test"):
        x = read_idx(files[f"{split}_images"])[..., None]
        y = read_idx(files[f"{split}_labels"]).astype(np.int64)
        if len(x) != len(y):
            raise LbrError(f"{split} images and labels differ in count ({len(x)} vs {len(y)}); re-download them.")
        out[split] = (np.ascontiguousarray(x), y)
    return out | {"classes": classes}


def read_mnist(files: dict, options: dict) -> dict:
    return _idx_splits(files, [str(i) for i in range(10)])


FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_fashion(files: dict, options: dict) -> dict:
    return _idx_splits(files, FASHION_CLASSES)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as err:
        raise LbrError(f"{path} is not a readable CIFAR batch ({err}); delete it and rerun.") from err


def _cifar_images(batch: dict) -> np.ndarray:
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def read_cifar10(files: dict, options: dict) -> dict:
    root = Path(files["root"])
    train = [_unpickle(root / f"data_batch_{i}") for i in range(1, 6)]
    test = _unpickle(root / "test_batch")
    meta = _unpickle(root / "batches.meta")
    return {
        "train": (np.concatenate([_cifar_images(b) for b in train]), np.concatenate([b[b"labels"] for b in train])),
        "test": (_cifar_images(test), np.asarray(test[b"labels"])),
        "classes": [c.decode() for c in meta[b"label_names"]],
    }


def read_cifar100(files: dict, options: dict) -> dict:
    root = Path(files["root"])
    train, test, meta = (_unpickle(root / n) for n in ("train", "test", "meta"))
    return {
        "train": (_cifar_images(train), np.asarray(train[b"fine_labels"])),
        "test": (_cifar_images(test), np.asarray(test[b"fine_labels"])),
        "classes": [c.decode() for c in meta[b"fine_label_names"]],
    }


def read_svhn(files: dict, options: dict) -> dict:
    from scipy.io import loadmat

    out = {"classes": [str(i) for i in range(10)]}
    for split in ("train", "test"):
        try:
            mat = loadmat(files[split])
        except (OSError, ValueError) as err:
            raise LbrError(f"{files[split]} is not a readable SVHN .mat file ({err}); delete it and rerun.") from err
        x = np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2))
        y = mat["y"].astype(np.int64).reshape(-1)
        y[y == 10] = 0
        out[split] = (x, y)
    return out


DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)
DAMAGED_COPY = "delete the extracted folder it is in and rerun to extract the archive again"


class UndecodableImage(LbrError):
    """An image file that PIL cannot decode (truncated, corrupt, not an image): its path and why."""

    def __init__(self, path: Path, reason: str, fix: str = DAMAGED_COPY):
        self.path, self.reason = path, reason
        super().__init__(f"image {path} cannot be decoded ({reason}); {fix}.")


def _load_image(path: Path, size: int | None, resize: int | None, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            if resize:
                w, h = im.size
                scale = resize / min(w, h)
                im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
            if size:
                w, h = im.size
                left, top = round((w - size) / 2), round((h - size) / 2)
                im = im.crop((left, top, left + size, top + size))
            arr = np.asarray(im, dtype=np.uint8)
    except DECODE_ERRORS as err:
        raise UndecodableImage(path, str(err) or type(err).__name__) from None
    return arr[..., None] if arr.ndim == 2 else arr


def decode_images(
    paths: list[Path],
    size: int | None = None,
    resize: int | None = None,
    mode: str = "RGB",
    threads: int = 1,
    what: str = "images",
    skip_corrupt: bool = False,
    fix: str = DAMAGED_COPY,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode images into one uint8 array, optionally resizing the short side and center-cropping; logs its
    progress (`what` names the images in the log). Returns (images, indices into `paths` of those decoded).

    A file that does not decode stops the job with a sentence naming it and `fix`; with `skip_corrupt` it is
    logged and left out instead, and the number left out is logged at the end."""
    if not paths:
        return np.zeros((0, size or 1, size or 1, 3 if mode == "RGB" else 1), np.uint8), np.zeros(0, np.int64)

    def load(path: Path) -> np.ndarray | None:
        try:
            return _load_image(path, size, resize, mode)
        except UndecodableImage as err:
            if not skip_corrupt:
                raise UndecodableImage(path, err.reason, fix) from None
            log.warning("skipped %s: it cannot be decoded (%s)", path, err.reason)
            return None

    out, kept = None, []
    pool = ThreadPoolExecutor(max(1, threads))
    try:
        with Progress(f"decoding {what}", len(paths), "images", logger=log) as progress:
            for i, arr in enumerate(pool.map(load, paths)):
                progress.advance()
                if arr is None:
                    continue
                if out is None:
                    out = np.empty((len(paths), *arr.shape), np.uint8)
                elif arr.shape != out.shape[1:]:
                    raise LbrError(
                        f"image {paths[i]} decodes to shape {arr.shape}, not {out.shape[1:]} like {paths[kept[0]]}; "
                        "set a size for this dataset."
                    )
                out[len(kept)] = arr
                kept.append(i)
    finally:
        pool.shutdown(cancel_futures=True)  # a stop at the first bad image does not wait for the rest to decode
    skipped = len(paths) - len(kept)
    if skipped:
        log.warning("%s: skipped %d of %d images that cannot be decoded", what, skipped, len(paths))
    if out is None:
        raise LbrError(f"none of the {len(paths)} {what} images can be decoded; check the files.")
    return out[: len(kept)], np.asarray(kept, dtype=np.int64)


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_imagenette(files: dict, options: dict) -> dict:
    root = Path(files["root"])
    size = int(options.get("size", 224))
    resize = int(options.get("resize") or round(size * 256 / 224))
    wnids = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    unknown = [w for w in wnids if w not in IMAGENETTE_CLASSES]
    if unknown:
        raise LbrError(f"{root}/train has folders {unknown} that are not Imagenette classes; is this Imagenette?")
    out = {"classes": [IMAGENETTE_CLASSES[w] for w in wnids]}
    for split, folder in (("train", "train"), ("test", "val")):
        paths, labels = [], []
        for i, w in enumerate(wnids):
            found = _list_images(root / folder / w)
            paths += found
            labels += [i] * len(found)
        log.info("imagenette %s: %d images -> %dx%d", split, len(paths), size, size)
        out[split] = (
            decode_images(paths, size, resize, "RGB", options.get("threads", 1), f"imagenette {split}")[0],
            np.asarray(labels),
        )
    return out


def read_tinyimagenet(files: dict, options: dict) -> dict:
    root = Path(files["root"])
    wnids = sorted(line.strip() for line in (root / "wnids.txt").read_text().splitlines() if line.strip())
    words = {}
    for line in (root / "words.txt").read_text().splitlines():
        if "\t" in line:
            wnid, names = line.split("\t", 1)
            words[wnid] = names.split(",")[0].strip()
    index = {w: i for i, w in enumerate(wnids)}
    train_paths, train_labels = [], []
    for w in wnids:
        found = _list_images(root / "train" / w / "images")
        train_paths += found
        train_labels += [index[w]] * len(found)
    val_paths, val_labels = [], []
    for row in csv.reader((root / "val" / "val_annotations.txt").read_text().splitlines(), delimiter="\t"):
        if len(row) >= 2:
            if row[1] not in index:
                raise LbrError(f"val_annotations.txt names class {row[1]} absent from wnids.txt; re-extract the zip.")
            val_paths.append(root / "val" / "images" / row[0])
            val_labels.append(index[row[1]])
    threads = options.get("threads", 1)
    log.info("tinyimagenet: %d train, %d val images", len(train_paths), len(val_paths))
    return {
        "train": (decode_images(train_paths, threads=threads, what="tinyimagenet train")[0], np.asarray(train_labels)),
        "test": (decode_images(val_paths, threads=threads, what="tinyimagenet val")[0], np.asarray(val_labels)),
        "classes": [words.get(w, w) for w in wnids],
    }


def _find_one(root: Path, stem: str, dataset: str) -> Path:
    found = sorted(p for p in root.rglob("*.csv") if p.name.lower().startswith(stem.lower()))
    if not found:
        raise LbrError(
            f"no {stem}*.csv under {root}; the archive in datasets.{dataset}.archive must hold four CSV files "
            "(csvTrainImages, csvTrainLabel, csvTestImages, csvTestLabel)."
        )
    return found[0]


def _count_lines(path: Path) -> int:
    """Lines of a text file, the last one counted also without its newline."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines, last = lines + block.count(b"\n"), block[-1:]
    return lines + (last != b"\n")


def read_csv_rows(path: Path, chunk: int = 4096) -> np.ndarray:
    """A headerless numeric CSV as a 2-D float array, parsed in chunks of rows with progress (tens of
    thousands of rows of 784 or 1024 values take a while)."""
    parts = []
    try:
        with open(path) as fh, Progress(f"parsing {path.name}", _count_lines(path), "rows", logger=log) as progress:
            while lines := list(itertools.islice(fh, chunk)):
                parts.append(np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2))
                progress.advance(len(lines))
        return np.concatenate([p for p in parts if p.size])
    except ValueError as err:
        raise LbrError(f"{path} is not a CSV of numbers with one image per row ({err}); replace it.") from err


def read_csv_archive(files: dict, dataset: str, side: int, classes: list[str], first_label: int) -> dict:
    """AHCD and AHDD: four headerless CSVs, one side x side image per row stored column-major (hence the
    transpose), labels first_label .. first_label + len(classes) - 1 (made 0-based)."""
    root = Path(files["root"])
    out = {"classes": list(classes)}
    for split, img, lab in (("train", "csvTrainImages", "csvTrainLabel"), ("test", "csvTestImages", "csvTestLabel")):
        images, labels = _find_one(root, img, dataset), _find_one(root, lab, dataset)
        x = read_csv_rows(images)
        y = read_csv_rows(labels).reshape(-1).astype(np.int64)
        if x.shape[1] != side * side or len(x) != len(y):
            raise LbrError(
                f"{images} holds {x.shape[0]} rows of {x.shape[1]} values for {len(y)} labels, not one {side}x{side} "
                f"image per label; is datasets.{dataset}.archive the right archive?"
            )
        last = first_label + len(classes) - 1
        if y.min() < first_label or y.max() > last:
            raise LbrError(
                f"{labels} holds labels {y.min()}..{y.max()}, not {first_label}..{last}; is "
                f"datasets.{dataset}.archive the right archive?"
            )
        x = x.reshape(-1, side, side).transpose(0, 2, 1)[..., None]
        out[split] = (np.clip(x, 0, 255).astype(np.uint8), y - first_label)
    return out


def read_ahcd(files: dict, options: dict) -> dict:
    """Arabic handwritten characters (AHCD): 32x32, labels 1..28."""
    return read_csv_archive(files, "arabic_characters", 32, AHCD_CLASSES, first_label=1)


def read_ahdd(files: dict, options: dict) -> dict:
    """Arabic handwritten digits (AHDD1 / MADBase): 28x28, labels 0..9."""
    return read_csv_archive(files, "arabic_digits", 28, AHDD_CLASSES, first_label=0)


def as_pixels(x: np.ndarray, path: str) -> np.ndarray:
    """A user's images as uint8 pixels: uint8 as is, numbers in [0, 1] scaled by 255, numbers in [0, 255] kept;
    both rounded to the nearest pixel value. Anything else (negative, above 255, NaN: standardized or 16-bit
    images) is refused rather than clipped into wrong pixels."""
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "iuf":
        raise LbrError(f"{path}: x holds {x.dtype} values, not numbers; save the images as uint8 pixels.")
    lo, hi = (x.min(), x.max()) if x.size else (0, 0)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo and hi <= 255):
        raise LbrError(
            f"{path}: x holds values from {lo:g} to {hi:g}, not pixels; save the images as uint8, or as numbers "
            "in [0, 1] or [0, 255]."
        )
    if x.dtype.kind == "f":
        x = np.rint(x * 255 if hi <= 1 else x)
    return x.astype(np.uint8)


def read_npz_pair(train: str, test: str) -> dict:
    """A user's own data: two .npz files with `x` (N,H,W[,C]) and `y`, optionally `classes`."""
    out = {}
    for split, path in (("train", train), ("test", test)):
        if not Path(path).is_file():
            raise LbrError(f"custom dataset file {path} does not exist; fix its path under custom_datasets.")
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z or "y" not in z:
                raise LbrError(f"{path} must hold arrays 'x' (N,H,W[,C]) and 'y' (N,); it has {list(z.keys())}.")
            x, y = z["x"], z["y"]
            if "classes" in z:
                out["classes"] = [str(c) for c in z["classes"]]
        if x.ndim == 3:
            x = x[..., None]
        out[split] = (as_pixels(x, path), y.astype(np.int64).reshape(-1))
    if "classes" not in out:
        n = int(max(out["train"][1].max(), out["test"][1].max())) + 1
        out["classes"] = [str(i) for i in range(n)]
    return out


def read_image_folder(
    root: str, size: int | None, mode: str = "RGB", threads: int = 1, dataset: str = "", skip_corrupt: bool = False
) -> dict:
    """A user's own images: root/{train,test}/<class>/<image>; class names are the folder names, listed as the
    workflow lists them while it plans (`content.list_image_folder`). An image that does not decode stops the
    job naming it, unless skip_corrupt leaves it out (logged)."""
    listing = list_image_folder(root, dataset)
    fix = (
        f"remove it from {listing.root}, or set custom_datasets.{dataset}.skip_corrupt: true to leave out every image "
        "that does not decode (each is logged)"
    )
    out = {"classes": list(listing.classes)}
    for split in ("train", "test"):
        paths, labels = listing.paths(split)
        resize = size if size else None
        x, kept = decode_images(paths, size, resize, mode, threads, f"{listing.root / split}", skip_corrupt, fix)
        out[split] = (x, np.asarray(labels, dtype=np.int64)[kept])
    return out


READERS: dict[str, Callable[[dict, dict], dict]] = {
    "mnist_idx": read_mnist,
    "fashion_idx": read_fashion,
    "cifar10": read_cifar10,
    "cifar100": read_cifar100,
    "svhn": read_svhn,
    "imagenette": read_imagenette,
    "tinyimagenet": read_tinyimagenet,
    "ahcd": read_ahcd,
    "ahdd": read_ahdd,
}
