"""How much disk a planned job writes, from the dataset sizes the planner knows (`lbr.data.sizes`), so that
`lbr doctor` can compare what a run will write with the free space before it starts. Upper bounds of the large
files only (raw downloads and their extraction, canonical arrays, eigenbases, statistics, filtered datasets, the
checkpoint a training job keeps while it runs); tables, figures, metrics and logs count as SMALL each. Bytes that
are gone when the job's consumers are done (temp() filtered datasets) or when the job ends (checkpoints) are
`passing`: only those of the jobs that run at once coexist."""

from __future__ import annotations

from typing import NamedTuple

from lbr.data.sizes import dataset_size

SMALL = 1 << 20
"""Bytes of a job whose outputs are tables, figures, metrics or logs."""

CHECKPOINT = {
    "train_classifier": 400 << 20,  # ResNet9 at width 1 (30M parameters) with its AdamW state
    "train_dynamics": 100 << 20,
    "train_denoising": 100 << 20,
    "train_guidance": 3 << 30,  # a ResNet-34 autoencoder at L = 4096 with its Adam state (docs/train.md)
}
"""Bytes of a training job's checkpoint, written while it runs and removed at its end."""


class JobBytes(NamedTuple):
    kept: int  # what stays after the run
    passing: int  # what exists only while the job (or its consumers) run


def job_bytes(rule: str, wildcards: dict, config: dict) -> JobBytes:
    """Bytes the job of `rule` with `wildcards` writes (an upper bound of its large files, SMALL otherwise)."""
    if rule in CHECKPOINT:
        return JobBytes(SMALL, CHECKPOINT[rule])
    if "dataset" not in wildcards:
        return JobBytes(SMALL, 0)
    size = dataset_size(config, wildcards["dataset"])
    images, d = size.n_train + size.n_test, size.pixels
    if rule == "download":
        return JobBytes(2 * images * d, 0)  # the archive and its extraction, about one byte per pixel each
    if rule in ("prepare", "prepare_resized"):
        return JobBytes(images * d, 0)  # uint8 N x H x W x C
    if rule == "spectrum":
        kept = min(d, config["spectrum"].get("max_vectors") or d) if size.n_train < d else d
        return JobBytes(4 * d * kept + SMALL, 0)  # float32 eigenvectors
    if rule == "alignment_moments":
        return JobBytes(8 * d * d + SMALL, 0)  # float64 X^T X (a Gram matrix here is at most D x D)
    if rule == "filter":
        projected = 2 * images * d  # float16 projected splits, temp() unless keep_filtered
        return JobBytes(projected, 0) if config.get("keep_filtered") else JobBytes(0, projected)
    return JobBytes(SMALL, 0)
