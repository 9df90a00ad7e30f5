"""Fig. 10 (beyond the paper): the Fig. 3 autoencoders trained as denoising autoencoders, one run per (dataset, arch,
depth, noise, seed) -> energies per eigen-direction and linear-probe accuracy of the code over epochs; beside them
Theorem 3's prediction for a linear autoencoder -> tidy tables."""


localrules:
    fig10_tables,


rule train_denoising:
    input:
        train="results/data/{dataset}/train.npz",
        test="results/data/{dataset}/test.npz",
    output:
        energies=f"{DENOISING_RUN}/energies.npz",
        history=f"{DENOISING_RUN}/history.csv",
    log:
        "logs/denoising/{dataset}/{arch}-depth{depth}/{noise}/seed{seed}.log",
    benchmark:
        "benchmarks/denoising/{dataset}/{arch}-depth{depth}/{noise}/seed{seed}.tsv"
    wildcard_constraints:
        arch=AUTOENCODER_ARCHS,
        depth=r"\d+",
        noise=NOISE_LABEL,
        seed=r"\d+",
    retries: 1
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=1,
        jobs_per_gpu=config["dynamics"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=gpu_runtime("train_denoising"),
    params:
        recipe=recipe(DenoisingAESettings),
    message:
        "Training the {wildcards.arch} autoencoder (depth {wildcards.depth}) on {wildcards.dataset} with noise "
        "{wildcards.noise} (seed {wildcards.seed}): reconstruction energy per eigen-direction and a linear probe "
        "of its code over epochs"
    script:
        "../scripts/train_denoising.py"


rule fig10_theory:
    input:
        moments="results/alignment/{dataset}/moments-standardize.npz",
    output:
        "results/denoising/{dataset}/theory.csv",
    log:
        "logs/denoising/{dataset}/theory.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=device_gpus("closed_form"),
        jobs_per_gpu=config["closed_form"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=120,
    params:
        recipe=recipe(DenoisingSettings),
        noises=config["fig10"]["noises"],
    message:
        "Theorem 3 on {wildcards.dataset}: alignment of a linear denoising autoencoder under each Fig. 10 noise, "
        "for every K"
    script:
        "../scripts/fig10_theory.py"


rule fig10_tables:
    input:
        runs=[f"{DENOISING_RUN.format(**run)}/energies.npz" for run in fig10_runs()],
        theory=expand("results/denoising/{dataset}/theory.csv", dataset=config["fig10"]["datasets"]),
    output:
        probe="results/tables/fig10.csv",
        bands="results/tables/fig10_bands.csv",
    log:
        "logs/tables/fig10.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        runs=fig10_runs(),
        bands=config["fig3"]["bands"],
        threshold=config["fig3"]["capture_threshold"],
    message:
        "Tables of Fig. 10: probe accuracy per run and epoch beside Theorem 3's prediction, and capture epochs per band"
    script:
        "../scripts/fig10_tables.py"
