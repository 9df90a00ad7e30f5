"""Theorem 1 (and Theorem 3) closed forms against gradient descent on the paper's synthetic problem (Fig. 8)."""


localrules:
    fig8_table,


rule fig8_supervised:
    output:
        "results/linear/supervised-D{d}-K{k}.csv",
    log:
        "logs/linear/supervised-D{d}-K{k}.log",
    conda:
        "../../envs/lbr.yaml"
    wildcard_constraints:
        d=r"\d+",
        k=r"\d+",
    threads: 2
    resources:
        runtime=120,
    params:
        cfg=config["fig8"],
    message:
        "Theorem 1 vs Adam: D={wildcards.d}, K={wildcards.k}"
    script:
        "../scripts/linear_supervised.py"


rule fig8_denoising:
    output:
        "results/linear/denoising.csv",
    log:
        "logs/linear/denoising.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 2
    resources:
        runtime=240,
    params:
        cfg=config["fig8"],
    message:
        "Theorem 3 (Gaussian noise) vs SGD with several views"
    script:
        "../scripts/linear_denoising.py"


rule fig8_table:
    input:
        expand(
            "results/linear/supervised-D{d}-K{k}.csv",
            d=config["fig8"]["dims"],
            k=config["fig8"]["latents"],
        ),
        "results/linear/denoising.csv",
    output:
        "results/tables/fig8.csv",
    log:
        "logs/tables/fig8.log",
    conda:
        "../../envs/lbr.yaml"
    message:
        "Fig. 8 table"
    script:
        "../scripts/concat_tables.py"
