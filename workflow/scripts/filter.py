"""Rule filter: project train and test onto a top/bottom subspace, renormalised as the paper trains on it."""

import logging

from lbr_script import run

from lbr import spectrum, subspace
from lbr.datasets import load_split
from lbr.device import pick_device
from lbr.io import save_json

log = logging.getLogger("lbr")


def main(smk):
    spec = spectrum.load(smk.input.spectrum)
    sub = subspace.resolve(
        spec["eigenvalues"], smk.wildcards.side, smk.wildcards.pct, smk.params.grid_points, smk.params.bottom_power
    )
    device = pick_device(smk.params.device)
    log.info("%s-%s: %d of %d directions, %.4f of the variance", sub.side, sub.spec, sub.dims,
             sub.n_directions, sub.variance_kept)  # fmt: skip
    center = None
    for split in ("train", "test"):
        x, _, _ = load_split(smk.input[split])
        stats = subspace.filter_split(x, spec, sub, smk.output[split], device, smk.params.chunk_rows, center)
        center = stats.pop("projected_mean") if split == "train" else center
        stats.pop("projected_mean", None)
        info = subspace.subspace_dict(sub) | stats | {
            "dataset": smk.wildcards.dataset,
            "split": split,
            "renormalized": "per-image std, then minus the train mean of the projected train images",
        }
        save_json(smk.output[f"{split}_info"], info)


run(main, snakemake)  # noqa: F821
