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
    fig4,


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
    message:
        "Fig. 4: test accuracy from the top vs the bottom variance subspace"
    script:
        "../scripts/fig4.py"
