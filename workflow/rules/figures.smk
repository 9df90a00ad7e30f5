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
