"""Eigenbasis + canonical splits -> subspace-filtered datasets results/filtered/{dataset}/{side}-{pct}/."""


rule filter:
    input:
        train="results/data/{dataset}/train.npz",
        test="results/data/{dataset}/test.npz",
        spectrum="results/spectrum/{dataset}.npz",
    output:
        train=filtered("results/filtered/{dataset}/{side}-{pct}/train.npy"),
        test=filtered("results/filtered/{dataset}/{side}-{pct}/test.npy"),
        train_info="results/filtered/{dataset}/{side}-{pct}/train.json",
        test_info="results/filtered/{dataset}/{side}-{pct}/test.json",
    log:
        "logs/filter/{dataset}/{side}-{pct}.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        grid_points=config["filter"]["grid_points"],
        bottom_power=config["filter"]["bottom_power"],
        chunk_rows=config["filter"]["chunk_rows"],
        device=config["filter"]["device"],
    message:
        "Projecting {wildcards.dataset} onto the {wildcards.side} subspace ({wildcards.pct})"
    script:
        "../scripts/filter.py"
