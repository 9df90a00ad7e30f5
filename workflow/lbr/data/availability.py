"""Where a dataset's raw files stand before a run, without downloading anything (`lbr doctor`): prepared already,
built in, found in data_root or the download folder (with their md5 status), to be downloaded (from where), or
neither, in which case the run would fail and the line says what to do. The same places and the same md5s as
the `download` rule (lbr.data.download) looks at."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lbr.config.sections import dataset_options
from lbr.data.download import MARKER, md5sum, with_sources
from lbr.data.registry import RemoteFile, dataset_spec
from lbr.errors import LbrError

MD5_BUDGET = 512 * 2**20
"""Bytes whose md5 one `lbr doctor` computes at most (about a second); larger copies are left to the job, which
checks every file before it uses it."""


@dataclass(frozen=True)
class DataStatus:
    """One dataset: `text` says what was found, `fix` what to do when the run would fail on it (None when it
    would not)."""

    name: str
    text: str
    fix: str | None = None


class Md5Budget:
    """Bytes whose md5 may still be computed in this run."""

    def __init__(self, size: int):
        self.left = size

    def take(self, path: Path) -> bool:
        size = path.stat().st_size
        if size > self.left:
            return False
        self.left -= size
        return True


def dataset_status(config: dict, name: str, prepared: str | os.PathLike = "results/data", budget=None) -> DataStatus:
    """What a run of `config` would find for dataset `name` (budget: an Md5Budget shared by the datasets of one run)."""
    budget = budget or Md5Budget(MD5_BUDGET)
    folder = Path(prepared) / name
    if (folder / "train.npz").is_file() and (folder / "test.npz").is_file():
        return DataStatus(name, f"prepared already ({folder})")
    try:
        spec = dataset_spec(name, dataset_options(config, name), config.get("custom_datasets", {}))
    except LbrError as err:
        return DataStatus(name, "unknown", str(err))
    if spec.kind == "builtin":
        return DataStatus(name, "built in (no files needed)")
    if spec.kind == "custom":
        return _custom_status(name, config["custom_datasets"][name])
    if Path(f"resources/manifests/{name}.json").is_file():
        return DataStatus(name, f"found by an earlier run (resources/manifests/{name}.json)")
    named = ((config.get("data_root"), "data_root"), (config.get("download_dir"), "download_dir"))
    roots = [(Path(root), origin) for root, origin in named if root]
    sources = (config.get("sources") or {}).get(name, {})
    archive = dataset_options(config, name).get("archive")
    found: dict[str, list[tuple[Path, str]]] = {}
    texts, fixes = [], []
    for rf in (with_sources(f, sources) for f in spec.files):
        origin, path, status, fix = _file_status(name, rf, roots, archive, budget, spec.how_to_get)
        if path is None:
            texts.append(status)
        else:
            found.setdefault(origin, []).append((path, status))
        fixes += [fix] if fix else []
    for origin, copies in found.items():
        where = os.path.commonpath([str(p) for p, _ in copies]) if len(copies) > 1 else str(copies[0][0])
        count = f"{len(copies)} files, " if len(copies) > 1 else ""
        texts.insert(0, f"found in {origin} ({where}: {count}{_combined([status for _, status in copies])})")
    return DataStatus(name, "; ".join(dict.fromkeys(texts)), "; ".join(fixes) or None)


def _combined(statuses: list[str]) -> str:
    """One md5 status for several copies."""
    bad = [s for s in statuses if ", not " in s or "another md5" in s]
    left = [s for s in statuses if "left to the job" in s]
    if bad:
        return f"{len(bad)} with another md5" if len(statuses) > 1 else bad[0]
    if left:
        return f"md5 of {len(left)} left to the job" if len(statuses) > 1 else left[0]
    if any(s == "md5 ok" or s.startswith("extracted") for s in statuses):
        return statuses[0] if len(set(statuses)) == 1 else "md5 ok"
    return statuses[0]


def _file_status(dataset: str, rf: RemoteFile, roots, archive, budget: Md5Budget, how_to_get: str):
    """(origin, local path or None, md5 status or what happens to the file, the fix when the run would fail on it)
    for one raw file."""
    if archive:
        path = Path(archive)
        if not path.is_file():
            return None, None, f"archive {path} missing", f"fix datasets.{dataset}.archive: {path} does not exist"
        return ("datasets.archive", path, *_check(dataset, rf.name, path, rf.md5, budget))
    for key in [k for k in (rf.unpacked, rf.name) if k]:
        for root, origin in roots:
            path = root / key
            folder = rf.archive and key == rf.unpacked
            if not (path.is_dir() if folder else path.is_file()):
                continue
            if not folder:
                expected = rf.unpacked_md5 if key == rf.unpacked else rf.md5
                return (origin, path, *_check(dataset, key, path, expected, budget))
            missing = [rel for rel, _ in rf.contents if not (path / rel).exists()]
            if missing:
                return None, None, f"{path} incomplete", f"{path} lacks {', '.join(missing)}: complete it or delete it"
            if (path / MARKER).exists():
                return origin, path, "extracted by lbr from a verified archive", None
            checks = [_check(dataset, f"{key}/{rel}", path / rel, md5, budget) for rel, md5 in rf.contents if md5]
            fixes = [fix for _, fix in checks if fix]
            status = _combined([status for status, _ in checks]) if checks else "no md5 to check"
            return origin, path, status, "; ".join(fixes) or None
    if rf.urls:
        host = rf.urls[0].split("/")[2] if "//" in rf.urls[0] else rf.urls[0]
        return None, None, f"to download from {host}", None
    return None, None, f"missing ({rf.name})", how_to_get or f"place {rf.name} in data_root"


def _check(dataset: str, key: str, path: Path, expected: str | None, budget: Md5Budget) -> tuple[str, str | None]:
    """(md5 status of one local copy, the fix when it differs from the registry's)."""
    if expected is None:
        return "no md5 to check", None
    if not budget.take(path):
        return f"md5 left to the job ({path.stat().st_size / 2**20:.0f} MB)", None
    got = md5sum(path)
    if got == expected:
        return "md5 ok", None
    return f"md5 {got}, not {expected}", (
        f"{path} is not the registry's copy: replace it with the original download, delete it, or accept it with "
        f'`sources: {{{dataset}: {{"{key}": {{md5: "{got}"}}}}}}` in a config file'
    )


def _custom_status(name: str, entry: dict) -> DataStatus:
    need = [entry.get(k, "") for k in ("train", "test")] if entry.get("format") == "npz" else [entry.get("root", "")]
    missing = [p for p in need if not Path(p).exists()]
    if missing:
        return DataStatus(name, f"missing {', '.join(missing)}", f"fix custom_datasets.{name}: create or point to them")
    return DataStatus(name, f"your files ({', '.join(need)})")
