"""Subspace-filtered datasets -> one classifier per (dataset, arch, side, share, aug, seed) -> fig4 table.

The checkpoint of a running job, checkpoint-<key>.pt next to metrics.json, is deliberately not an output:
Snakemake deletes the declared outputs of a job before rerunning it, so a declared checkpoint could never
be resumed from. Undeclared, it survives a kill, a failed attempt (retries) or --rerun-incomplete, and the
next run of the same job resumes from it; the job removes it once metrics.json and history.csv exist.
"""


localrules:
    fig4_table,


rule train_classifier:
    input:
        train="results/filtered/{dataset}/{side}-{level}/train.npy",
        test="results/filtered/{dataset}/{side}-{level}/test.npy",
        train_info="results/filtered/{dataset}/{side}-{level}/train.json",
        test_info="results/filtered/{dataset}/{side}-{level}/test.json",
        train_labels="results/data/{dataset}/train.npz",
        test_labels="results/data/{dataset}/test.npz",
    output:
        metrics=f"{TRAIN_RUN}/metrics.json",
        history=f"{TRAIN_RUN}/history.csv",
    log:
        "logs/train/{dataset}/{arch}/{side}-{level}/aug{aug}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{arch}/{side}-{level}/aug{aug}/seed{seed}.tsv"
    wildcard_constraints:
        arch=CLASSIFIER_ARCHS,
        aug="0|1",
        seed=r"\d+",
    retries: 1
    conda:
        "../../envs/lbr.yaml"
    threads: config["fig4"]["threads"]
    resources:
        gpu=1,
        jobs_per_gpu=fig4_jobs_per_gpu,
        mem_mb=train_mem_mb,
        runtime=gpu_runtime("train_classifier"),
    params:
        recipe=recipe(ClassifierSettings),
    message:
        "Training {wildcards.arch} on {wildcards.dataset} {wildcards.side}-{wildcards.level} for {params.recipe[epochs]} epochs (aug={wildcards.aug}, seed={wildcards.seed})"
    script:
        "../scripts/train_classifier.py"


rule fig4_table:
    input:
        spectra=fig4_spectra(),
        runs=fig4_runs,
    output:
        "results/tables/fig4.csv",
    log:
        "logs/tables/fig4.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        levels={d: fig4_levels(fig4_for(config, d)) for d in config["fig4"]["datasets"]},
        grid=GRID,
    message:
        "Collecting the Fig. 4 training runs into its table"
    script:
        "../scripts/fig4_table.py"
