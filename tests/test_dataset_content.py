"""A dataset's content is an input: the listing and fingerprint of a custom image folder, of a custom npz pair and
of a registered dataset's files in data_root (`lbr.data.content`), and the plans (`snakemake -n`) after one file
changes: that dataset's prepare and what depends on it rerun, nothing else."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from test_reruns import job_counts, reasons

from lbr.data.content import dataset_fingerprint, list_image_folder
from lbr.data.registry import dataset_spec
from lbr.errors import LbrError

from archives import write_mnist_gz
from repo_copy import copy_workflow, snakemake

CLASSES = ("cat", "dog", "owl")


def write_folder(root: Path, per_class: dict[str, int] | None = None, seed: int = 0) -> None:
    """root/{train,test}/<class>/<i>.png, 10 x 12 RGB images."""
    rng = np.random.default_rng(seed)
    per_class = per_class or {"train": 4, "test": 2}
    for split, n in per_class.items():
        for name in CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def folder_print(root: Path) -> dict:
    return dataset_fingerprint(dataset_spec("pets", {}, {"pets": {"format": "folder"}}), {"root": root}, None, "dl")


# The listing and its fingerprint ----------------------------------------------------------------------------


def test_listing_is_what_the_reader_reads(tmp_path):
    write_folder(tmp_path)
    (tmp_path / "train/cat/.hidden.png").write_bytes(b"not read")  # hidden files, other suffixes, hidden folders
    (tmp_path / "train/cat/notes.txt").write_text("not an image")
    (tmp_path / "train/.ipynb_checkpoints").mkdir()
    (tmp_path / "test/empty_in_both").mkdir()
    (tmp_path / "train/empty_in_both").mkdir()
    listing = list_image_folder(tmp_path, "pets")
    assert listing.classes == CLASSES
    paths, labels = listing.paths("train")
    assert [p.relative_to(tmp_path).as_posix() for p in paths[:2]] == ["train/cat/0.png", "train/cat/1.png"]
    assert labels == [0] * 4 + [1] * 4 + [2] * 4 and len(listing.paths("test")[0]) == 6
    assert listing.fingerprint()["images"] == 18


@pytest.mark.parametrize("change", ["add", "remove", "replace", "touch", "rename"])
def test_any_change_to_an_image_changes_the_fingerprint(tmp_path, change):
    write_folder(tmp_path)
    before = folder_print(tmp_path)
    image = tmp_path / "train/dog/1.png"
    if change == "add":
        shutil.copy2(image, image.with_name("9.png"))
    elif change == "remove":
        image.unlink()
    elif change == "replace":  # the same size: the new mtime tells
        stat = image.stat()
        data = bytearray(image.read_bytes())
        data[-20] ^= 0xFF
        image.write_bytes(bytes(data))
        assert image.stat().st_size == stat.st_size
    elif change == "touch":
        os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 1))
    else:
        image.rename(image.with_name("7.png"))
    assert folder_print(tmp_path) != before
    (tmp_path / "train/dog/readme.txt").write_text("not an image: no change")
    after = folder_print(tmp_path)
    assert folder_print(tmp_path) == after


def test_class_folders_that_differ_are_named_in_one_sentence(tmp_path):
    write_folder(tmp_path)
    shutil.rmtree(tmp_path / "test/owl")
    (tmp_path / "test/bird").mkdir()
    shutil.copy2(tmp_path / "test/cat/0.png", tmp_path / "test/bird/0.png")
    for f in (tmp_path / "test/dog").iterdir():  # a folder without images counts as absent
        f.unlink()
    with pytest.raises(LbrError) as err:
        list_image_folder(tmp_path, "pets")
    assert str(err.value) == (
        f"custom dataset 'pets' ({tmp_path}): train/ and test/ have different class folders (only in train/: dog, "
        "owl; only in test/: bird; a folder without images counts as absent); give both splits the same classes, "
        "each with at least one image: add the missing images, or move or delete the extra folders."
    )


def test_a_missing_split_folder_is_named(tmp_path):
    write_folder(tmp_path, {"train": 2})
    with pytest.raises(LbrError, match=r"custom_datasets.pets.root .* has no test/ folder; lay it out as"):
        list_image_folder(tmp_path, "pets")


def test_npz_and_data_root_fingerprints(tmp_path):
    for split in ("train", "test"):
        np.savez(tmp_path / f"{split}.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.arange(2))
    spec = dataset_spec("mine", {}, {"mine": {"format": "npz"}})
    options = {"train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}
    before = dataset_fingerprint(spec, options, None, "dl")
    assert before["files"] == 2
    os.utime(tmp_path / "test.npz", ns=(0, 10**18))  # replaced by an *older* copy: mtime back in time
    assert dataset_fingerprint(spec, options, None, "dl") != before

    root = tmp_path / "torchvision"
    write_mnist_gz(root / "MNIST/raw")
    mnist = dataset_spec("mnist")
    first = dataset_fingerprint(mnist, {}, root, tmp_path / "dl")
    assert first["files"] == 4  # the four .gz files of the registry, under their registry names
    (root / "unrelated.txt").write_text("another dataset's file")
    assert dataset_fingerprint(mnist, {}, root, tmp_path / "dl") == first
    write_mnist_gz(root / "MNIST/raw", seed=1)
    assert dataset_fingerprint(mnist, {}, root, tmp_path / "dl") != first
    assert dataset_fingerprint(mnist, {}, None, "dl") is None  # downloads: the workflow's own files
    assert dataset_fingerprint(mnist, {}, root, root) is None  # a data_root that is the download folder
    assert dataset_fingerprint(dataset_spec("digits"), {}, root, "dl") is None


# The plans: one file changes, its dataset's prepare and what depends on it rerun --------------------------------

TARGETS = [
    "results/spectrum/pets.npz",
    "results/data/mine/train.npz",
    "results/data/mnist/train.npz",
    "results/data/digits/train.npz",
]
CONFIG = {
    "custom_datasets": {
        "pets": {"format": "folder", "root": "data/pets", "size": 8},
        "mine": {"format": "npz", "train": "data/mine/train.npz", "test": "data/mine/test.npz"},
    },
    "data_root": "data/torchvision",
    "download_dir": "downloads",
    "sources": {"mnist": {k: {"md5": None} for k in ("train_images", "train_labels", "test_images", "test_labels")}},
    "spectrum": {"device": "cpu"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    repo = copy_workflow(tmp_path_factory.mktemp("content") / "repo")
    write_folder(repo / "data/pets")
    rng = np.random.default_rng(0)
    (repo / "data/mine").mkdir(parents=True)
    for split in ("train", "test"):
        x = rng.integers(0, 256, (20, 6, 6), dtype=np.uint8)
        np.savez(repo / f"data/mine/{split}.npz", x=x, y=np.arange(20) % 2)
    write_mnist_gz(repo / "data/torchvision/MNIST/raw")
    (repo / "mine.yaml").write_text(yaml.safe_dump(CONFIG))
    result = snakemake(repo, *TARGETS, "-c2", "--configfile", "mine.yaml")
    assert result.returncode == 0, result.stdout[-4000:]
    return repo


@pytest.fixture
def repo(built, tmp_path):
    """A private copy of the finished state (copy2 keeps sizes and mtimes in ns: the fingerprints hold)."""
    return Path(shutil.copytree(built, tmp_path / "repo", symlinks=True))


def plan(repo: Path) -> tuple[dict[str, int], dict[str, set[str]]]:
    result = snakemake(repo, "-n", *TARGETS, "--configfile", "mine.yaml")
    assert result.returncode == 0, result.stdout[-4000:]
    return job_counts(result.stdout), reasons(result.stdout)


def later(path: Path) -> None:
    """Touch: a newer mtime, the same content."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


@pytest.mark.workflow
@pytest.mark.slow
def test_the_finished_state_is_up_to_date(repo):
    assert plan(repo)[0] == {}


@pytest.mark.workflow
@pytest.mark.slow
@pytest.mark.parametrize("change", ["add", "remove", "replace", "touch"])
def test_one_image_reruns_prepare_and_downstream_only(repo, change):
    image = repo / "data/pets/train/owl/1.png"
    if change == "add":
        shutil.copy(image, image.with_name("new.png"))
    elif change == "remove":
        image.unlink()
    elif change == "replace":
        Image.fromarray(np.full((10, 12, 3), 7, np.uint8)).save(image)
    else:
        later(image)
    jobs, why = plan(repo)
    assert jobs == {"prepare": 1, "spectrum": 1}
    assert why["params have changed since last execution"] == {"prepare"}
    assert why["input files updated by another job"] == {"spectrum"}


@pytest.mark.workflow
@pytest.mark.slow
def test_a_file_the_reader_does_not_read_reruns_nothing(repo):
    (repo / "data/pets/train/owl/notes.txt").write_text("not an image")
    assert plan(repo)[0] == {}


@pytest.mark.workflow
@pytest.mark.slow
@pytest.mark.parametrize("change", ["older copy", "touch"])
def test_a_replaced_or_touched_npz_reruns_its_prepare_only(repo, change):
    path = repo / "data/mine/test.npz"
    if change == "older copy":  # a backup restored with its old mtime: older than the outputs
        st = path.stat()
        np.savez(path, x=np.ones((20, 6, 6), np.uint8), y=np.arange(20) % 2)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    else:
        later(path)
    jobs, why = plan(repo)
    assert jobs == {"prepare": 1}
    assert why["params have changed since last execution"] == {"prepare"}


@pytest.mark.workflow
@pytest.mark.slow
def test_a_changed_file_in_data_root_reruns_its_download_and_prepare_only(repo):
    later(repo / "data/torchvision/MNIST/raw/t10k-labels-idx1-ubyte.gz")
    jobs, why = plan(repo)
    assert jobs == {"download": 1, "prepare": 1}  # download checks the copy again, prepare reads it again
    assert why["params have changed since last execution"] == {"download"}
    assert why["input files updated by another job"] == {"prepare"}


@pytest.mark.workflow
@pytest.mark.slow
def test_class_folders_that_differ_stop_the_plan(repo):
    shutil.rmtree(repo / "data/pets/test/owl")
    result = snakemake(repo, "-n", *TARGETS, "--configfile", "mine.yaml")
    assert result.returncode != 0
    assert "train/ and test/ have different class folders (only in train/: owl;" in result.stdout
