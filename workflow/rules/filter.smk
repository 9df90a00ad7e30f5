"""Eigenbasis + canonical splits -> subspace-filtered datasets results/filtered/{dataset}/{side}-{level}/, where
level is a share of variance ("0.25") or a point of the authors' grid ("g3")."""


rule filter:
    input:
        train="results/data/{dataset}/train.npz",
        test="results/data/{dataset}/test.npz",
        spectrum="results/spectrum/{dataset}.npz",
    output:
        train=filtered("results/filtered/{dataset}/{side}-{level}/train.npy"),
        test=filtered("results/filtered/{dataset}/{side}-{level}/test.npy"),
        train_info="results/filtered/{dataset}/{side}-{level}/train.json",
        test_info="results/filtered/{dataset}/{side}-{level}/test.json",
    log:
        "logs/filter/{dataset}/{side}-{level}.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=device_gpus("filter"),
        jobs_per_gpu=config["filter"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        recipe=recipe(FilterSettings),
        grid=GRID,
    message:
        "Projecting {wildcards.dataset} onto the {wildcards.side} subspace ({wildcards.level})"
    script:
        "../scripts/filter.py"
