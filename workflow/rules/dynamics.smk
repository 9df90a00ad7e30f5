"""Learning dynamics (Figs. 3 and 1-bottom): one autoencoder run per (dataset, arch, depth) -> per-direction
energies of its reconstructions over epochs -> tidy tables."""


localrules:
    fig3_tables,
    fig1_dynamics_table,


rule train_dynamics:
    input:
        train="results/data/{dataset}/train.npz",
        test="results/data/{dataset}/test.npz",
    output:
        energies="results/dynamics/{dataset}/{arch}-depth{depth}/energies.npz",
        history="results/dynamics/{dataset}/{arch}-depth{depth}/history.csv",
    log:
        "logs/dynamics/{dataset}/{arch}-depth{depth}.log",
    benchmark:
        "benchmarks/dynamics/{dataset}/{arch}-depth{depth}.tsv"
    wildcard_constraints:
        arch=AUTOENCODER_ARCHS,
        depth=r"\d+",
    retries: 1
    conda:
        "../../envs/lbr.yaml"
    threads: 4
    resources:
        gpu=1,
        jobs_per_gpu=config["dynamics"]["jobs_per_gpu"],
        mem_mb=dataset_mem_mb,
        runtime=gpu_runtime("train_dynamics"),
    params:
        recipe=recipe(DynamicsSettings),
    message:
        "Training the {wildcards.arch} autoencoder (depth {wildcards.depth}) on {wildcards.dataset} and recording "
        "its reconstruction energy per eigen-direction after every epoch"
    script:
        "../scripts/train_dynamics.py"


rule fig3_tables:
    input:
        dynamics_energies(config["fig3"]["dataset"], config["fig3"]["runs"]),
    output:
        directions="results/tables/fig3.csv",
        bands="results/tables/fig3_bands.csv",
    log:
        "logs/tables/fig3.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        dataset=config["fig3"]["dataset"],
        runs=config["fig3"]["runs"],
        epochs=config["fig3"]["epochs"],
        bands=config["fig3"]["bands"],
        threshold=config["fig3"]["capture_threshold"],
    message:
        "Tables of Fig. 3: energy per eigen-direction and captured share per band of {params.dataset}"
    script:
        "../scripts/dynamics_tables.py"


rule fig1_dynamics_table:
    input:
        dynamics_energies(config["fig1"]["dynamics_run"]["dataset"], [config["fig1"]["dynamics_run"]]),
    output:
        directions="results/tables/fig1_dynamics.csv",
    log:
        "logs/tables/fig1_dynamics.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        dataset=config["fig1"]["dynamics_run"]["dataset"],
        runs=[config["fig1"]["dynamics_run"]],
        epochs=config["fig3"]["epochs"],
    message:
        "Table of Fig. 1 (bottom): energy per eigen-direction of the chosen Fig. 3 run"
    script:
        "../scripts/dynamics_tables.py"
