"""Small dataset archives in the real on-disk formats, built by the tests (no network, no real data)."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def idx_bytes(array: np.ndarray) -> bytes:
    """MNIST idx encoding of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def write_mnist_gz(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict:
    """The four gzipped idx files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for stem, arr in arrays.items():
        (folder / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    return arrays


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def write_cifar10_tarball(path: Path, per_batch: int = 10, n_test: int = 10, seed: int = 0) -> dict:
    """cifar-10-python.tar.gz layout: pickled dicts with b'data' (N x 3072, CHW) and b'labels'."""
    rng = np.random.default_rng(seed)
    batches = {}
    with tarfile.open(path, "w:gz") as tf:
        for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            labels = list(rng.integers(0, 10, n))
            batches[name] = (data, labels)
            _add_bytes(tf, f"cifar-10-batches-py/{name}", pickle.dumps({b"data": data, b"labels": labels}))
        names = [
            n.encode()
            for n in ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        ]
        _add_bytes(tf, "cifar-10-batches-py/batches.meta", pickle.dumps({b"label_names": names}))
    return batches


def write_cifar100_tarball(path: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tf:
        for name, n in (("train", n_train), ("test", n_test)):
            d = {
                b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"fine_labels": list(rng.integers(0, 100, n)),
            }
            _add_bytes(tf, f"cifar-100-python/{name}", pickle.dumps(d))
        _add_bytes(
            tf, "cifar-100-python/meta", pickle.dumps({b"fine_label_names": [f"c{i}".encode() for i in range(100)]})
        )


def _jpeg(rng: np.random.Generator, h: int, w: int, mode: str = "RGB") -> bytes:
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(buf, format="JPEG")
    return buf.getvalue()


def write_tinyimagenet_zip(
    path: Path, wnids=("n01443537", "n01629819", "n01641577"), per_class: int = 3, seed: int = 0
) -> None:
    """tiny-imagenet-200.zip layout: wnids.txt, words.txt, train/<wnid>/images, val/images + annotations."""
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as zf:
        root = "tiny-imagenet-200"
        zf.writestr(f"{root}/wnids.txt", "\n".join(wnids) + "\n")
        zf.writestr(
            f"{root}/words.txt", "".join(f"{w}\tname{i}, alias\n" for i, w in enumerate(wnids)) + "n99\tunused\n"
        )
        ann = []
        for i, w in enumerate(wnids):
            zf.writestr(f"{root}/train/{w}/{w}_boxes.txt", "")
            for j in range(per_class):
                mode = "L" if j == 0 else "RGB"
                zf.writestr(f"{root}/train/{w}/images/{w}_{j}.JPEG", _jpeg(rng, 64, 64, mode))
            name = f"val_{i}.JPEG"
            zf.writestr(f"{root}/val/images/{name}", _jpeg(rng, 64, 64))
            ann.append(f"{name}\t{w}\t0\t0\t63\t63")
        zf.writestr(f"{root}/val/val_annotations.txt", "\n".join(ann) + "\n")


def write_imagenette_tgz(path: Path, stem: str = "imagenette2-320", per_class: int = 2, seed: int = 0) -> None:
    from lbr.data.registry import IMAGENETTE_CLASSES

    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tf:
        for split in ("train", "val"):
            for w in list(IMAGENETTE_CLASSES)[:3]:
                for j in range(per_class):
                    _add_bytes(tf, f"{stem}/{split}/{w}/{w}_{j}.JPEG", _jpeg(rng, 40 + 10 * j, 56))


def write_svhn_mat(folder: Path, n: int = 12, seed: int = 0) -> None:
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        savemat(
            folder / f"{split}_32x32.mat",
            {
                "X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                "y": (np.arange(n) % 10 + 1).reshape(-1, 1).astype(np.uint8),
            },
        )


def write_arabic_csv_zip(
    path: Path,
    side: int,
    train: np.ndarray,
    test: np.ndarray,
    first_label: int,
    n_classes: int,
    names: dict[str, str],
) -> None:
    """AHCD / AHDD layout: four headerless CSVs under one folder, each image a row in column-major order (how
    MATLAB flattens), labels cycling from first_label. `names` maps csvTrainImages etc. to the file names."""
    with zipfile.ZipFile(path, "w") as zf:
        for split, imgs in (("Train", train), ("Test", test)):
            rows = [img.flatten(order="F") for img in imgs]
            zf.writestr(names[f"csv{split}Images"], "\n".join(",".join(map(str, r)) for r in rows))
            labels = (first_label + i % n_classes for i in range(len(imgs)))
            zf.writestr(names[f"csv{split}Label"], "\n".join(map(str, labels)))


def write_ahcd_zip(path: Path, n_train: int = 28, n_test: int = 28, seed: int = 0) -> np.ndarray:
    """AHCD: 32x32, labels 1..28, files named as in the Kaggle archive; returns the upright train images."""
    rng = np.random.default_rng(seed)
    upright = rng.integers(0, 256, (n_train, 32, 32))
    names = {
        "csvTrainImages": "ahcd/csvTrainImages 13440x1024.csv",
        "csvTrainLabel": "ahcd/csvTrainLabel 13440x1.csv",
        "csvTestImages": "ahcd/csvTestImages 3360x1024.csv",
        "csvTestLabel": "ahcd/csvTestLabel 3360x1.csv",
    }
    write_arabic_csv_zip(path, 32, upright, rng.integers(0, 256, (n_test, 32, 32)), 1, 28, names)
    return upright
