"""Figs. 5-6: ResNet-34 autoencoders with and without supervised guidance -> results/guidance/, tables."""


rule train_guidance:
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
    wildcard_constraints:
        latent=r"\d+",
        guidance=r"[0-9.e+-]+",
        seed=r"\d+",
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=1,
        jobs_per_gpu=GUIDANCE["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=gpu_runtime("train_guidance"),
    params:
        recipe=recipe(GuidanceSettings),
    message:
        "Guided autoencoder on {wildcards.dataset}: latent {wildcards.latent}, guidance {wildcards.guidance}, seed {wildcards.seed}"
    script:
        "../scripts/train_guidance.py"


rule guidance_tables:
    input:
        history=guidance_run_files("history.csv"),
        metrics=guidance_run_files("metrics.json"),
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
