"""The rebuilt-vs-paper scorecard (results/tables/paper_check.csv): every claim as data (`claims`), one small
module of statistics (`stats`) and of verdict rules (`verdicts`), one evaluator per figure (`fig1` ... `fig10`), the
card assembled from the tidy tables (`card`) and shown as text, Markdown or HTML (`render`)."""
