"""Raw files (download or data_root) -> canonical arrays results/data/{dataset}/{split}.npz, and square copies
results/data/{dataset}-{size}px/ for the guidance experiment. A dataset's files are inputs through the `options`
param, which holds a fingerprint of their paths, sizes and mtimes (common.smk): any change to them reruns these
jobs."""


localrules:
    download,


rule download:
    input:
        source_check,
    output:
        "resources/manifests/{dataset}.json",
    log:
        "logs/download/{dataset}.log",
    retries: 1
    conda:
        "../../envs/lbr.yaml"
    params:
        options=prepare_options,
        data_root=config["data_root"],
        download_dir=config["download_dir"],
        timeout=config["download_timeout"],
        sources=lambda wc: config["sources"].get(wc.dataset, {}),
    message:
        "Finding or downloading the raw files of {wildcards.dataset}"
    script:
        "../scripts/download.py"


rule prepare:
    input:
        manifest=manifest_input,
        files=custom_files,
    output:
        train="results/data/{dataset}/train.npz",
        test="results/data/{dataset}/test.npz",
    log:
        "logs/prepare/{dataset}.log",
    priority: 50
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        options=prepare_options,
    message:
        "Preparing canonical arrays of {wildcards.dataset}"
    script:
        "../scripts/prepare.py"


rule prepare_resized:
    input:
        manifest=manifest_input,
        files=custom_files,
    output:
        train="results/data/{dataset}-{size}px/train.npz",
        test="results/data/{dataset}-{size}px/test.npz",
    log:
        "logs/prepare/{dataset}-{size}px.log",
    wildcard_constraints:
        size=r"\d+",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        options=resized_data_options,
    message:
        "Preparing {wildcards.dataset} as {wildcards.size}x{wildcards.size} squares for the guidance runs"
    script:
        "../scripts/prepare.py"
