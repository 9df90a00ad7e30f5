"""Closed forms on real data: sufficient statistics -> Fig. 2 (Eq. 7), Fig. 7 (Eq. 9) and the noise check."""


wildcard_constraints:
    prep="standardize|raw|per_image",


localrules:
    fig2_table,
    fig7_table,
    noise_check_table,


rule alignment_moments:
    input:
        train="results/data/{dataset}/train.npz",
    output:
        "results/alignment/{dataset}/moments-{prep}.npz",
    log:
        "logs/alignment/{dataset}/moments-{prep}.log",
    benchmark:
        "benchmarks/alignment/{dataset}/moments-{prep}.tsv"
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=60,
    params:
        cfg=config["closed_form"],
    message:
        "X^T X and X^T Y of {wildcards.dataset} ({wildcards.prep} pixels)"
    script:
        "../scripts/alignment_moments.py"


rule fig2_dataset:
    input:
        moments=f"results/alignment/{{dataset}}/moments-{config['fig2']['preprocessing']}.npz",
    output:
        "results/alignment/{dataset}/fig2.csv",
    log:
        "logs/alignment/{dataset}/fig2.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=60,
    params:
        cfg=config["closed_form"],
    message:
        "Task alignment (Eq. 7) of {wildcards.dataset} for every latent dimension"
    script:
        "../scripts/alignment_fig2.py"


rule fig2_table:
    input:
        expand("results/alignment/{dataset}/fig2.csv", dataset=config["fig2"]["datasets"]),
    output:
        "results/tables/fig2.csv",
    log:
        "logs/tables/fig2.log",
    conda:
        "../../envs/lbr.yaml"
    message:
        "Fig. 2 table"
    script:
        "../scripts/concat_tables.py"


rule fig7_dataset:
    input:
        moments=f"results/alignment/{{dataset}}/moments-{config['fig7']['preprocessing']}.npz",
    output:
        "results/alignment/{dataset}/fig7.csv",
    log:
        "logs/alignment/{dataset}/fig7.log",
    benchmark:
        "benchmarks/alignment/{dataset}/fig7.tsv"
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=240,
    params:
        cfg=config["closed_form"],
        fig=config["fig7"],
    message:
        "Alignment of {wildcards.dataset} under masking and Gaussian noise (Theorem 3)"
    script:
        "../scripts/alignment_fig7.py"


rule fig7_table:
    input:
        expand("results/alignment/{dataset}/fig7.csv", dataset=config["fig7"]["datasets"]),
    output:
        "results/tables/fig7.csv",
    log:
        "logs/tables/fig7.log",
    conda:
        "../../envs/lbr.yaml"
    message:
        "Fig. 7 table"
    script:
        "../scripts/concat_tables.py"


rule noise_check_dataset:
    input:
        moments=f"results/alignment/{{dataset}}/moments-{config['noise_check']['preprocessing']}.npz",
    output:
        summary="results/alignment/{dataset}/noise_check.csv",
        angles="results/alignment/{dataset}/noise_angles.csv",
    log:
        "logs/alignment/{dataset}/noise_check.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=120,
    params:
        cfg=config["closed_form"],
        check=config["noise_check"],
    message:
        "Label-free noise check on {wildcards.dataset}: principal angles to the PCA subspace for every K"
    script:
        "../scripts/noise_check.py"


rule noise_check_table:
    input:
        expand("results/alignment/{dataset}/noise_check.csv", dataset=config["noise_check"]["datasets"]),
    output:
        "results/tables/noise_check.csv",
    log:
        "logs/tables/noise_check.log",
    conda:
        "../../envs/lbr.yaml"
    message:
        "Noise-check table"
    script:
        "../scripts/concat_tables.py"
