"""`lbr plan`: what a Snakemake target costs before it runs. The job graph comes from Snakemake itself (the same
configuration files, the same targets), each training job is priced by `lbr.cost.jobs` at the throughput table
(`lbr.cost.throughput`: measured by bench/gpu_check.py, or documented estimates), and the result is one table per
target (jobs, jobs still to run, GPU jobs, GPU-hours) and one per training rule (minutes per job, the Slurm
runtime it asks for, the start-up that running two jobs per GPU hides)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lbr.config.sections import fig4_for, fig4_requested_runs
from lbr.cost.jobs import COSTS, PRICED_AS, JobCost, declared_model, job_cost, slurm_minutes
from lbr.cost.throughput import Throughput, load

SECTIONS = {
    "train_classifier": "fig4",
    "train_dynamics": "dynamics",
    "train_denoising": "dynamics",
    "train_guidance": "guidance",
}
"""The config section of each training rule (its jobs_per_gpu setting)."""


@dataclass
class Job:
    rule: str
    wildcards: dict
    needs_run: bool
    cost: JobCost | None
    outputs: list[str]
    gpus: int = 0  # the rule's `gpu` resource: 0 for a CPU job
    pending: bool = False  # counted from the configuration: planned by Snakemake once a spectrum exists


@dataclass
class Plan:
    targets: list[str]
    configfiles: list[str]
    table: Throughput
    config: dict
    jobs: list[Job]
    by_target: dict[str, list[int]] = field(default_factory=dict)  # target -> indices into jobs
    pending: list[str] = field(default_factory=list)  # Fig. 4 datasets whose runs wait for their spectrum

    def jobs_per_gpu(self, rule: str, wildcards: dict | None = None) -> int:
        """How many jobs of `rule` share one GPU (a Fig. 4 dataset may set its own, fig4.by_dataset)."""
        if rule == "train_classifier" and wildcards and "dataset" in wildcards:
            return int(fig4_for(self.config, wildcards["dataset"]).get("jobs_per_gpu", 1))
        return int(self.config.get(SECTIONS.get(rule, ""), {}).get("jobs_per_gpu", 1))


def build(
    targets: list[str],
    configfiles: list[str | Path] = (),
    config: dict | None = None,
    measured: str | Path | None = None,
    workdir: str | Path = ".",
    force: bool = False,
) -> Plan:
    """Ask Snakemake for the jobs of `targets` under `configfiles` (+ `config` overrides), then price them."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    workdir = Path(workdir).resolve()
    snakefile = workdir / "Snakefile"
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(f) for f in configfiles], config=config or {}),
            snakefile=snakefile,
            workdir=workdir,
        )
        workflow_api.dag(DAGSettings(targets=set(targets)))
        workflow = workflow_api._workflow  # noqa: SLF001  the DAG is what a dry run would execute
        workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)  # noqa: SLF001
        workflow._build_dag()  # noqa: SLF001
        dag, cfg = workflow.dag, workflow.config
        table = load(measured if measured is not None else cfg.get("gpu_throughput"), force=force)
        order = list(dag.jobs)
        index = {job: i for i, job in enumerate(order)}
        jobs = [
            Job(
                rule=job.rule.name,
                wildcards=dict(job.wildcards),
                needs_run=bool(dag.needrun(job)),
                cost=job_cost(job.rule.name, cfg, dict(job.wildcards), table),
                outputs=[str(f) for f in job.output],
                gpus=_int(job.resources.get("gpu", 0)),
            )
            for job in order
        ]
        by_target = {}
        for target in _target_files(targets, order):
            producer = next((job for job in order if target in {str(f) for f in job.output}), None)
            if producer is None:
                continue
            seen = {producer}
            stack = [producer]
            while stack:
                for dep in dag.dependencies[stack.pop()]:
                    if dep not in seen:
                        seen.add(dep)
                        stack.append(dep)
            by_target[target] = sorted(index[job] for job in seen)
        pending = pending_fig4(order, cfg, table, jobs, by_target, index)
    return Plan(list(targets), [str(f) for f in configfiles], table, dict(cfg), jobs, by_target, pending)


def pending_fig4(order, cfg: dict, table: Throughput, jobs: list[Job], by_target: dict, index: dict) -> list[str]:
    """The Fig. 4 runs Snakemake cannot plan yet: a dataset's levels are resolved on its spectrum (a checkpoint), so
    until it exists the table's training jobs are absent from the DAG. They are added here from the configuration, one
    per requested level (an upper bound: levels that keep the same directions will train once), with a filter job per
    (side, level), under every target that needs the Fig. 4 table. Returns the datasets counted so."""
    table_job = next((job for job in order if job.rule.name == "fig4_table"), None)
    if table_job is None:
        return []
    planned = {j.wildcards.get("dataset") for j in jobs if j.rule == "train_classifier"}
    datasets = [d for d in cfg["fig4"]["datasets"] if d not in planned]
    added = []
    for dataset in datasets:
        runs = fig4_requested_runs(cfg, dataset)
        for wc in runs:
            out = f"results/train/{dataset}/{wc['arch']}/{wc['side']}-{wc['level']}/aug{wc['aug']}/seed{wc['seed']}"
            cost = job_cost("train_classifier", cfg, wc, table)
            added.append(Job("train_classifier", wc, True, cost, [f"{out}/metrics.json"], 1, pending=True))
        for side, level in dict.fromkeys((wc["side"], wc["level"]) for wc in runs):
            out = f"results/filtered/{dataset}/{side}-{level}/train.npy"
            added.append(Job("filter", {"dataset": dataset, "side": side, "level": level}, True, None, [out], 0, True))
    first = len(jobs)
    jobs += added
    for members in by_target.values():
        if index[table_job] in members:
            members += list(range(first, len(jobs)))
    return datasets


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _target_files(targets: list[str], jobs) -> list[str]:
    """The files a target stands for: a rule name (all) becomes the inputs of its job, a file stays itself."""
    files = []
    for target in targets:
        rule_job = next((job for job in jobs if job.rule.name == target and not job.output), None)
        files += [str(f) for f in rule_job.input] if rule_job is not None else [target]
    return files


def gpu_hours(jobs: list[Job], plan: Plan, shared: bool = False) -> tuple[float, float]:
    """(GPU-hours, of which start-up) of the jobs still to run; `shared`: start-ups of rules that run several jobs
    per GPU overlap other jobs' training and cost no GPU time."""
    compute = startup = 0.0
    for job in jobs:
        if job.cost is None or not job.needs_run:
            continue
        compute += job.cost.compute
        if not (shared and plan.jobs_per_gpu(job.rule, job.wildcards) > 1):
            startup += job.cost.startup
    return (compute + startup) / 3600.0, startup / 3600.0


def recorded_startups(plan: Plan) -> dict[str, tuple[float, int, str]]:
    """Median start-up (process start to the end of the first step) that finished training jobs recorded, per rule:
    (seconds, runs, devices)."""
    seen: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for job in plan.jobs:
        if job.rule not in COSTS:
            continue
        for out in job.outputs:
            if out.endswith("metrics.json") and Path(out).is_file():
                metrics = json.loads(Path(out).read_text())
                if "startup_seconds" in metrics:
                    seen[job.rule].append((float(metrics["startup_seconds"]), str(metrics.get("device", "?"))))
    return {
        rule: (statistics.median(s for s, _ in runs), len(runs), ", ".join(sorted({d for _, d in runs})))
        for rule, runs in seen.items()
    }


def user_model_notes(plan: Plan) -> list[str]:
    """One line per training rule whose jobs train models of the user's: they are priced as the paper's model."""
    lines = []
    for rule, paper in PRICED_AS.items():
        jobs = [j for j in plan.jobs if j.rule == rule]
        names = sorted({n for j in jobs if (n := declared_model(rule, plan.config, j.wildcards))})
        if names:
            which = f"models {', '.join(names)} are" if len(names) > 1 else f"model {names[0]} is"
            lines.append(
                f"{rule}: your {which} priced as {paper} of the same settings (the FLOPs of your code are not "
                "counted before it runs); its minutes and Slurm runtime are that model's."
            )
    return lines


def report(plan: Plan) -> str:
    """The plan as text: per target, per training rule, and what sharing GPUs saves."""
    t = plan.table
    files = " ".join(plan.configfiles) or "config.yaml"
    lines = [
        f"Plan of {' '.join(plan.targets)} with {files}: {len(plan.jobs)} jobs, "
        f"{sum(j.needs_run for j in plan.jobs)} to run.",
        f"GPU throughput: {t.describe()}.",
        "",
        f"{'target':<36} {'jobs':>5} {'to run':>6} {'GPU jobs':>8} {'GPU-hours':>9} {'start-up h':>10}",
    ]
    rows = list(plan.by_target.items()) + [("all of the above, each job once", list(range(len(plan.jobs))))]
    for target, idx in rows:
        jobs = [plan.jobs[i] for i in idx]
        hours, startup = gpu_hours(jobs, plan)
        gpu = sum(j.cost is not None for j in jobs)
        lines.append(
            f"{target:<36} {len(jobs):>5} {sum(j.needs_run for j in jobs):>6} {gpu:>8} {hours:>9.2f} {startup:>10.2f}"
        )
    lines += ["", f"{'training rule':<17} {'to run':>6} {'minutes per job':>17} {'GPU-hours':>9} "
              f"{'jobs/GPU':>8} {'Slurm min (attempt 1)':>22}"]  # fmt: skip
    for rule in COSTS:
        jobs = [j for j in plan.jobs if j.rule == rule and j.needs_run]
        if not jobs:
            continue
        minutes = [j.cost.total / 60 for j in jobs]
        slurm = [slurm_minutes(j.cost) for j in jobs]
        hours = sum(minutes) / 60
        lines.append(
            f"{rule:<17} {len(jobs):>6} {min(minutes):>8.1f} - {max(minutes):<6.1f} {hours:>9.2f} "
            f"{'/'.join(sorted({str(plan.jobs_per_gpu(rule, j.wildcards)) for j in jobs})):>8} "
            f"{min(slurm):>10} - {max(slurm):<9}"
        )
    alone, _ = gpu_hours(plan.jobs, plan)
    shared, _ = gpu_hours(plan.jobs, plan, shared=True)
    origin = "measured" if t.measured("startup") else "estimate"
    lines += [
        "",
        f"Start-up per training job on the GPU: {t.startup:.0f} s ({origin}: imports, data to the device, compile "
        "from cache, cuDNN autotuning).",
        f"On one GPU, one job at a time: {alone:.2f} GPU-hours; with the jobs_per_gpu settings above (a job's "
        f"start-up overlaps another's training): {shared:.2f} GPU-hours, {alone - shared:.2f} idle hours hidden.",
    ]
    if plan.pending:
        lines.append(
            f"The Fig. 4 runs of {', '.join(plan.pending)} are counted from their requested levels: their spectra are "
            "not computed yet, and the levels are resolved on them (levels that keep the same directions train once), "
            "so these counts are an upper bound until then."
        )
    lines += user_model_notes(plan)
    for rule, (seconds, runs, devices) in recorded_startups(plan).items():
        lines.append(f"Recorded here: {rule} start-up {seconds:.1f} s (median of {runs} finished runs, {devices}).")
    lines.append(
        "Slurm runtime per job: 3x its estimate + 10 min, doubled on a retry (lbr.cost.jobs); "
        "set gpu_throughput to a gpu_check.json measured on your GPU to price both from it."
    )
    return "\n".join(lines)
