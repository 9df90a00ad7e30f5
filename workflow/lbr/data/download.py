"""Find or fetch a dataset's raw files: data_root first, then the download folder, then the network.

A copy found under its registry name in data_root or the download folder is used only if its md5 matches
(or config `sources` sets another md5, or null); otherwise the run stops naming the file, its md5 and how to
accept it. Every download is verified against its md5 before it gets its final name; every extraction
happens in a temporary folder renamed into place at the end, so an interrupted or corrupt fetch leaves
nothing that looks finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from lbr.data.registry import DatasetSpec, RemoteFile
from lbr.errors import LbrError
from lbr.machine.progress import Progress, heartbeat

log = logging.getLogger("lbr.download")
MARKER = ".lbr-complete"
BIG_FILE = 1 << 30  # bytes: md5 of larger files logs its progress
UNREADABLE = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError)  # a damaged archive raises these


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The md5 of a file; files over BIG_FILE log their progress."""
    h = hashlib.md5()
    size = os.path.getsize(path)
    progress = Progress(f"md5 of {Path(path).name}", size / chunk, "MiB", logger=log) if size > BIG_FILE else None
    with open(path, "rb") as fh, progress or contextlib.nullcontext():
        while block := fh.read(chunk):
            h.update(block)
            if progress:
                progress.advance(len(block) / chunk)
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """A copy of a registry file whose md5 differs: where it is, its key under config `sources`, both md5s,
    and what is wrong with its format, if anything (truncated, corrupt)."""

    path: Path
    key: str
    got: str
    expected: str
    damage: str | None


class MismatchError(LbrError):
    """Copies of one dataset's files that differ from the registry, in one sentence that names each and says
    how to accept them all: a `sources` entry to paste into a config file."""

    def __init__(self, dataset: str, mismatches: list[Mismatch]):
        self.dataset, self.mismatches = dataset, mismatches
        super().__init__(_describe(dataset, mismatches))


def _describe(dataset: str, mismatches: list[Mismatch]) -> str:
    damaged = [m for m in mismatches if m.damage]
    it = "it" if len(damaged or mismatches) == 1 else "them"
    if damaged:
        listing = "; ".join(f"{m.path} is {m.damage} (md5 {m.got}, expected {m.expected})" for m in damaged)
        return f"{listing}; replace {it} with a good copy or delete {it}."
    listing = "; ".join(f"{m.path} has md5 {m.got}, not the expected {m.expected}" for m in mismatches)
    accept = ", ".join(f'"{m.key}": {{md5: "{m.got}"}}' for m in mismatches)
    return (
        f"{listing} (a repacked, re-compressed or different copy); replace {it} with the original download, "
        f"delete {it}, or accept {it} by adding `sources: {{{dataset}: {{{accept}}}}}` to a config file (md5: null "
        "instead skips the check)."
    )


def _damage(path: Path) -> str | None:
    """What is wrong with an archive or .gz file that does not read to its end; None when it does, and for
    formats this cannot check."""
    name = path.name.lower()
    try:
        with heartbeat(f"reading {path.name} to its end", logger=log):
            if name.endswith(".zip"):
                if not zipfile.is_zipfile(path):
                    return "not a readable zip archive (truncated or corrupt)"
                with zipfile.ZipFile(path) as zf:
                    bad = zf.testzip()
                return f"corrupt (its member {bad} fails its checksum)" if bad else None
            if name.endswith((".tar", ".tar.gz", ".tgz")):
                with tarfile.open(path) as tf:
                    for member in tf:
                        if member.isfile():
                            tf.extractfile(member).read()
            elif name.endswith(".gz"):
                with gzip.open(path) as fh:
                    while fh.read(1 << 20):
                        pass
    except UNREADABLE as err:
        return f"truncated or corrupt ({err})"
    return None


def _mismatches(path: Path, key: str, expected: str | None) -> list[Mismatch]:
    """[] when the file at `path` has the `expected` md5 (or none is expected), else what differs."""
    if expected is None:
        return []
    got = md5sum(path)
    return [] if got == expected else [Mismatch(path, key, got, expected, _damage(path))]


def _copy_problem(path: Path, key: str, rf: RemoteFile, dataset: str) -> LbrError | None:
    """Why a copy of `rf` found at `path` (its registry path `key`) cannot be used, or None when it can.

    A file must match its md5. A folder we extracted from a verified archive (it holds our marker) needs its
    files; one extracted by someone else (torchvision) also their md5 where the registry knows it."""
    if key != rf.unpacked or not rf.archive:
        found = _mismatches(path, key, rf.unpacked_md5 if key == rf.unpacked else rf.md5)
        return MismatchError(dataset, found) if found else None
    missing = [rel for rel, _ in rf.contents if not (path / rel).exists()]
    if missing:
        return LbrError(
            f"{path} lacks {', '.join(missing)}, so it is not a complete copy of {rf.unpacked}; complete it from "
            "the original archive or delete it."
        )
    if (path / MARKER).exists():
        return None
    found = [m for rel, md5 in rf.contents for m in _mismatches(path / rel, f"{key}/{rel}", md5)]
    return MismatchError(dataset, found) if found else None


def _local_copy(rf: RemoteFile, roots: list[tuple[Path, str]], dataset: str) -> tuple[Path, str] | None:
    """The first usable copy of `rf` under its registry name in data_root or the download folder, unpacked
    form first, as (path, origin); None when there is no copy at all; raise the problem of the first copy
    found when none is usable."""
    problems = []
    for key in [k for k in (rf.unpacked, rf.name) if k]:
        for root, origin in roots:
            path = root / key
            if not (path.is_dir() if rf.archive and key == rf.unpacked else path.is_file()):
                continue
            problem = _copy_problem(path, key, rf, dataset)
            if problem is None:
                for skipped in problems:
                    log.warning("not used: %s", skipped)
                return path, origin
            problems.append(problem)
    if problems:
        raise problems[0]
    return None


def fetch(urls: list[str] | tuple[str, ...], dest: Path, md5: str | None, timeout: float = 60.0) -> None:
    """Download the first URL that answers into `dest`, verified against `md5`; raise LbrError otherwise."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            t0 = time.time()
            log.info("downloading %s", url)
            req = urllib.request.Request(url, headers={"User-Agent": "lbr/0.1"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                expected = resp.headers.get("Content-Length")
                shutil.copyfileobj(resp, out, length=1 << 20)
            size = tmp.stat().st_size
            if expected is not None and size != int(expected):
                failures.append(f"{url}: truncated ({size} of {expected} bytes)")
                continue
            if md5 is not None:
                got = md5sum(tmp)
                if got != md5:
                    failures.append(f"{url}: md5 {got} does not match the expected {md5} (corrupt or truncated)")
                    continue
            os.replace(tmp, dest)
            log.info("downloaded %s (%.1f MB in %.1f s)", dest.name, size / 1e6, time.time() - t0)
            return
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            failures.append(f"{url}: {reason}")
        finally:
            tmp.unlink(missing_ok=True)
    raise LbrError(
        f"could not download {dest.name} ({'; '.join(failures) or 'no URL known'}); with no network, download it "
        f"elsewhere and place it at {dest}, or set data_root to a folder that holds the torchvision layout."
    )


def extract(archive: Path, dest_dir: Path, unpacked: str) -> Path:
    """Extract `archive` so that `dest_dir/unpacked` holds its content; atomic via a temporary folder."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / unpacked
    tmp = Path(tempfile.mkdtemp(prefix=f".{unpacked}.", suffix=".partial", dir=dest_dir))
    try:
        try:
            with heartbeat(f"extracting {archive}", logger=log):
                if zipfile.is_zipfile(archive):
                    with zipfile.ZipFile(archive) as zf:
                        zf.extractall(tmp)
                else:
                    with tarfile.open(archive) as tf:
                        tf.extractall(tmp, filter="data")
        except UNREADABLE as err:
            raise LbrError(
                f"archive {archive} is corrupt or truncated ({err}); replace it with a good copy or delete it "
                "and rerun."
            ) from err
        inner = tmp / unpacked
        source = inner if inner.is_dir() else tmp
        (source / MARKER).write_text(f"extracted from {archive.name}\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(source, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def with_sources(rf: RemoteFile, sources: dict) -> RemoteFile:
    """Apply a dataset's config `sources` entries to one file of the registry: URLs and md5 of the file (by
    name or key), md5 of its unpacked file, and md5 of each file of its extracted folder (by path)."""

    def md5(key: str | None, current: str | None) -> str | None:
        entry = (sources.get(key) or {}) if key else {}
        return entry["md5"] if "md5" in entry else current

    entry = sources.get(rf.name) or sources.get(rf.key) or {}
    return dataclasses.replace(
        rf,
        urls=tuple(entry.get("urls", rf.urls)),
        md5=entry["md5"] if "md5" in entry else rf.md5,
        unpacked_md5=md5(rf.unpacked, rf.unpacked_md5),
        contents=tuple((rel, md5(f"{rf.unpacked}/{rel}", m)) for rel, m in rf.contents),
    )


def _local_source(
    rf: RemoteFile, roots: list[tuple[Path, str]], dataset: str, local_archive: Path | None
) -> tuple[Path, str] | None:
    """Where `rf` already is, as (path, origin): the archive given in config, which wins so that pointing
    config at another archive never reuses an older extraction; else the first usable copy in `roots`."""
    if local_archive is None:
        return _local_copy(rf, roots, dataset)
    if not local_archive.is_file():
        raise LbrError(f"the archive {local_archive} given in config does not exist; fix the path.")
    found = _mismatches(local_archive, rf.name, rf.md5)
    if found:
        raise MismatchError(dataset, found)
    return local_archive, "archive"


def resolve_file(
    rf: RemoteFile, download_dir: Path, found: tuple[Path, str] | None, timeout: float = 60.0, offline_hint: str = ""
) -> tuple[Path, str]:
    """Return (path to usable data, where it came from) for one file: the copy `found` locally, or a download,
    extracted when `rf` is an archive."""
    if found and (not rf.archive or found[0].is_dir()):
        return found
    if found:
        archive = found[0]
    elif not rf.urls:
        raise LbrError(offline_hint or f"no source is known for {rf.name}; place it at {download_dir / rf.name}.")
    else:
        archive = download_dir / rf.name
        fetch(rf.urls, archive, rf.md5, timeout=timeout)
        if not rf.archive:
            return archive, "download"
    folder = extract(archive, download_dir, rf.unpacked or rf.name)
    missing = [rel for rel, _ in rf.contents if not (folder / rel).exists()]
    if missing:
        shutil.rmtree(folder, ignore_errors=True)
        raise LbrError(
            f"{archive} does not hold the expected files ({', '.join(missing)} missing); it is not the "
            f"{rf.unpacked} archive: replace it with the right one or delete it."
        )
    return folder, "extracted"


def resolve_dataset(
    spec: DatasetSpec,
    download_dir: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    sources: dict | None = None,
    local_archive: str | os.PathLike | None = None,
    timeout: float = 60.0,
) -> dict:
    """Make every raw file of `spec` available; return the manifest {dataset, files: {key: path}, origin}.

    Every local copy is checked before anything is downloaded, and copies whose md5 differs are gathered over
    all files, so that one error names them all and one `sources` entry accepts them all."""
    download_dir = Path(download_dir)
    root = Path(data_root) if data_root else None
    if root is not None and not root.is_dir():
        raise LbrError(f"data_root {root} is not a folder; fix data_root in config or set it to null.")
    roots = ([(root, "data_root")] if root else []) + [(download_dir, "download_dir")]
    archive = Path(local_archive) if local_archive else None
    files = [with_sources(rf, sources or {}) for rf in spec.files]
    found, mismatches = {}, []
    for rf in files:
        try:
            found[rf.key] = _local_source(rf, roots, spec.name, archive)
        except MismatchError as err:
            mismatches += err.mismatches
    if mismatches:
        raise MismatchError(spec.name, mismatches)
    manifest: dict = {"dataset": spec.name, "files": {}, "origin": {}}
    for rf in files:
        path, where = resolve_file(rf, download_dir, found[rf.key], timeout, spec.how_to_get)
        manifest["files"][rf.key], manifest["origin"][rf.key] = str(path), where
    return manifest
