"""Figs. 5-6: ResNet-34 autoencoders with and without supervised guidance -> results/guidance/, tables."""


rule guidance_data:
    input:
        manifest=manifest_input,
    output:
        train="results/data/{dataset}-{size}px/train.npz",
        test="results/data/{dataset}-{size}px/test.npz",
    log:
        "logs/guidance_data/{dataset}-{size}px.log",
    conda:
        "../../envs/lbr.yaml"
    wildcard_constraints:
        size=r"\d+",
    threads: 4
    resources:
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        options=guidance_data_options,
    message:
        "Preparing {wildcards.dataset} as {wildcards.size}x{wildcards.size} squares for the guidance runs"
    script:
        "../scripts/prepare.py"


rule guidance_train:
    input:
        unpack(guidance_data),
    output:
        history=f"{GUIDANCE_RUN}/history.csv",
        metrics=f"{GUIDANCE_RUN}/metrics.json",
        recon=f"{GUIDANCE_RUN}/recon.npz",
    log:
        "logs/guidance/{dataset}/L{latent}/g{guidance}/seed{seed}.log",
    benchmark:
        "benchmarks/guidance/{dataset}/L{latent}/g{guidance}/seed{seed}.tsv"
    conda:
        "../../envs/lbr.yaml"
    wildcard_constraints:
        latent=r"\d+",
        guidance=r"[0-9.e+-]+",
        seed=r"\d+",
    threads: 4
    resources:
        gpu=1,
        mem_mb=dataset_mem_mb,
        runtime=lambda wc, attempt: GUIDANCE["runtime"] * attempt,
    params:
        settings=guidance_settings,
        checkpoint=f"{GUIDANCE_RUN}/checkpoint.pt",
    message:
        "Guided autoencoder on {wildcards.dataset}: latent {wildcards.latent}, guidance {wildcards.guidance}, seed {wildcards.seed}"
    script:
        "../scripts/guidance_train.py"


rule guidance_tables:
    input:
        history=guidance_run_files("history.csv"),
    output:
        fig5="results/tables/fig5.csv",
        fig6="results/tables/fig6.csv",
    log:
        "logs/tables/guidance.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        runs=guidance_runs(),
    message:
        "Tables of Figs. 5-6 from the guidance runs"
    script:
        "../scripts/guidance_tables.py"
