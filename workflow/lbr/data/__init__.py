"""Dataset registry, downloads and canonical arrays (x uint8 N x H x W x C, y int64, class names)."""

from lbr.data.download import resolve_dataset
from lbr.data.registry import BUILTIN, REGISTRY, dataset_spec, resized_options
from lbr.data.splits import load_split, prepare, save_split, validate_split

__all__ = [
    "BUILTIN",
    "REGISTRY",
    "dataset_spec",
    "load_split",
    "prepare",
    "resized_options",
    "resolve_dataset",
    "save_split",
    "validate_split",
]
