"""Downloads against a local HTTP server serving small archives in the real formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from lbr.data import dataset_spec, prepare, resolve_dataset
from lbr.data.download import md5sum
from lbr.errors import LbrError

from archives import (
    idx_bytes,
    write_cifar10_tarball,
    write_mnist_gz,
    write_tinyimagenet_zip,
)


def _sources(base: str, www: Path, names: list[str]) -> dict:
    return {n: {"urls": [f"{base}/{n}"], "md5": md5sum(www / n)} for n in names}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_cifar10_tarball_downloads_extracts_and_reads(http_server, tmp_path):
    base, www, _ = http_server
    batches = write_cifar10_tarball(www / "cifar-10-python.tar.gz")
    dl = tmp_path / "dl"
    spec = dataset_spec("cifar10")
    manifest = resolve_dataset(spec, dl, sources=_sources(base, www, ["cifar-10-python.tar.gz"]))
    assert manifest["origin"]["root"] == "extracted"
    data = prepare(spec, {}, manifest)
    x, y = data["train"]
    assert x.shape == (50, 32, 32, 3) and x.dtype == np.uint8
    first = batches["data_batch_1"][0][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(x[0], first)
    assert list(y[:10]) == list(batches["data_batch_1"][1])
    assert data["classes"][0] == "airplane"
    again = resolve_dataset(spec, dl, sources=_sources(base, www, ["cifar-10-python.tar.gz"]))
    assert again["origin"]["root"] == "download_dir"


def test_mnist_idx_gz_download_and_read(http_server, tmp_path):
    base, www, _ = http_server
    arrays = write_mnist_gz(www)
    spec = dataset_spec("mnist")
    names = [f.name.split("/")[-1] for f in spec.files]
    sources = {f.name: {"urls": [f"{base}/{n}"], "md5": md5sum(www / n)} for f, n in zip(spec.files, names)}
    manifest = resolve_dataset(spec, tmp_path / "dl", sources=sources)
    data = prepare(spec, {}, manifest)
    np.testing.assert_array_equal(data["train"][0][..., 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data["test"][1], arrays["t10k-labels-idx1-ubyte"])


def test_tinyimagenet_zip_layout(http_server, tmp_path):
    base, www, _ = http_server
    write_tinyimagenet_zip(www / "tiny-imagenet-200.zip")
    spec = dataset_spec("tinyimagenet")
    manifest = resolve_dataset(spec, tmp_path / "dl", sources=_sources(base, www, ["tiny-imagenet-200.zip"]))
    data = prepare(spec, {}, manifest)
    assert data["train"][0].shape == (9, 64, 64, 3)
    assert data["test"][0].shape == (3, 64, 64, 3)
    assert list(data["test"][1]) == [0, 1, 2]
    assert data["classes"] == ["name0", "name1", "name2"]


def test_checksum_mismatch_fails_and_leaves_nothing(http_server, tmp_path):
    base, www, _ = http_server
    write_cifar10_tarball(www / "cifar-10-python.tar.gz")
    dl = tmp_path / "dl"
    sources = {"cifar-10-python.tar.gz": {"urls": [f"{base}/cifar-10-python.tar.gz"], "md5": "0" * 32}}
    with pytest.raises(LbrError, match="does not match the expected"):
        resolve_dataset(dataset_spec("cifar10"), dl, sources=sources)
    assert _leftovers(dl) == []


def test_truncated_download_fails_and_leaves_nothing(http_server, tmp_path):
    base, www, truncate = http_server
    write_tinyimagenet_zip(www / "tiny-imagenet-200.zip")
    truncate.add("tiny-imagenet-200.zip")
    dl = tmp_path / "dl"
    with pytest.raises(LbrError, match="truncated|corrupt"):
        resolve_dataset(dataset_spec("tinyimagenet"), dl, sources=_sources(base, www, ["tiny-imagenet-200.zip"]))
    assert _leftovers(dl) == []


def test_truncated_archive_without_checksum_fails_at_extraction(http_server, tmp_path):
    base, www, _ = http_server
    write_cifar10_tarball(www / "full.tar.gz")
    data = (www / "full.tar.gz").read_bytes()
    (www / "cifar-10-python.tar.gz").write_bytes(data[: len(data) // 2])
    dl = tmp_path / "dl"
    sources = {"cifar-10-python.tar.gz": {"urls": [f"{base}/cifar-10-python.tar.gz"], "md5": None}}
    with pytest.raises(LbrError, match="corrupt or truncated"):
        resolve_dataset(dataset_spec("cifar10"), dl, sources=sources)
    assert not (dl / "cifar-10-batches-py").exists()
    assert not [p for p in _leftovers(dl) if p.endswith((".part", ".partial"))]


def test_truncated_idx_file_is_reported(tmp_path):
    arr = np.zeros((5, 28, 28), np.uint8)
    good = idx_bytes(arr)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(good[:-100]))
    from lbr.data.readers import read_idx

    with pytest.raises(LbrError, match="truncated"):
        read_idx(path)


def test_no_network_message_says_where_to_place_files(tmp_path):
    dl = tmp_path / "dl"
    sources = {"cifar-10-python.tar.gz": {"urls": ["http://127.0.0.1:9/nothing.tar.gz"]}}
    with pytest.raises(LbrError) as err:
        resolve_dataset(dataset_spec("cifar10"), dl, sources=sources, timeout=5)
    msg = str(err.value)
    assert "place it at" in msg and str(dl / "cifar-10-python.tar.gz") in msg and "data_root" in msg
    assert _leftovers(dl) == []


def test_data_root_in_torchvision_layout_is_used_without_download(tmp_path):
    root = tmp_path / "torchvision"
    write_tinyimagenet_zip(tmp_path / "t.zip")
    import zipfile

    with zipfile.ZipFile(tmp_path / "t.zip") as zf:
        zf.extractall(root)
    sources = {"tiny-imagenet-200.zip": {"urls": ["http://127.0.0.1:9/unreachable.zip"]}}
    manifest = resolve_dataset(dataset_spec("tinyimagenet"), tmp_path / "dl", data_root=root, sources=sources)
    assert manifest["origin"]["root"] == "data_root"
    assert Path(manifest["files"]["root"]) == root / "tiny-imagenet-200"


def test_mnist_raw_files_in_data_root_are_checked_by_md5(tmp_path):
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    sources = {f.name: {"urls": ["http://127.0.0.1:9/x"]} for f in dataset_spec("mnist").files}
    with pytest.raises(LbrError, match="could not download"):
        resolve_dataset(dataset_spec("mnist"), tmp_path / "dl", data_root=tmp_path / "root", sources=sources, timeout=5)
