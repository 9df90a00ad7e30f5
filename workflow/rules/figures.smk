"""Figures: each reads only tables (or, for image figures, the arrays it shows)."""


localrules:
    fig9,


rule fig9:
    input:
        train=f"results/data/{config['fig9']['dataset']}/train.npz",
        spectrum=f"results/spectrum/{config['fig9']['dataset']}.npz",
    output:
        pdf=report(
            "figures/fig9.pdf",
            caption="../report/fig9.rst",
            category="Figures",
            labels={"figure": "9"},
        ),
        png="figures/fig9.png",
    log:
        "logs/figures/fig9.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        cfg=config["fig9"],
        grid_points=config["filter"]["grid_points"],
        bottom_power=config["filter"]["bottom_power"],
    message:
        "Fig. 9: originals, bottom and top variance subspaces of {params.cfg[dataset]}"
    script:
        "../scripts/fig9.py"


localrules:
    fig5,
    fig6,


rule fig5:
    input:
        table="results/tables/fig5.csv",
        recon=fig5_recon_inputs(),
    output:
        pdf=report(
            "figures/fig5.pdf",
            caption="../report/fig5.rst",
            category="Figures",
            labels={"figure": "5"},
        ),
        png="figures/fig5.png",
    log:
        "logs/figures/fig5.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        weights=GUIDANCE["weights"],
        image_latent=config["fig5"]["image_latent"] or GUIDANCE["latents"][0],
        n_images=config["fig5"]["n_images"],
    message:
        "Fig. 5: reconstruction and accuracy of guided vs unguided autoencoders over training"
    script:
        "../scripts/fig5.py"


rule fig6:
    input:
        table="results/tables/fig6.csv",
    output:
        pdf=report(
            "figures/fig6.pdf",
            caption="../report/fig6.rst",
            category="Figures",
            labels={"figure": "6"},
        ),
        png="figures/fig6.png",
    log:
        "logs/figures/fig6.log",
    conda:
        "../../envs/lbr.yaml"
    message:
        "Fig. 6: validation accuracy against reconstruction error, guided vs unguided"
    script:
        "../scripts/fig6.py"
