"""Rule download: make a dataset's raw files available and record where they are."""

import json

from lbr_script import run

from lbr.data import dataset_spec, resolve_dataset
from lbr.io import save_json


def main(smk):
    options = json.loads(smk.params.options)
    spec = dataset_spec(smk.wildcards.dataset, options)
    manifest = resolve_dataset(
        spec,
        smk.params.download_dir,
        smk.params.data_root,
        smk.params.sources,
        local_archive=options.get("archive"),
        timeout=smk.params.timeout,
    )
    save_json(smk.output[0], manifest)


run(main, snakemake)  # noqa: F821
