"""Readers for the remaining formats, the built-in datasets and users' own data."""

from __future__ import annotations

import logging
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lbr.data import dataset_spec, prepare, resolve_dataset
from lbr.data.download import md5sum
from lbr.errors import LbrError

from archives import (
    write_ahcd_zip,
    write_arabic_csv_zip,
    write_cifar100_tarball,
    write_imagenette_tgz,
    write_svhn_mat,
)
from repo_copy import snakemake as run_snakemake


def test_svhn_mat_labels_ten_become_zero(tmp_path):
    write_svhn_mat(tmp_path)
    spec = dataset_spec("svhn")
    data = prepare(
        spec, {}, {"files": {"train": str(tmp_path / "train_32x32.mat"), "test": str(tmp_path / "test_32x32.mat")}}
    )
    assert data["train"][0].shape == (12, 32, 32, 3)
    assert data["train"][1].min() == 0 and data["train"][1].max() == 9
    assert data["train"][1][9] == 0


def test_cifar100_fine_labels(tmp_path):
    write_cifar100_tarball(tmp_path / "cifar-100-python.tar.gz")
    spec = dataset_spec("cifar100")
    sources = {"cifar-100-python.tar.gz": {"md5": md5sum(tmp_path / "cifar-100-python.tar.gz")}}
    manifest = resolve_dataset(spec, tmp_path / "dl", data_root=tmp_path, sources=sources)
    data = prepare(spec, {}, manifest)
    assert data["train"][0].shape == (30, 32, 32, 3) and len(data["classes"]) == 100


def test_imagenette_resize_and_center_crop(tmp_path):
    write_imagenette_tgz(tmp_path / "imagenette2-160.tgz", stem="imagenette2-160")
    spec = dataset_spec("imagenette", {"variant": "160px"})
    sources = {"imagenette2-160.tgz": {"md5": md5sum(tmp_path / "imagenette2-160.tgz")}}
    manifest = resolve_dataset(spec, tmp_path / "dl", data_root=tmp_path, sources=sources)
    data = prepare(spec, {"size": 24}, manifest)
    assert data["train"][0].shape == (6, 24, 24, 3)
    assert data["classes"] == ["tench", "English springer", "cassette player"]
    assert list(data["test"][1]) == [0, 0, 1, 1, 2, 2]
    root = Path(manifest["files"]["root"])  # 40x56 and 50x56 JPEGs: short side to round(24 * 256 / 224) = 27
    for split, folder in (("train", "train"), ("test", "val")):
        files = sorted(
            f for w in sorted(p.name for p in (root / "train").iterdir()) for f in (root / folder / w).iterdir()
        )
        want = np.stack([pil_resize_center_crop(f, 27, 24) for f in files])
        np.testing.assert_array_equal(data[split][0], want)


def pil_resize_center_crop(path, short: int, size: int) -> np.ndarray:
    """torchvision's Resize(short) + CenterCrop(size) written out with PIL: the short side scaled to `short`
    (bilinear), then the size x size window whose offset is round((side - size) / 2)."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = short / min(w, h)
        im = im.resize((round(w * s), round(h * s)), Image.BILINEAR)
        left, top = int(round((im.size[0] - size) / 2)), int(round((im.size[1] - size) / 2))
        return np.asarray(im.crop((left, top, left + size, top + size)))


def ramp(height: int, width: int) -> np.ndarray:
    """An RGB image whose red channel is 2x (x the column), green 2y (y the row), blue 100: a bilinear
    down-scaling by 2 keeps it a ramp, so every pixel of a resize and crop is known by hand."""
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 2 * np.arange(width)[None, :], 2 * np.arange(height)[:, None], 100
    return img


def test_resize_then_center_crop_keeps_the_middle_of_the_scaled_image(tmp_path):
    """128x96 -> short side 48 (64x48, halved: the pixel at column i holds 2 * (2i + 0.5) = 4i + 1) -> the centre
    32x32 (columns 16..47, rows 8..39): red 4(j + 16) + 1, green 4(r + 8) + 1. Without the resize the centre of
    the original would show red 2(j + 48); a crop from the corner, red 4j + 1."""
    from lbr.data.readers import decode_images

    Image.fromarray(ramp(96, 128)).save(tmp_path / "ramp.png")
    x, kept = decode_images([tmp_path / "ramp.png"], size=32, resize=48)
    assert x.shape == (1, 32, 32, 3) and list(kept) == [0]
    j = np.arange(32)
    np.testing.assert_array_equal(x[0, :, :, 0], np.broadcast_to(4 * j[None, :] + 65, (32, 32)))
    np.testing.assert_array_equal(x[0, :, :, 1], np.broadcast_to(4 * j[:, None] + 33, (32, 32)))
    assert (x[0, :, :, 2] == 100).all()


def test_unknown_imagenette_variant_is_refused():
    with pytest.raises(LbrError, match="variant"):
        dataset_spec("imagenette", {"variant": "999px"})


def test_ahcd_csvs_are_transposed_upright_and_labels_zero_based(tmp_path):
    upright = write_ahcd_zip(tmp_path / "ahcd.zip")
    spec = dataset_spec("arabic_characters")
    manifest = resolve_dataset(spec, tmp_path / "dl", local_archive=tmp_path / "ahcd.zip")
    data = prepare(spec, {}, manifest)
    np.testing.assert_array_equal(data["train"][0][..., 0], upright.astype(np.uint8))
    assert data["train"][1].min() == 0 and data["train"][1].max() == 27 and len(data["classes"]) == 28


AHDD_NAMES = {  # as in the AHDD1 CSV archive
    "csvTrainImages": "csvTrainImages 60k x 784.csv",
    "csvTrainLabel": "csvTrainLabel 60k x 1.csv",
    "csvTestImages": "csvTestImages 10k x 784.csv",
    "csvTestLabel": "csvTestLabel 10k x 1.csv",
}


def _seven(n: int) -> np.ndarray:
    """n upright 28x28 'sevens': a bar along the top row and a stroke down the right edge, nothing else; its
    transpose (a bar down the left edge) is a different picture."""
    img = np.zeros((28, 28), np.uint8)
    img[2, 4:24] = 255
    img[2:26, 23] = 200
    return np.repeat(img[None], n, axis=0)


def test_ahdd_csvs_come_out_upright_with_labels_zero_to_nine(tmp_path):
    rng = np.random.default_rng(0)
    train = np.concatenate([_seven(3), rng.integers(0, 256, (17, 28, 28))])
    write_arabic_csv_zip(tmp_path / "ahdd.zip", 28, train, rng.integers(0, 256, (10, 28, 28)), 0, 10, AHDD_NAMES)
    spec = dataset_spec("arabic_digits")
    manifest = resolve_dataset(spec, tmp_path / "dl", local_archive=tmp_path / "ahdd.zip")
    data = prepare(spec, {}, manifest)
    x, y = data["train"]
    assert x.shape == (20, 28, 28, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[..., 0], train.astype(np.uint8))
    assert x[0, 2, 20, 0] == 255 and x[0, 20, 2, 0] == 0  # the bar is on top, not down the left edge
    assert x[0, 20, 23, 0] == 200  # the stroke is on the right
    assert list(y) == [i % 10 for i in range(20)] and list(data["test"][1]) == list(range(10))
    assert data["classes"] == [str(d) for d in range(10)]


def test_ahdd_labels_out_of_range_are_named(tmp_path):
    imgs = np.zeros((10, 28, 28), np.uint8)
    write_arabic_csv_zip(tmp_path / "ahdd.zip", 28, imgs, imgs, 1, 10, AHDD_NAMES)  # labels 1..10
    spec = dataset_spec("arabic_digits")
    manifest = resolve_dataset(spec, tmp_path / "dl", local_archive=tmp_path / "ahdd.zip")
    with pytest.raises(LbrError, match=r"csvTrainLabel 60k x 1.csv holds labels 1..10, not 0..9"):
        prepare(spec, {}, manifest)


def test_ahcd_archive_given_as_ahdd_is_refused(tmp_path):
    write_ahcd_zip(tmp_path / "ahcd.zip")
    spec = dataset_spec("arabic_digits")
    manifest = resolve_dataset(spec, tmp_path / "dl", local_archive=tmp_path / "ahcd.zip")
    with pytest.raises(LbrError, match=r"rows of 1024 values for 28 labels, not one 28x28 image per label"):
        prepare(spec, {}, manifest)


def test_another_archive_in_config_is_extracted_afresh(tmp_path):
    """Pointing datasets.arabic_digits.archive at another archive never reuses the older extraction."""
    rng = np.random.default_rng(1)
    first, second = rng.integers(0, 256, (2, 10, 28, 28))
    for name, imgs in (("a.zip", first), ("b.zip", second)):
        write_arabic_csv_zip(tmp_path / name, 28, imgs, imgs, 0, 10, AHDD_NAMES)
    spec = dataset_spec("arabic_digits")
    for name, imgs in (("a.zip", first), ("b.zip", second)):
        manifest = resolve_dataset(spec, tmp_path / "dl", local_archive=tmp_path / name)
        np.testing.assert_array_equal(prepare(spec, {}, manifest)["train"][0][..., 0], imgs)


def test_long_reads_log_share_done_and_time_left(tmp_path, monkeypatch, caplog):
    """Decoding images and parsing CSVs report progress (here at every step instead of every 30 s)."""
    from functools import partial

    from lbr.data import readers
    from lbr.machine.progress import Progress

    monkeypatch.setattr(readers, "Progress", partial(Progress, every=0))
    rng = np.random.default_rng(0)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(paths[-1])
    (tmp_path / "rows.csv").write_text("\n".join("1,2,3" for _ in range(10)))  # no newline after the last row
    with caplog.at_level(logging.INFO, logger="lbr.readers"):
        readers.decode_images(paths, what="pets train")
        rows = readers.read_csv_rows(tmp_path / "rows.csv", chunk=5)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("decoding pets train: 50% (2 of 4 images)") and "left" in line for line in lines)
    assert "parsing rows.csv: started (10 rows)" in lines
    assert any(line.startswith("parsing rows.csv: 50% (5 of 10 rows)") and "left" in line for line in lines)
    assert rows.shape == (10, 3)


def test_ahcd_without_archive_explains_how_to_get_it(tmp_path):
    with pytest.raises(LbrError, match="no stable download URL"):
        resolve_dataset(dataset_spec("arabic_characters"), tmp_path / "dl")


def test_synthetic_is_deterministic_and_seed_dependent():
    spec = dataset_spec("synthetic")
    opts = {"n_train": 40, "n_test": 20, "height": 8, "width": 8}
    a, b = prepare(spec, opts, None), prepare(spec, opts, None)
    c = prepare(spec, opts | {"seed": 1}, None)
    np.testing.assert_array_equal(a["train"][0], b["train"][0])
    assert not np.array_equal(a["train"][0], c["train"][0])
    assert np.bincount(a["train"][1]).tolist() == [4] * 10


def test_synthetic_class_evidence_is_in_low_variance_directions():
    """A linear probe reads the class from the bottom quarter of the variance, not from the top 3/4."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from lbr.spectral import eigenbasis as spectrum
    from lbr.spectral import preprocess as pp
    from lbr.spectral import subspaces as subspace

    data = prepare(dataset_spec("synthetic"), {"n_train": 1500, "n_test": 500, "height": 12, "width": 12}, None)
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    sp = spectrum.compute(xtr, torch.device("cpu"))
    mean, vec = torch.as_tensor(sp["mean"]), torch.as_tensor(sp["eigenvectors"])
    acc = {}
    for side, share in (("top", "0.75"), ("bottom", "0.25")):
        sub = subspace.resolve(sp["eigenvalues"], side, share)
        a = subspace.project(pp.preprocess(xtr, mean).float(), vec, sub).numpy()
        b = subspace.project(pp.preprocess(xte, mean).float(), vec, sub).numpy()
        acc[side] = LogisticRegression(max_iter=500).fit(a, ytr).score(b, yte)
    assert acc["bottom"] > 0.6 and acc["top"] < 0.3, acc


def test_digits_split_is_stratified_and_fixed():
    data = prepare(dataset_spec("digits"), {"test_fraction": 0.25, "seed": 0}, None)
    assert data["train"][0].shape[1:] == (8, 8, 1)
    assert len(data["train"][1]) + len(data["test"][1]) == 1797
    share = np.bincount(data["test"][1]) / np.bincount(np.concatenate([data["train"][1], data["test"][1]]))
    assert np.all(np.abs(share - 0.25) < 0.01)


def test_custom_npz_float_images_are_scaled(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        np.savez(tmp_path / f"{split}.npz", x=rng.random((10, 6, 6)), y=np.arange(10) % 3)
    spec = dataset_spec("mine", {}, {"mine": {"format": "npz"}})
    data = prepare(
        spec, {"format": "npz", "train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}, None
    )
    assert data["train"][0].shape == (10, 6, 6, 1) and data["train"][0].dtype == np.uint8
    assert data["classes"] == ["0", "1", "2"]
    floats = np.random.default_rng(0).random((10, 6, 6))  # the train split written above
    np.testing.assert_array_equal(data["train"][0][..., 0], np.floor(floats * 255 + 0.5))  # nearest, not truncated


def test_custom_npz_pixel_values_are_rounded_and_non_pixels_refused(tmp_path):
    """Floats in [0, 255] are rounded to the nearest pixel (254.6 is 255, not 254); standardized or 16-bit images
    are refused in one sentence instead of clipped into wrong pixels."""
    spec = dataset_spec("mine", {}, {"mine": {"format": "npz"}})
    options = {"train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}
    values = np.array([0.0, 0.4, 0.6, 12.5001, 127.49, 254.6, 255.0, 3.0]).reshape(1, 2, 2, 2)
    for split in ("train", "test"):
        np.savez(tmp_path / f"{split}.npz", x=values, y=np.zeros(1, np.int64))
    x = prepare(spec, options, None)["train"][0]
    assert x.dtype == np.uint8 and x.reshape(-1).tolist() == [0, 0, 1, 13, 127, 255, 255, 3]
    np.savez(tmp_path / "test.npz", x=np.arange(8, dtype=np.uint16).reshape(2, 2, 2) * 1000, y=np.zeros(2))
    with pytest.raises(LbrError, match=r"test.npz: x holds values from 0 to 7000, not pixels; save the images as"):
        prepare(spec, options, None)
    np.savez(tmp_path / "test.npz", x=np.full((2, 2, 2), np.nan), y=np.zeros(2))
    with pytest.raises(LbrError, match=r"test.npz: x holds values from nan to nan, not pixels"):
        prepare(spec, options, None)


def test_custom_npz_missing_arrays_is_explained(tmp_path):
    np.savez(tmp_path / "train.npz", images=np.zeros((2, 4, 4)))
    np.savez(tmp_path / "test.npz", images=np.zeros((2, 4, 4)))
    spec = dataset_spec("mine", {}, {"mine": {"format": "npz"}})
    with pytest.raises(LbrError, match="must hold arrays 'x'"):
        prepare(spec, {"train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}, None)


def test_custom_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(
                    tmp_path / split / cls / f"{i}.png"
                )
    Image.fromarray(ramp(32, 48)).save(tmp_path / "test/dog/2.png")
    spec = dataset_spec("pets", {}, {"pets": {"format": "folder"}})
    data = prepare(spec, {"format": "folder", "root": str(tmp_path), "size": 16}, None)
    assert data["train"][0].shape == (4, 16, 16, 3) and data["classes"] == ["cat", "dog"]
    assert data["test"][0].shape == (5, 16, 16, 3) and list(data["test"][1]) == [0, 0, 1, 1, 1]
    # the ramp, 48x32: short side to 16 (24x16, column i holds 4i + 1), then columns 4..19 of it
    j = np.arange(16)
    np.testing.assert_array_equal(data["test"][0][4, :, :, 0], np.broadcast_to(4 * j[None, :] + 17, (16, 16)))
    np.testing.assert_array_equal(data["test"][0][4, :, :, 1], np.broadcast_to(4 * j[:, None] + 1, (16, 16)))


def _pets(root, per_split=(3, 2)):
    """root/{train,test}/{cat,dog}/<i>.jpg, 20 x 30 JPEGs."""
    rng = np.random.default_rng(1)
    for split, n in zip(("train", "test"), per_split):
        for cls in ("cat", "dog"):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(root / split / cls / f"{i}.jpg")


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


PETS = {"format": "folder", "size": 16, "skip_corrupt": False}


def test_a_corrupt_image_is_named_with_what_to_do(tmp_path):
    _pets(tmp_path)
    _truncate(tmp_path / "train/dog/1.jpg")
    spec = dataset_spec("pets", {}, {"pets": {"format": "folder"}})
    with pytest.raises(LbrError) as err:
        prepare(spec, PETS | {"root": str(tmp_path)}, None)
    message = str(err.value)
    assert message.startswith(f"image {tmp_path / 'train/dog/1.jpg'} cannot be decoded (") and "runcated" in message
    assert message.endswith(
        f"; remove it from {tmp_path}, or set custom_datasets.pets.skip_corrupt: true to leave out every image that "
        "does not decode (each is logged)."
    )


def test_skip_corrupt_leaves_out_and_logs_each_bad_image(tmp_path, caplog):
    _pets(tmp_path)
    _truncate(tmp_path / "train/dog/1.jpg")
    (tmp_path / "test/cat/0.jpg").write_bytes(b"not an image at all")
    spec = dataset_spec("pets", {}, {"pets": {"format": "folder"}})
    with caplog.at_level(logging.WARNING, logger="lbr.readers"):
        data = prepare(spec, PETS | {"root": str(tmp_path), "skip_corrupt": True}, None)
    assert list(data["train"][1]) == [0, 0, 0, 1, 1] and list(data["test"][1]) == [0, 1, 1]  # labels stay aligned
    assert data["train"][0].shape == (5, 16, 16, 3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith(f"skipped {tmp_path / 'train/dog/1.jpg'}: it cannot be decoded (")
    assert "runcated" in lines[0]
    assert any(line.startswith(f"skipped {tmp_path / 'test/cat/0.jpg'}: it cannot be decoded") for line in lines)
    assert f"{tmp_path / 'train'}: skipped 1 of 6 images that cannot be decoded" in lines
    assert f"{tmp_path / 'test'}: skipped 1 of 4 images that cannot be decoded" in lines


def test_the_first_bad_image_stops_decoding_without_waiting_for_the_rest(monkeypatch):
    from lbr.data import readers

    calls = []

    def load(path, *args):
        calls.append(path)
        if path == "0.png":
            raise readers.UndecodableImage(path, "broken")
        time.sleep(0.001)
        return np.zeros((2, 2, 3), np.uint8)

    monkeypatch.setattr(readers, "_load_image", load)
    with pytest.raises(LbrError, match=r"^image 0.png cannot be decoded \(broken\); fix it.$"):
        readers.decode_images([f"{i}.png" for i in range(1000)], threads=1, fix="fix it")
    assert len(calls) < 200  # the queued images were cancelled, not decoded (1000 would take a second)


def test_a_class_missing_from_test_stops_the_job_too(tmp_path):
    _pets(tmp_path)
    for f in (tmp_path / "test/dog").iterdir():
        f.unlink()
    spec = dataset_spec("pets", {}, {"pets": {"format": "folder"}})
    with pytest.raises(LbrError, match=r"different class folders \(only in train/: dog; a folder without images"):
        prepare(spec, PETS | {"root": str(tmp_path)}, None)


@pytest.mark.workflow
def test_a_corrupt_image_is_one_line_in_the_job_log(workflow_dir):
    _pets(workflow_dir / "pets")
    _truncate(workflow_dir / "pets/test/cat/1.jpg")
    (workflow_dir / "mine.yaml").write_text("custom_datasets:\n  pets: {format: folder, root: pets, size: 16}\n")
    result = run_snakemake(workflow_dir, "-c1", "results/data/pets/train.npz", "--configfile", "mine.yaml")
    assert result.returncode != 0
    log = (workflow_dir / "logs/prepare/pets.log").read_text()
    assert "Traceback" not in log
    error = [line for line in log.splitlines() if " ERROR " in line]
    assert len(error) == 1
    assert re.fullmatch(  # the paths as the config gives them (relative to the working folder)
        r"image pets/test/cat/1.jpg cannot be decoded \([^;]*runcated[^;]*\); remove it from pets, or set "
        r"custom_datasets.pets.skip_corrupt: true to leave out every image that does not decode \(each is logged\).",
        error[0].split(" ERROR ", 1)[1],
    )
    assert not (workflow_dir / "results/data/pets/train.npz").exists()


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(LbrError, match="unknown dataset 'cifar11'.*cifar10"):
        dataset_spec("cifar11")


def test_ahcd_zip_nested_folders_are_searched(tmp_path):
    """A re-packed AHCD archive: the CSVs two folders deep, train and test in different folders, beside macOS
    resource forks (`__MACOSX/.../._csvTrainImages ...csv`) that are not CSVs of numbers: the reader finds the
    four files where they are and reads them upright with 0-based labels."""
    rng = np.random.default_rng(3)
    train, test = rng.integers(0, 256, (28, 32, 32)), rng.integers(0, 256, (56, 32, 32))
    top = "ahcd1/Arabic Handwritten Characters Dataset CSV"  # sorts after __MACOSX
    names = {
        "csvTrainImages": f"{top}/train/csvTrainImages 13440x1024.csv",
        "csvTrainLabel": f"{top}/train/csvTrainLabel 13440x1.csv",
        "csvTestImages": f"{top}/test/csvTestImages 3360x1024.csv",
        "csvTestLabel": f"{top}/test/csvTestLabel 3360x1.csv",
    }
    write_arabic_csv_zip(tmp_path / "ahcd1.zip", 32, train, test, 1, 28, names)
    with zipfile.ZipFile(tmp_path / "ahcd1.zip", "a") as zf:
        for name in names.values():
            folder, file = name.rsplit("/", 1)
            zf.writestr(f"__MACOSX/{folder}/._{file}", b"\x00\x05\x16\x07 Mac OS X resource fork")
    spec = dataset_spec("arabic_characters")
    manifest = resolve_dataset(spec, tmp_path / "dl", local_archive=tmp_path / "ahcd1.zip")
    data = prepare(spec, {}, manifest)
    np.testing.assert_array_equal(data["train"][0][..., 0], train.astype(np.uint8))
    np.testing.assert_array_equal(data["test"][0][..., 0], test.astype(np.uint8))
    assert list(data["train"][1]) == list(range(28)) and list(data["test"][1]) == list(range(28)) * 2
