"""The rebuilt-vs-paper scorecard: every quantitative claim of the paper checked on the tidy tables that the
configured figures build (docs/scorecard.md)."""


localrules:
    paper_check,


rule paper_check:
    input:
        unpack(scorecard_tables),
    output:
        csv=report(
            "results/tables/paper_check.csv",
            caption="../report/paper_check.rst",
            category="Scorecard",
            labels={"scorecard": "rebuilt vs paper (CSV)"},
        ),
        html=report(
            "results/tables/paper_check.html",
            caption="../report/paper_check.rst",
            category="Scorecard",
            labels={"scorecard": "rebuilt vs paper"},
        ),
        run="results/tables/paper_check.json",
    log:
        "logs/tables/paper_check.log",
    conda:
        "../../envs/lbr.yaml"
    params:
        options=scorecard_options(),
        run=run_description(),
    message:
        "Scorecard: the paper's claims checked on the tables of the configured figures"
    script:
        "../scripts/paper_check.py"
