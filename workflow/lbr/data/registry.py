"""What each dataset is: its files (torchvision layout, URLs, md5), how to read them, and its classes."""

from __future__ import annotations

from dataclasses import dataclass, field

from lbr.errors import LbrError

MNIST_URLS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
FASHION_URLS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]


@dataclass(frozen=True)
class RemoteFile:
    """One file a dataset needs.

    `name` is the path under the data root as torchvision lays it out; `unpacked` is the same content after
    decompression or extraction (a file or a folder), accepted instead when present; `contents` lists files
    inside an extracted folder with their md5 (None: must exist) to check a pre-extracted copy.
    """

    key: str
    name: str
    md5: str | None
    urls: tuple[str, ...] = ()
    unpacked: str | None = None
    unpacked_md5: str | None = None
    contents: tuple[tuple[str, str | None], ...] = ()
    archive: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # remote | local_archive | builtin | custom
    reader: str
    description: str
    files: tuple[RemoteFile, ...] = field(default_factory=tuple)
    how_to_get: str = ""


def _mnist_files(folder: str, base_urls: list[str], md5s: dict[str, str], raw_md5s: dict[str, str]) -> tuple:
    files = []
    for key, stem in [
        ("train_images", "train-images-idx3-ubyte"),
        ("train_labels", "train-labels-idx1-ubyte"),
        ("test_images", "t10k-images-idx3-ubyte"),
        ("test_labels", "t10k-labels-idx1-ubyte"),
    ]:
        files.append(
            RemoteFile(
                key=key,
                name=f"{folder}/raw/{stem}.gz",
                md5=md5s[stem],
                urls=tuple(u + stem + ".gz" for u in base_urls),
                unpacked=f"{folder}/raw/{stem}",
                unpacked_md5=raw_md5s.get(stem),
            )
        )
    return tuple(files)


_CIFAR10_CONTENTS = (
    ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
    ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
    ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
    ("data_batch_4", "634d18415352ddfa80567beed471001a"),
    ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    ("test_batch", "40351d587109b95175f43aff81a1287e"),
    ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
)
_CIFAR100_CONTENTS = (
    ("train", "16019d7e3df5f24257cddd939b257f8d"),
    ("test", "f0ef6b0ae62326f3e7ffdfab6717acfc"),
    ("meta", "7973b15100ade9c7d40fb424638fde48"),
)
IMAGENETTE_ARCHIVES = {
    "full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz", "fe2fc210e6bb7c5664d602c3cd71e612"),
    "320px": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz", "3df6f0d01a2c9592104656642f5e78a3"),
    "160px": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz", "e793b78cc4c9e9a4ccc0c1155377a412"),
}
IMAGENETTE_CLASSES = {
    "n01440764": "tench",
    "n02102040": "English springer",
    "n02979186": "cassette player",
    "n03000684": "chain saw",
    "n03028079": "church",
    "n03394916": "French horn",
    "n03417042": "garbage truck",
    "n03425413": "gas pump",
    "n03445777": "golf ball",
    "n03888257": "parachute",
}
AHCD_CLASSES = (
    "alef", "beh", "teh", "theh", "jeem", "hah", "khah", "dal", "thal", "reh", "zain", "seen", "sheen", "sad",
    "dad", "tah", "zah", "ain", "ghain", "feh", "qaf", "kaf", "lam", "meem", "noon", "heh", "waw", "yeh",
)  # fmt: skip
AHDD_CLASSES = tuple(str(d) for d in range(10))


def _archive_spec(name: str, description: str, url: str, md5: str, unpacked: str, contents: tuple) -> DatasetSpec:
    """A dataset downloaded as one archive (read by the reader of its own name)."""
    rf = RemoteFile("root", url.rsplit("/", 1)[1], md5, (url,), unpacked, contents=contents, archive=True)
    return DatasetSpec(name, "remote", name, description, (rf,))


def _csv_archive_spec(name: str, reader: str, description: str, short: str, kaggle: str) -> DatasetSpec:
    """A dataset with no stable URL, distributed as an archive of four CSV files: the user gives its path in
    datasets.<name>.archive (or places it as data_root/<name>.zip)."""
    how_to_get = (
        f"{short} has no stable download URL: download the archive of its four CSV files (csvTrainImages, "
        f"csvTrainLabel, csvTestImages, csvTestLabel; e.g. Kaggle '{kaggle}') and set datasets.{name}.archive to "
        "its path"
    )
    rf = RemoteFile(key="root", name=f"{name}.zip", md5=None, unpacked=name, archive=True)
    return DatasetSpec(name, "local_archive", reader, description, (rf,), how_to_get)


def imagenette_file(variant: str) -> RemoteFile:
    url, md5 = IMAGENETTE_ARCHIVES[variant]
    stem = url.rsplit("/", 1)[1].removesuffix(".tgz")
    return RemoteFile(
        key="root",
        name=f"{stem}.tgz",
        md5=md5,
        urls=(url,),
        unpacked=stem,
        contents=(("train", None), ("val", None)),
        archive=True,
    )


REGISTRY: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist",
        "remote",
        "mnist_idx",
        "MNIST handwritten digits, 28x28x1, 10 classes",
        _mnist_files(
            "MNIST",
            MNIST_URLS,
            {
                "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            {
                "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
                "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
                "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
                "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
            },
        ),
    ),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist",
        "remote",
        "fashion_idx",
        "Fashion-MNIST, 28x28x1, 10 classes",
        _mnist_files(
            "FashionMNIST",
            FASHION_URLS,
            {
                "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
            },
            {},
        ),
    ),
    "cifar10": _archive_spec(
        "cifar10",
        "CIFAR-10, 32x32x3, 10 classes",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
        _CIFAR10_CONTENTS,
    ),
    "cifar100": _archive_spec(
        "cifar100",
        "CIFAR-100 (fine labels), 32x32x3, 100 classes",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
        _CIFAR100_CONTENTS,
    ),
    "svhn": DatasetSpec(
        "svhn",
        "remote",
        "svhn",
        "SVHN cropped digits (train/test, no extra), 32x32x3, 10 classes",
        (
            RemoteFile(
                "train",
                "train_32x32.mat",
                "e26dedcc434d2e4c54c9b2d4a06d8373",
                ("http://ufldl.stanford.edu/housenumbers/train_32x32.mat",),
            ),
            RemoteFile(
                "test",
                "test_32x32.mat",
                "eb5a983be6a315427106f1b164d9cef3",
                ("http://ufldl.stanford.edu/housenumbers/test_32x32.mat",),
            ),
        ),
    ),
    "imagenette": DatasetSpec(
        "imagenette",
        "remote",
        "imagenette",
        "Imagenette (10 ImageNet classes, torchvision's names), resized and center-cropped, val split as test",
        (imagenette_file("320px"),),
    ),
    "tinyimagenet": _archive_spec(
        "tinyimagenet",
        "Tiny ImageNet, 64x64x3, 200 classes, official val split as test",
        "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
        "90528d7ca1a48142e341f4ef8d21d0de",
        "tiny-imagenet-200",
        (("wnids.txt", None), ("words.txt", None), ("val/val_annotations.txt", None)),
    ),
    "arabic_characters": _csv_archive_spec(
        "arabic_characters", "ahcd", "Arabic Handwritten Characters (AHCD), 32x32x1, 28 classes", "AHCD", "ahcd1"
    ),
    "arabic_digits": _csv_archive_spec(
        "arabic_digits", "ahdd", "Arabic Handwritten Digits (AHDD1 / MADBase), 28x28x1, 10 classes", "AHDD", "ahdd1"
    ),
    "digits": DatasetSpec("digits", "builtin", "digits", "scikit-learn's bundled 8x8 digits, 10 classes"),
    "synthetic": DatasetSpec(
        "synthetic",
        "builtin",
        "synthetic",
        "generated 1/f^2 backgrounds with class evidence in low-variance (high-frequency) directions",
    ),
}

BUILTIN = tuple(n for n, s in REGISTRY.items() if s.kind == "builtin")


def dataset_spec(name: str, options: dict | None = None, custom: dict | None = None) -> DatasetSpec:
    """Look up a dataset by name, applying per-dataset options (e.g. the Imagenette variant)."""
    custom = custom or {}
    if name in custom:
        return DatasetSpec(name, "custom", custom[name].get("format", "npz"), f"user dataset '{name}'")
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY) + sorted(custom))
        raise LbrError(f"unknown dataset '{name}'; known datasets are {known} (or declare it under custom_datasets).")
    spec = REGISTRY[name]
    options = options or {}
    if name == "imagenette":
        variant = options.get("variant", "320px")
        if variant not in IMAGENETTE_ARCHIVES:
            raise LbrError(
                f"datasets.imagenette.variant must be one of {sorted(IMAGENETTE_ARCHIVES)}, not '{variant}'."
            )
        spec = DatasetSpec(spec.name, spec.kind, spec.reader, spec.description, (imagenette_file(variant),))
    return spec


def resized_options(spec: DatasetSpec, options: dict, size: int) -> dict:
    """Dataset options that prepare a copy with square side `size` (the full short side): the guidance
    experiment's own copy, which RandomResizedCrop draws from."""
    if spec.name == "imagenette":
        return dict(options) | {"size": int(size), "resize": int(size)}
    if spec.name == "synthetic":
        return dict(options) | {"height": int(size), "width": int(size)}
    if spec.kind == "custom" and spec.reader == "folder":
        return dict(options) | {"size": int(size)}
    raise LbrError(
        f"guidance.source_size can re-prepare only imagenette, synthetic and folder datasets, not '{spec.name}'; "
        "set guidance.source_size to null to train on results/data/<dataset> as prepared."
    )
