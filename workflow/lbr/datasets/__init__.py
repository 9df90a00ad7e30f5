"""Dataset registry, downloads and canonical arrays (x uint8 N x H x W x C, y int64, class names)."""

from lbr.datasets.canonical import load_split, prepare, save_split, validate_split
from lbr.datasets.download import resolve_dataset
from lbr.datasets.registry import BUILTIN, REGISTRY, dataset_spec

__all__ = [
    "BUILTIN",
    "REGISTRY",
    "dataset_spec",
    "load_split",
    "prepare",
    "resolve_dataset",
    "save_split",
    "validate_split",
]
