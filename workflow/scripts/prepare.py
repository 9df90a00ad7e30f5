"""Rule prepare: raw files or a generator -> results/data/{dataset}/{train,test}.npz."""

import json
import logging

from lbr_script import run

from lbr.data import dataset_spec, prepare, save_split
from lbr.io import load_json

log = logging.getLogger("lbr")


def main(smk):
    options = json.loads(smk.params.options)
    custom = {smk.wildcards.dataset: options} if "format" in options else {}
    spec = dataset_spec(smk.wildcards.dataset, options, custom)
    manifest = load_json(smk.input.manifest) if smk.input.get("manifest") else None
    data = prepare(spec, options, manifest, threads=smk.threads)
    for split in ("train", "test"):
        x, y = data[split]
        save_split(smk.output[split], x, y, data["classes"])
        log.info("%s %s: x %s, %d classes", spec.name, split, x.shape, len(data["classes"]))


run(main, snakemake)  # noqa: F821
