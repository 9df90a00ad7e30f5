"""Facts about every rule of a workflow, from Snakemake's own parser: `python tests/rule_facts.py DIR`
prints JSON {rule: {local, gpu, scaling, outputs: [{path, report, caption}]}} for the Snakefile in DIR.
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


class _AnyWildcards:
    """Stands in for a job's wildcards: every name is a small, real dataset of the registry."""

    def __getattr__(self, name):
        return {"depth": "3", "latent": "512", "seed": "0", "guidance": "0", "aug": "1"}.get(name, "cifar10")


def scaling(rule, key):
    """The resource `key` at attempts 1 and 2 (None when the rule does not set it)."""
    resource = rule.resources.get(key)
    if resource is None:
        return None
    if not resource.is_evaluable():
        return [resource.value, resource.value]
    return [resource.evaluate(_AnyWildcards(), attempt=a, input=[], threads=1).value for a in (1, 2)]


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
                "scaling": {key: scaling(rule, key) for key in ("mem_mb", "runtime")} if gpu_value(rule) else {},
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
