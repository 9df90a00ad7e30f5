"""Facts about every rule of a workflow, from Snakemake's own parser: `python tests/rule_facts.py DIR`
prints JSON {rule: {local, gpu, outputs: [{path, report, caption}]}} for the Snakefile in DIR.
Run as a subprocess so that loading a workflow leaves the test process untouched."""

import json
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.io import is_flagged
from snakemake.settings.types import OutputSettings, ResourceSettings


def gpu_value(rule):
    resource = rule.resources.get("gpu")
    if resource is None:
        return 0
    if resource.is_evaluable():
        return "function"
    return resource.value or 0


def caption_path(rule, output):
    caption = output.flags["report"].caption
    if caption is None:
        return None
    if hasattr(caption, "get_path_or_uri"):  # a SourceFile, already resolved by Snakemake
        return str(caption.get_path_or_uri(secret_free=True))
    return str((Path(rule.snakefile).parent / str(caption)).resolve())


def main(workdir: Path) -> None:
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=1), snakefile=workdir / "Snakefile", workdir=workdir
        )._workflow
        facts = {
            rule.name: {
                "local": rule.name in workflow._localrules,
                "gpu": gpu_value(rule),
                "outputs": [
                    {
                        "path": str(f),
                        "report": is_flagged(f, "report"),
                        "caption": caption_path(rule, f) if is_flagged(f, "report") else None,
                    }
                    for f in rule.output
                ],
            }
            for rule in workflow.rules
        }
    print("RULE_FACTS " + json.dumps(facts))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
