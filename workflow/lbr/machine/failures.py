"""What failed in a run that kept going past a failed job (`keep-going`): the failed jobs read from Snakemake's own log,
each with the one sentence its job log ends with, and the scorecard tables they kept from being built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BLOCK = re.compile(r"^Error in rule (\S+):\s*$")
FIELD = re.compile(r"^ {4}(\w+): (.*)$")
TIME = re.compile(r"^\d\d:\d\d:\d\d (ERROR|WARNING|INFO) ")

# The scorecard tables each rule's failure keeps from being built (rules that read a dataset for every figure,
# such as prepare and spectrum, can stop any of them).
RULE_TABLES = {
    "filter": ["fig4"], "train_classifier": ["fig4"], "fig4_table": ["fig4"],
    "train_dynamics": ["fig3_bands"], "fig3_tables": ["fig3_bands"],
    "train_guidance": ["fig6"], "guidance_tables": ["fig6"],
    "fig2_dataset": ["fig2"], "fig2_table": ["fig2"],
    "fig7_dataset": ["fig7"], "fig7_table": ["fig7"],
    "noise_check_dataset": ["noise_check"], "noise_check_table": ["noise_check"],
    "fig8_supervised": ["fig8"], "fig8_denoising": ["fig8"], "fig8_table": ["fig8"],
    "train_denoising": ["fig10"], "fig10_theory": ["fig10"], "fig10_tables": ["fig10"],
    "fig11_dataset": ["fig11"], "fig11_table": ["fig11"],
}  # fmt: skip


@dataclass(frozen=True)
class Failure:
    rule: str
    outputs: str
    log: str
    why: str

    def line(self) -> str:
        where = f" (log {self.log})" if self.log else ""
        return f"{self.rule} [{self.outputs}]: {self.why}{where}"


def reason(log_path: str | Path | None) -> str:
    """The one sentence a failed job's log ends with: its 'lbr: error' line (the runner logs every LbrError as one
    ERROR line), else the last line of a traceback, else its last line."""
    if not log_path or not Path(log_path).is_file():
        return "no log (see Snakemake's output above)"
    lines = [ln.rstrip() for ln in Path(log_path).read_text(errors="replace").splitlines() if ln.strip()]
    errors = [TIME.sub("", ln) for ln in lines if " ERROR " in ln[:20]]
    if errors:
        return errors[-1]
    return lines[-1] if lines else "its log is empty"


def failed_jobs(snakemake_log: str | Path) -> list[Failure]:
    """The failed jobs of a run, from Snakemake's log: each 'Error in rule X:' block's output and log."""
    out, current = [], None
    for line in Path(snakemake_log).read_text(errors="replace").splitlines():
        start = BLOCK.match(line)
        if start:
            current = {"rule": start.group(1), "output": "", "log": ""}
            out.append(current)
            continue
        field = FIELD.match(line) if current is not None else None
        if field and field.group(1) in ("output", "log"):
            current[field.group(1)] = field.group(2).split(" (check log")[0].strip()
        elif current is not None and not line.startswith(" "):
            current = None
    logs = [f["log"].split(",")[0].strip() for f in out]
    return [Failure(f["rule"], f["output"], log, reason(log)) for f, log in zip(out, logs)]


def summary(failures: list[Failure]) -> str:
    if not failures:
        return "lbr: the run failed before any job did (see Snakemake's output above)."
    head = f"lbr: {len(failures)} job{'s' if len(failures) > 1 else ''} failed; everything else that could run did:"
    return "\n".join([head] + [f"  - {f.line()}" for f in failures])


DATASET = re.compile(r"results/(?:data|spectrum|alignment|filtered|manifests)/([^/.\s,]+?)(?:-\d+px)?[/.]")


def failed_tables(failures: list[Failure], expected: dict[str, list[str]]) -> dict[str, str]:
    """{table: why} for the scorecard tables that a failure kept from being built. `expected`: {table: the datasets
    it reads}. A figure's own rules name their tables (RULE_TABLES); a rule that reads one dataset for every figure
    (download, prepare, spectrum, the closed-form statistics) stops the tables whose figure reads that dataset."""
    out: dict[str, list[str]] = {}
    for f in failures:
        if f.rule in RULE_TABLES:
            tables = RULE_TABLES[f.rule]
        else:
            named = set(DATASET.findall(f.outputs))
            tables = [t for t, datasets in expected.items() if not named or named & set(datasets)]
        for table in tables:
            if table in expected:
                out.setdefault(table, []).append(f"{f.rule} failed: {f.why}")
    return {table: "; ".join(dict.fromkeys(whys)) for table, whys in out.items()}
