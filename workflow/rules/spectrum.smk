"""Canonical train split -> eigenbasis results/spectrum/{dataset}.npz.

A checkpoint: once a dataset's spectrum exists, the workflow resolves its Fig. 4 levels on it (a level that keeps
no direction, or every one, becomes the nearest subspace that exists; levels that keep the same directions train
once) and plans their filter and training jobs. It runs early (priority), so that what the levels become is known
before any training starts."""


checkpoint spectrum:
    input:
        train="results/data/{dataset}/train.npz",
    output:
        "results/spectrum/{dataset}.npz",
    log:
        "logs/spectrum/{dataset}.log",
    benchmark:
        "benchmarks/spectrum/{dataset}.tsv"
    priority: 50
    conda:
        "../../envs/lbr.yaml"
    threads: 8
    resources:
        gpu=device_gpus("spectrum"),
        jobs_per_gpu=config["spectrum"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        recipe=recipe(SpectrumSettings),
    message:
        "Eigenbasis of the preprocessed {wildcards.dataset} train images"
    script:
        "../scripts/spectrum.py"
