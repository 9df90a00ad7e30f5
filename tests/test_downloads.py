"""Downloads against a local HTTP server serving small archives in the real formats."""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lbr.config.load import load
from lbr.data import dataset_spec, prepare, resolve_dataset
from lbr.data.download import extract, md5sum
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


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _pasted_sources(message: str, dataset: str, tmp_path: Path) -> dict:
    """The `sources: {...}` the error tells the user to add, pasted into a config file and loaded as a run
    loads its config (schema and checks); returns that dataset's entries."""
    snippet = re.search(r"`(sources: .*?)`", message).group(1)
    (tmp_path / "accept.yaml").write_text(snippet + "\n")
    return load(tmp_path / "accept.yaml")["sources"][dataset]


def test_mnist_raw_file_in_data_root_with_another_md5_is_named(tmp_path):
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    sources = {f.name: {"urls": ["http://127.0.0.1:9/x"]} for f in dataset_spec("mnist").files}
    with pytest.raises(LbrError) as err:
        resolve_dataset(dataset_spec("mnist"), tmp_path / "dl", data_root=tmp_path / "root", sources=sources, timeout=5)
    msg = str(err.value)
    assert f"{raw / 'train-images-idx3-ubyte'} has md5 {_md5(raw / 'train-images-idx3-ubyte')}" in msg
    assert "not the expected 6bbc9ace898e44ae57da46a324031adb" in msg
    assert '"MNIST/raw/train-images-idx3-ubyte": {md5: ' in msg and "could not download" not in msg


def test_repacked_archive_in_data_root_stops_naming_it_and_both_md5s(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    write_cifar10_tarball(root / "cifar-10-python.tar.gz")  # a valid tar.gz, not the original bytes
    dl = tmp_path / "dl"
    with pytest.raises(LbrError) as err:
        resolve_dataset(dataset_spec("cifar10"), dl, data_root=root, timeout=5)
    msg = str(err.value)
    path = root / "cifar-10-python.tar.gz"
    assert f"{path} has md5 {_md5(path)}, not the expected c58f30108f718f92721af3b95e74349a" in msg
    assert "set data_root" not in msg and "truncated" not in msg and "md5: null" in msg
    assert _leftovers(dl) == []


def test_accepted_md5_of_a_repacked_archive_prepares_the_dataset(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    batches = write_cifar10_tarball(root / "cifar-10-python.tar.gz")
    spec = dataset_spec("cifar10")
    with pytest.raises(LbrError) as err:
        resolve_dataset(spec, tmp_path / "dl", data_root=root, timeout=5)
    sources = _pasted_sources(str(err.value), "cifar10", tmp_path)
    assert sources == {"cifar-10-python.tar.gz": {"md5": _md5(root / "cifar-10-python.tar.gz")}}
    manifest = resolve_dataset(spec, tmp_path / "dl", data_root=root, sources=sources, timeout=5)
    assert manifest["origin"]["root"] == "extracted"
    x, y = prepare(spec, {}, manifest)["test"]
    np.testing.assert_array_equal(x, batches["test_batch"][0].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert list(y) == list(batches["test_batch"][1])


def test_md5_null_uses_a_repacked_archive_unchecked(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    write_cifar10_tarball(root / "cifar-10-python.tar.gz")
    sources = {"cifar-10-python.tar.gz": {"md5": None}}
    manifest = resolve_dataset(dataset_spec("cifar10"), tmp_path / "dl", data_root=root, sources=sources, timeout=5)
    assert prepare(dataset_spec("cifar10"), {}, manifest)["train"][0].shape == (50, 32, 32, 3)


def test_every_repacked_file_is_named_in_one_error_that_accepts_them_all(tmp_path):
    raw = tmp_path / "root" / "MNIST" / "raw"
    arrays = write_mnist_gz(raw)  # four valid .gz files, none the original bytes
    spec = dataset_spec("mnist")
    with pytest.raises(LbrError) as err:
        resolve_dataset(spec, tmp_path / "dl", data_root=tmp_path / "root", timeout=5)
    msg = str(err.value)
    for f in spec.files:
        assert (
            f"{tmp_path / 'root' / f.name} has md5 {_md5(tmp_path / 'root' / f.name)}, not the expected {f.md5}" in msg
        )
    sources = _pasted_sources(msg, "mnist", tmp_path)
    assert sorted(sources) == sorted(f.name for f in spec.files)
    manifest = resolve_dataset(spec, tmp_path / "dl", data_root=tmp_path / "root", sources=sources, timeout=5)
    assert set(manifest["origin"].values()) == {"data_root"}
    data = prepare(spec, {}, manifest)
    np.testing.assert_array_equal(data["train"][0][..., 0], arrays["train-images-idx3-ubyte"])


def test_truncated_gz_in_data_root_is_named_as_truncated(tmp_path):
    raw = tmp_path / "root" / "MNIST" / "raw"
    write_mnist_gz(raw)
    bad = raw / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-200])
    with pytest.raises(LbrError) as err:
        resolve_dataset(dataset_spec("mnist"), tmp_path / "dl", data_root=tmp_path / "root", timeout=5)
    msg = str(err.value)
    assert msg.startswith(f"{bad} is truncated or corrupt (")
    assert f"md5 {_md5(bad)}, expected f68b3c2dcbeaaa9fbdd348bbdeb94873" in msg
    assert "replace it with a good copy or delete it" in msg and "sources:" not in msg


@pytest.mark.parametrize(
    "dataset, name, write, damage",
    [
        ("tinyimagenet", "tiny-imagenet-200.zip", write_tinyimagenet_zip, r"is not a readable zip archive \("),
        ("cifar10", "cifar-10-python.tar.gz", write_cifar10_tarball, r"is truncated or corrupt \("),
    ],
)
def test_truncated_archive_in_data_root_is_named(tmp_path, dataset, name, write, damage):
    root = tmp_path / "root"
    root.mkdir()
    write(tmp_path / name)
    data = (tmp_path / name).read_bytes()
    (root / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(LbrError, match=re.escape(str(root / name)) + " " + damage):
        resolve_dataset(dataset_spec(dataset), tmp_path / "dl", data_root=root, timeout=5)


def test_pre_extracted_folder_with_other_files_is_named_and_can_be_accepted(tmp_path):
    root = tmp_path / "root"
    write_cifar10_tarball(tmp_path / "c.tar.gz")
    with tarfile.open(tmp_path / "c.tar.gz") as tf:
        tf.extractall(root, filter="data")
    spec = dataset_spec("cifar10")
    with pytest.raises(LbrError) as err:
        resolve_dataset(spec, tmp_path / "dl", data_root=root, timeout=5)
    msg = str(err.value)
    folder = root / "cifar-10-batches-py"
    assert f"{folder / 'data_batch_1'} has md5 {_md5(folder / 'data_batch_1')}" in msg
    sources = _pasted_sources(msg, "cifar10", tmp_path)
    assert len(sources) == 7 and "cifar-10-batches-py/test_batch" in sources
    manifest = resolve_dataset(spec, tmp_path / "dl", data_root=root, sources=sources, timeout=5)
    assert manifest["origin"]["root"] == "data_root" and manifest["files"]["root"] == str(folder)


def test_a_usable_copy_wins_over_a_repacked_one(tmp_path, caplog):
    root, dl = tmp_path / "root", tmp_path / "dl"
    write_cifar10_tarball(tmp_path / "c.tar.gz")
    with tarfile.open(tmp_path / "c.tar.gz") as tf:
        tf.extractall(root, filter="data")  # another extraction: its md5s differ from torchvision's
    extract(tmp_path / "c.tar.gz", dl, "cifar-10-batches-py")  # as an earlier run left it
    with caplog.at_level(logging.WARNING, logger="lbr.download"):
        manifest = resolve_dataset(dataset_spec("cifar10"), dl, data_root=root, timeout=5)
    assert manifest["origin"]["root"] == "download_dir"
    assert any(str(root / "cifar-10-batches-py" / "data_batch_1") in r.getMessage() for r in caplog.records)
