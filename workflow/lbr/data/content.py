"""What a dataset is read from, listed cheaply enough to do while the workflow plans.

A dataset's files are inputs of its `prepare` job, but a folder of 100,000 images cannot be 100,000 Snakemake
inputs. Instead the rule's params (the dataset's options, workflow/rules/common.smk) carry a *fingerprint*: a
hash of the relative path, size and mtime (ns) of every file the reader reads. Adding, removing, replacing or
touching one file changes it, so Snakemake plans `prepare` (reason: params changed) and everything downstream,
and nothing else; no image is opened.

The listing of a custom image folder (root/{train,test}/<class>/<image>) is the one the reader decodes, so the
fingerprint covers exactly what is read, and the class folders are checked here, while planning, as well as when
the job runs. Only numpy-free standard library: the Snakefile imports this while it plans.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lbr.errors import LbrError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
SPLITS = ("train", "test")
Entry = tuple[str, int, int]  # (path relative to the listed root, size in bytes, mtime in ns)


def fingerprint(entries: Iterable[Entry], unit: str = "files") -> dict:
    """{unit: count, bytes: total size, sha256: first 20 hex digits of the hash of every (path, size, mtime_ns)},
    the entries sorted by path so that the listing order does not matter."""
    entries = sorted(entries)
    text = "".join(f"{rel}\t{size}\t{mtime_ns}\n" for rel, size, mtime_ns in entries)
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    return {unit: len(entries), "bytes": sum(size for _, size, _ in entries), "sha256": digest[:20]}


def _images(folder: str, prefix: str) -> list[Entry]:
    """The images directly inside `folder` (hidden files and other suffixes left out), sorted by name. One stat
    per image, the rest string work: 100,000 images take about 0.4 s of CPU (bench/listing.py)."""
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            name = entry.name
            if name[0] == "." or name[name.rfind(".") :].lower() not in IMAGE_SUFFIXES or not entry.is_file():
                continue
            st = entry.stat()
            out.append((f"{prefix}/{name}", st.st_size, st.st_mtime_ns))
    out.sort()
    return out


@dataclass(frozen=True)
class FolderListing:
    """A custom image folder as the reader reads it: the class names (sorted) and, per split, the images of
    each class in order, as (path relative to root, size, mtime_ns)."""

    root: Path
    classes: tuple[str, ...]
    images: dict[str, dict[str, list[Entry]]]

    def paths(self, split: str) -> tuple[list[Path], list[int]]:
        """Absolute paths of one split's images and their labels (class index), class by class."""
        paths, labels = [], []
        for label, name in enumerate(self.classes):
            found = self.images[split][name]
            paths += [self.root / rel for rel, _, _ in found]
            labels += [label] * len(found)
        return paths, labels

    def fingerprint(self) -> dict:
        return fingerprint((e for split in SPLITS for found in self.images[split].values() for e in found), "images")


def list_image_folder(root: str | os.PathLike, dataset: str) -> FolderListing:
    """List root/{train,test}/<class>/<image>: a class is a sub-folder holding at least one image (hidden
    folders and files, and files that are not images, are left out). Train and test must name the same classes;
    otherwise one sentence says which classes only one split has and what to do."""
    root = Path(root)
    where = f"custom_datasets.{dataset}.root"
    if not root.is_dir():
        raise LbrError(
            f"{where} {root} is not a folder; fix the path (the layout is root/{{train,test}}/<class>/<image>)."
        )
    missing = [split for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise LbrError(
            f"{where} {root} has no {' and no '.join(m + '/' for m in missing)} folder; lay it out as "
            "root/{train,test}/<class>/<image> with one sub-folder per class."
        )
    images: dict[str, dict[str, list[Entry]]] = {}
    for split in SPLITS:
        images[split] = {}
        with os.scandir(root / split) as it:
            folders = sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))
        for name in folders:
            found = _images(os.path.join(root, split, name), f"{split}/{name}")
            if found:
                images[split][name] = found
    train, test = set(images["train"]), set(images["test"])
    if train != test:
        raise LbrError(class_mismatch(dataset, root, train, test))
    if not train:
        raise LbrError(
            f"{where} {root} holds no images in train/<class>/ folders (image suffixes: "
            f"{', '.join(sorted(IMAGE_SUFFIXES))}); put one sub-folder per class with its images there."
        )
    return FolderListing(root, tuple(sorted(train)), images)


def class_mismatch(dataset: str, root: Path, train: set[str], test: set[str]) -> str:
    """One sentence naming the classes only one split has, and what to do."""
    parts = []
    for split, only in (("train", sorted(train - test)), ("test", sorted(test - train))):
        if only:
            parts.append(f"only in {split}/: {', '.join(only)}")
    return (
        f"custom dataset '{dataset}' ({root}): train/ and test/ have different class folders ({'; '.join(parts)}; "
        "a folder without images counts as absent); give both splits the same classes, each with at least one "
        "image: add the missing images, or move or delete the extra folders."
    )


def _walk(path: Path, rel: str) -> Iterator[Entry]:
    """(relative path, size, mtime_ns) of a file, or of every file under a folder (recursively, links followed
    for files only)."""
    if path.is_file():
        st = path.stat()
        yield rel, st.st_size, st.st_mtime_ns
        return
    stack = [(str(path), rel)]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                name = f"{prefix}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, name))
                elif entry.is_file():
                    st = entry.stat()
                    yield name, st.st_size, st.st_mtime_ns


def files_fingerprint(paths: Iterable[tuple[str | os.PathLike, str]]) -> dict:
    """Fingerprint of files and folders given as (path, name it is listed under); absent ones count as absent
    (the rule that reads them reports them)."""
    entries: list[Entry] = []
    for path, rel in paths:
        path = Path(path)
        if path.exists():
            entries += _walk(path, rel)
        else:
            entries.append((f"{rel} (absent)", 0, 0))
    return fingerprint(entries)


def dataset_fingerprint(spec, options: dict, data_root: str | os.PathLike | None, download_dir: str | os.PathLike):
    """What `prepare` reads for one dataset, fingerprinted (None when there is nothing to list):
    - a custom image folder: every image the reader decodes (its class folders checked on the way);
    - a custom npz pair: both files;
    - a registered dataset: its copies in data_root and the archive given in its options, if any. Copies in the
      download folder are left out: the workflow writes them itself, so listing them would make a finished
      download look changed (and a data_root that is the download folder counts as none);
    - built-in data: nothing (its options are the rule's params already)."""
    if spec.kind == "builtin":
        return None
    if spec.kind == "custom":
        if spec.reader == "folder":
            return list_image_folder(options["root"], spec.name).fingerprint()
        return files_fingerprint((options[split], split) for split in SPLITS)
    paths = []
    if options.get("archive"):
        paths.append((options["archive"], "archive"))
    if data_root and Path(data_root).resolve() != Path(download_dir).resolve():
        root = Path(data_root)
        names = sorted({name for rf in spec.files for name in (rf.name, rf.unpacked) if name})
        paths += [(root / name, name) for name in names if (root / name).exists()]
    return files_fingerprint(paths) if paths else None
