"""The closed-form theory. On real data: sufficient statistics -> Fig. 2 (Eq. 7), Fig. 7 (Eq. 9) and the noise
check; on synthetic data: Theorem 1 (and Theorem 3) against gradient descent -> Fig. 8."""


wildcard_constraints:
    prep="standardize|raw|per_image",


localrules:
    fig2_table,
    fig7_table,
    noise_check_table,
    fig8_table,


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
        gpu=device_gpus("closed_form"),
        jobs_per_gpu=config["closed_form"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=60,
    params:
        recipe=recipe(MomentsSettings),
        covariance_for=moments_consumers,
    message:
        "Sufficient statistics of {wildcards.dataset} ({wildcards.prep} pixels)"
    script:
        "../scripts/alignment_moments.py"


rule fig2_dataset:
    input:
        moments="results/alignment/{dataset}/moments-{prep}.npz",
    output:
        "results/alignment/{dataset}/fig2-{prep}.csv",
    log:
        "logs/alignment/{dataset}/fig2-{prep}.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=device_gpus("closed_form"),
        jobs_per_gpu=config["closed_form"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=60,
    params:
        recipe=recipe(AlignmentSettings),
    message:
        "Task alignment (Eq. 7) of {wildcards.dataset} ({wildcards.prep} pixels) for every latent dimension"
    script:
        "../scripts/fig2_dataset.py"


rule fig2_table:
    input:
        expand("results/alignment/{dataset}/fig2-{prep}.csv", dataset=config["fig2"]["datasets"], prep=FIG2_PREPS),
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
        gpu=device_gpus("closed_form"),
        jobs_per_gpu=config["closed_form"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=240,
    params:
        recipe=recipe(DenoisingSettings),
        noises={k: config["fig7"][k] for k in ("sigmas", "patches", "ratios", "pca_ratios", "pca_share")},
    message:
        "Alignment of {wildcards.dataset} under masking and Gaussian noise (Theorem 3)"
    script:
        "../scripts/fig7_dataset.py"


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
        gpu=device_gpus("closed_form"),
        jobs_per_gpu=config["closed_form"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=120,
    params:
        recipe=recipe(DenoisingSettings),
        check={k: config["noise_check"][k] for k in ("noises", "k_max", "tol_deg")},
    message:
        "Label-free noise check on {wildcards.dataset}: principal angles to the PCA subspace for every K"
    script:
        "../scripts/noise_check_dataset.py"


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


rule fig8_supervised:
    output:
        "results/linear/supervised-D{d}-K{k}.csv",
    log:
        "logs/linear/supervised-D{d}-K{k}.log",
    wildcard_constraints:
        d=r"\d+",
        k=r"\d+",
    conda:
        "../../envs/lbr.yaml"
    threads: 2
    resources:
        gpu=device_gpus("fig8"),
        jobs_per_gpu=config["fig8"]["jobs_per_gpu"],
        runtime=120,
    params:
        recipe=recipe(SupervisedGDSettings),
    message:
        "Theorem 1 vs Adam: D={wildcards.d}, K={wildcards.k}"
    script:
        "../scripts/fig8_supervised.py"


rule fig8_denoising:
    output:
        "results/linear/denoising.csv",
    log:
        "logs/linear/denoising.log",
    conda:
        "../../envs/lbr.yaml"
    threads: 2
    resources:
        gpu=device_gpus("fig8"),
        jobs_per_gpu=config["fig8"]["jobs_per_gpu"],
        runtime=240,
    params:
        recipe=recipe(DenoisingGDSettings),
    message:
        "Theorem 3 (Gaussian noise) vs SGD with several views"
    script:
        "../scripts/fig8_denoising.py"


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
