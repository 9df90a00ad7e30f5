"""Figures: each reads only tables (or, for image figures, the arrays it shows)."""


localrules:
    fig1,
    fig2,
    fig3,
    fig4,
    fig5,
    fig6,
    fig7,
    fig8,
    fig9,
    fig10,
    fig11,


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
        grid=GRID,
    message:
        "Fig. 9: originals, bottom and top variance subspaces of {params.cfg[dataset]}"
    script:
        "../scripts/fig9.py"


rule fig3:
    input:
        directions="results/tables/fig3.csv",
        bands="results/tables/fig3_bands.csv",
    output:
        pdf=report(
            "figures/fig3.pdf",
            caption="../report/fig3.rst",
            category="Figures",
            labels={"figure": "3"},
        ),
        png="figures/fig3.png",
    log:
        "logs/figures/fig3.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        dataset=config["fig3"]["dataset"],
        runs=config["fig3"]["runs"],
        scale=dynamics_scale(config, config["fig3"]["dataset"], config["fig3"]["runs"]),
    message:
        "Fig. 3: reconstruction energy per eigen-direction over epochs, and learning time per band"
    script:
        "../scripts/fig3.py"


rule fig1:
    input:
        fig1_top_check,
        accuracy="results/tables/fig4.csv",
        train=f"results/data/{config['fig1']['dataset_images']}/train.npz",
        spectrum=f"results/spectrum/{config['fig1']['dataset_images']}.npz",
        dynamics="results/tables/fig1_dynamics.csv",
    output:
        pdf=report(
            "figures/fig1.pdf",
            caption="../report/fig1.rst",
            category="Figures",
            labels={"figure": "1"},
        ),
        png="figures/fig1.png",
    log:
        "logs/figures/fig1.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        cfg=config["fig1"],
        grid=GRID,
        scale=fig4_scale(config, [config["fig1"]["dataset_top"]])
        + " "
        + dynamics_scale(config, config["fig1"]["dynamics_run"]["dataset"], [config["fig1"]["dynamics_run"]]),
    message:
        "Fig. 1: accuracy on top vs bottom subspace, example images, learning dynamics"
    script:
        "../scripts/fig1.py"


rule fig4:
    input:
        "results/tables/fig4.csv",
    output:
        pdf=report(
            "figures/fig4.pdf",
            caption="../report/fig4.rst",
            category="Figures",
            labels={"figure": "4"},
        ),
        png="figures/fig4.png",
    log:
        "logs/figures/fig4.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        scale=fig4_scale(config),
    message:
        "Fig. 4: test accuracy from the top vs the bottom variance subspace"
    script:
        "../scripts/fig4.py"


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
        scale=guidance_scale(config),
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
    params:
        scale=guidance_scale(config),
    message:
        "Fig. 6: validation accuracy against reconstruction error, guided vs unguided"
    script:
        "../scripts/fig6.py"


rule fig2:
    input:
        table="results/tables/fig2.csv",
    output:
        pdf=report(
            "figures/fig2.pdf",
            caption="../report/fig2.rst",
            category="Figures",
            labels={"figure": "2"},
        ),
        png="figures/fig2.png",
    log:
        "logs/figures/fig2.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        options={"measure": config["fig2"]["measure"], "k_max": config["fig2"]["k_max"]},
        preprocessing=config["fig2"]["preprocessing"],
    message:
        "Fig. 2: task alignment vs latent dimension"
    script:
        "../scripts/fig2.py"


rule fig7:
    input:
        table="results/tables/fig7.csv",
    output:
        pdf=report(
            "figures/fig7.pdf",
            caption="../report/fig7.rst",
            category="Figures",
            labels={"figure": "7"},
        ),
        png="figures/fig7.png",
    log:
        "logs/figures/fig7.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        options={"measure": config["fig7"]["measure"], "k_min": config["fig7"]["k_min"]},
    message:
        "Fig. 7: impact of masking and Gaussian noise on alignment"
    script:
        "../scripts/fig7.py"


rule fig8:
    input:
        table="results/tables/fig8.csv",
    output:
        pdf=report(
            "figures/fig8.pdf",
            caption="../report/fig8.rst",
            category="Figures",
            labels={"figure": "8"},
        ),
        png="figures/fig8.png",
    log:
        "logs/figures/fig8.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        options={},
    message:
        "Fig. 8: Theorem 1 closed form vs gradient descent"
    script:
        "../scripts/fig8.py"


rule fig10:
    input:
        table="results/tables/fig10.csv",
        bands="results/tables/fig10_bands.csv",
    output:
        pdf=report(
            "figures/fig10.pdf",
            caption="../report/fig10.rst",
            category="Figures",
            labels={"figure": "10"},
        ),
        png="figures/fig10.png",
    log:
        "logs/figures/fig10.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        datasets=config["fig10"]["datasets"],
        runs=config["fig10"]["runs"],
        scale=denoising_scale(config),
    message:
        "Fig. 10: linear-probe accuracy of denoising autoencoders over epochs, per noise, beside Theorem 3"
    script:
        "../scripts/fig10.py"


rule fig11:
    input:
        table="results/tables/fig11.csv",
    output:
        pdf=report(
            "figures/fig11.pdf",
            caption="../report/fig11.rst",
            category="Figures",
            labels={"figure": "11"},
        ),
        png="figures/fig11.png",
    log:
        "logs/figures/fig11.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        options={"measure": config["fig11"]["measure"]},
    message:
        "Fig. 11: alignment of the reconstruction and the joint-embedding optimum under the same augmentations"
    script:
        "../scripts/fig11.py"
