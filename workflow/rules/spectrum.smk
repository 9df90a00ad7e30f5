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
        method=config["spectrum"]["method"],
        chunk_rows=config["spectrum"]["chunk_rows"],
        chunk_cols=config["spectrum"]["chunk_cols"],
        max_vectors=config["spectrum"]["max_vectors"],
        device=config["spectrum"]["device"],
    message:
        "Eigenbasis of the preprocessed {wildcards.dataset} train images"
    script:
        "../scripts/spectrum.py"
