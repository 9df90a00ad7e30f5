"""Find or fetch a dataset's raw files: data_root first, then the download folder, then the network.

Every download is verified against its md5 before it gets its final name; every extraction happens in a
temporary folder renamed into place at the end, so an interrupted or corrupt fetch leaves nothing that looks
finished.
"""

from __future__ import annotations

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
from pathlib import Path

from lbr.data.registry import DatasetSpec, RemoteFile
from lbr.errors import LbrError

log = logging.getLogger("lbr.download")
MARKER = ".lbr-complete"


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _file_ok(path: Path, md5: str | None) -> bool:
    return path.is_file() and (md5 is None or md5sum(path) == md5)


def _folder_ok(path: Path, rf: RemoteFile, extracted_here: bool) -> bool:
    """A folder we extracted from a verified archive needs its marker and its files; a folder found in
    data_root (torchvision's own extraction) has its files checked against their md5 where known."""
    if not path.is_dir():
        return False
    if extracted_here:
        return (path / MARKER).exists() and all((path / rel).exists() for rel, _ in rf.contents)
    return all((path / rel).exists() and (md5 is None or _file_ok(path / rel, md5)) for rel, md5 in rf.contents)


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
        log.info("extracting %s", archive.name)
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(tmp)
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(tmp, filter="data")
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
            raise LbrError(
                f"archive {archive} is corrupt or truncated ({err}); delete it and rerun to fetch it again."
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


def _override(rf: RemoteFile, sources: dict) -> RemoteFile:
    """Apply a config `sources` entry (mirror URLs and/or md5) to one file of the registry."""
    entry = sources.get(rf.name) or sources.get(rf.key)
    if not entry:
        return rf
    urls = tuple(entry.get("urls", rf.urls))
    md5 = entry["md5"] if "md5" in entry else rf.md5
    return RemoteFile(rf.key, rf.name, md5, urls, rf.unpacked, rf.unpacked_md5, rf.contents, rf.archive)


def resolve_file(
    rf: RemoteFile,
    download_dir: Path,
    data_root: Path | None,
    local_archive: Path | None = None,
    timeout: float = 60.0,
    offline_hint: str = "",
) -> tuple[Path, str]:
    """Return (path to usable data, where it came from) for one file, downloading if needed."""
    roots = [(data_root, "data_root")] if data_root else []
    roots.append((download_dir, "download_dir"))
    for root, origin in roots:
        if rf.unpacked:
            cand = root / rf.unpacked
            if rf.archive and _folder_ok(cand, rf, extracted_here=origin == "download_dir"):
                return cand, origin
            if not rf.archive and _file_ok(cand, rf.unpacked_md5):
                return cand, origin
        if not rf.archive and _file_ok(root / rf.name, rf.md5):
            return root / rf.name, origin
    archive = None
    for root, _ in roots:
        if rf.archive and _file_ok(root / rf.name, rf.md5):
            archive = root / rf.name
            break
    if archive is None and local_archive is not None:
        if not local_archive.is_file():
            raise LbrError(f"the archive {local_archive} given in config does not exist; fix the path.")
        if rf.md5 is not None and md5sum(local_archive) != rf.md5:
            raise LbrError(f"{local_archive} does not match md5 {rf.md5}; it is corrupt or a different file.")
        archive = local_archive
    if archive is None:
        if not rf.urls:
            raise LbrError(offline_hint or f"no source is known for {rf.name}; place it at {download_dir / rf.name}.")
        archive = download_dir / rf.name
        fetch(rf.urls, archive, rf.md5, timeout=timeout)
    if not rf.archive:
        return archive, "download"
    folder = extract(archive, download_dir, rf.unpacked or rf.name)
    if not _folder_ok(folder, rf, extracted_here=True):
        missing = [rel for rel, _ in rf.contents if not (folder / rel).exists()]
        shutil.rmtree(folder, ignore_errors=True)
        raise LbrError(
            f"{archive.name} does not hold the expected files ({', '.join(missing)} missing); it is not the "
            f"{rf.unpacked} archive: delete {archive} and rerun."
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
    """Make every raw file of `spec` available; return the manifest {dataset, files: {key: path}, origin}."""
    download_dir = Path(download_dir)
    root = Path(data_root) if data_root else None
    if root is not None and not root.is_dir():
        raise LbrError(f"data_root {root} is not a folder; fix data_root in config or set it to null.")
    files, origin = {}, {}
    for rf in spec.files:
        rf = _override(rf, sources or {})
        path, where = resolve_file(
            rf,
            download_dir,
            root,
            Path(local_archive) if local_archive else None,
            timeout=timeout,
            offline_hint=spec.how_to_get,
        )
        files[rf.key] = str(path)
        origin[rf.key] = where
    return {"dataset": spec.name, "files": files, "origin": origin}
