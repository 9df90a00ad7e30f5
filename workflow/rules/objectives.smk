"""Fig. 11 (beyond the paper): the linear reconstruction and joint-embedding optima under the same augmentations,
in closed form from the statistics of each dataset -> their Eq. 7 alignment for every K -> one tidy table."""


localrules:
    fig11_table,


rule fig11_dataset:
    input:
        moments=f"results/alignment/{{dataset}}/moments-{config['fig11']['preprocessing']}.npz",
    output:
        "results/alignment/{dataset}/fig11.csv",
    log:
        "logs/alignment/{dataset}/fig11.log",
    benchmark:
        "benchmarks/alignment/{dataset}/fig11.tsv"
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=device_gpus("closed_form"),
        jobs_per_gpu=config["closed_form"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=240,
    params:
        recipe=recipe(DenoisingSettings),
        grid={
            k: config["fig11"][k]
            for k in ("sigmas", "mask_ratios", "mask_patches", "pca_ratios", "pca_share", "crop_pads", "small_k")
        },
    message:
        "Reconstruction and joint embedding of {wildcards.dataset} in closed form under each augmentation: "
        "alignment for every K"
    script:
        "../scripts/fig11_dataset.py"


rule fig11_table:
    input:
        expand("results/alignment/{dataset}/fig11.csv", dataset=config["fig11"]["datasets"]),
    output:
        "results/tables/fig11.csv",
    log:
        "logs/tables/fig11.log",
    conda:
        "../../envs/lbr.yaml"
    message:
        "Fig. 11 table"
    script:
        "../scripts/concat_tables.py"
