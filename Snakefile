"""Rebuild every figure of 'Learning by Reconstruction Produces Uninformative Features For Perception'."""

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.27")

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from lbr.config.load import complete as complete_config
from lbr.errors import LbrError


configfile: "config.yaml"


try:
    complete_config(config)  # null rule, schema defaults and validation, checks across sections
except LbrError as err:
    raise WorkflowError(f"Invalid configuration: {err}")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset="|".join(DATASETS),
    split="train|test",
    side="top|bottom",
    level=r"g\d+|0(\.\d+)?|1(\.0+)?|\.\d+",


include: "workflow/rules/data.smk"
include: "workflow/rules/spectrum.smk"
include: "workflow/rules/filter.smk"
include: "workflow/rules/classifiers.smk"
include: "workflow/rules/dynamics.smk"
include: "workflow/rules/denoising.smk"
include: "workflow/rules/guidance.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/objectives.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/scorecard.smk"


rule all:
    default_target: True
    input:
        all_targets(),


onerror:
    report_failures(log)
