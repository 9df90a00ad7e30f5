"""Subspace-filtered datasets: every image projected onto a top or bottom subspace and renormalised as the
paper trains on it, written as float16 N x H x W x C arrays (plus a JSON record per split)."""

from __future__ import annotations

import logging
import os

import numpy as np
import torch

from lbr.io import atomic_path, save_json
from lbr.machine.device import float32_math
from lbr.spectral import preprocess as pp
from lbr.spectral.accumulate import chunks, tracked_chunks
from lbr.spectral.pixels import standardize
from lbr.spectral.subspaces import Subspace, project, subspace_dict

log = logging.getLogger("lbr.filter")
RENORMALIZED = "per-image std, then minus the train mean of the projected train images"


def filter_split(
    x: np.ndarray,
    spectrum: dict,
    sub: Subspace,
    out_path: str | os.PathLike,
    device: torch.device,
    chunk_rows: int = 2048,
    center: np.ndarray | None = None,
) -> dict:
    """Project one split, divide each image by its std, subtract `center` (default: this split's own mean
    image) and write float16 N x H x W x C atomically. Returns statistics, with this split's mean image. The
    float32 projections run in IEEE float32 on a GPU too (`float32_math`), whatever TF32 setting the process has
    (TORCH_ALLOW_TF32_CUBLAS_OVERRIDE, a user's `torch.backends.fp32_precision`)."""
    mean = torch.as_tensor(spectrum["mean"], device=device)
    vectors = torch.as_tensor(spectrum["eigenvectors"], device=device, dtype=torch.float32)
    with atomic_path(out_path) as tmp, float32_math():
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(len(x), *x.shape[1:]))
        total = torch.zeros(mean.numel(), dtype=torch.float64, device=device)
        energy_in, energy_kept = 0.0, 0.0
        for sl in tracked_chunks(
            len(x), chunk_rows, f"projecting {len(x)} images onto {sub.side}-{sub.level}", "images"
        ):
            rows = pp.preprocess(x[sl], mean).to(torch.float32)
            proj = project(rows, vectors, sub)
            energy_in += float(rows.double().square().sum())
            energy_kept += float(proj.double().square().sum())
            proj = standardize(proj)
            total += proj.double().sum(dim=0)
            arr[sl] = proj.reshape(-1, *x.shape[1:]).cpu().numpy().astype(np.float16)
        own_mean = (total / len(x)).cpu().numpy()
        shift = (own_mean if center is None else center).astype(np.float32)
        for sl in chunks(len(x), chunk_rows):
            block = arr[sl].astype(np.float32).reshape(len(arr[sl]), -1) - shift
            arr[sl] = block.reshape(arr[sl].shape).astype(np.float16)
        arr.flush()
        del arr
    return {
        "n": int(len(x)),
        "shape": list(x.shape[1:]),
        "energy_kept": energy_kept / max(energy_in, 1e-300),
        "projected_mean": own_mean,
    }


def filter_dataset(
    splits: dict[str, np.ndarray],
    spectrum: dict,
    sub: Subspace,
    outputs: dict[str, str],
    device: torch.device,
    chunk_rows: int,
    dataset: str,
) -> dict[str, dict]:
    """Filter the train split, then the test split centred on the train split's projected mean (the paper's
    renormalisation); write `outputs[split]` (.npy) and `outputs[split + '_info']` (.json). Returns the infos."""
    infos, center = {}, None
    log.info("%s-%s keeps %s, %.4f of the variance", sub.side, sub.level, sub.describe(), sub.variance_kept)
    for split in ("train", "test"):
        stats = filter_split(splits[split], spectrum, sub, outputs[split], device, chunk_rows, center)
        own_mean = stats.pop("projected_mean")
        center = own_mean if split == "train" else center
        infos[split] = subspace_dict(sub) | stats | {"dataset": dataset, "split": split, "renormalized": RENORMALIZED}
        save_json(outputs[f"{split}_info"], infos[split])
    return infos
