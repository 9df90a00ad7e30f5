"""Canonical train split -> eigenbasis results/spectrum/{dataset}.npz."""


rule spectrum:
    input:
        train="results/data/{dataset}/train.npz",
    output:
        "results/spectrum/{dataset}.npz",
    log:
        "logs/spectrum/{dataset}.log",
    benchmark:
        "benchmarks/spectrum/{dataset}.tsv"
    conda:
        "../../envs/lbr.yaml"
    threads: 8
    resources:
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        recipe=recipe(SpectrumSettings),
    message:
        "Eigenbasis of the preprocessed {wildcards.dataset} train images"
    script:
        "../scripts/spectrum.py"
