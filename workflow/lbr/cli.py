"""The `lbr` command: small tools around the workflow's artifacts, one subcommand each.

    lbr noise-check --dataset cifar10 --noise mask --ratio 0.5 --patch 2
    lbr config --section fig4
    lbr check
    lbr plan all --measured gpu_check.json
    lbr gpus
    lbr doctor figures/fig4.pdf

Add a subcommand by writing `_add_<name>(subparsers)` that registers a parser with `func=`, and listing it in
SUBCOMMANDS.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lbr.errors import LbrError


def _add_noise_check(sub) -> None:
    """Principal angles between the denoising-optimal subspace (Theorem 3) and the PCA subspace for every latent
    dimension K, on the train split results/data/DATASET/train.npz (build it with `snakemake
    results/data/DATASET/train.npz`). Verdict 'never': no K moves, so the noise cannot help any perception task;
    'sometimes': it changes the representation for some K."""
    help_ = "can a noise ever change what a linear autoencoder keeps? (label-free, any prepared dataset)"
    p = sub.add_parser("noise-check", help=help_, description=_add_noise_check.__doc__)
    p.add_argument("--dataset", required=True, help="dataset name (its train split must be prepared)")
    p.add_argument("--data", type=Path, help="train split file (default results/data/DATASET/train.npz)")
    p.add_argument("--noise", choices=["mask", "gaussian", "pca_mask", "none"], default="mask")
    p.add_argument(
        "--ratio", type=float, default=0.5, help="mask: probability a patch is zeroed; pca_mask: share masked (< 1)"
    )
    p.add_argument(
        "--share", choices=["variance", "components"], default="variance", help="pca_mask: what the ratio is a share of"
    )
    p.add_argument("--draws", type=int, default=4096, help="pca_mask (variance): sampler draws behind its moments")
    p.add_argument("--patch", type=int, default=1, help="mask: patch side k (k x k pixels, all channels)")
    p.add_argument("--sigma", type=float, default=1.0, help="gaussian: std in units of the global pixel std")
    p.add_argument("--preprocessing", choices=["standardize", "raw", "per_image"], default="standardize")
    p.add_argument("--k-max", default="256", help="largest angle exact for K <= k-max ('all' = every K)")
    p.add_argument("--tol-deg", type=float, default=1e-3, help="verdict tolerance in degrees")
    p.add_argument("--jitter", type=float, default=1e-6, help="relative jitter added to M2")
    p.add_argument(
        "--rank-rtol", type=float, default=1e-11, help="relative eigenvalue below which a direction is absent"
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--angles-csv", type=Path, help="also write the per-K angles to this CSV")
    p.set_defaults(func=_noise_check)


def _noise_check(args) -> int:
    from lbr.data import load_split
    from lbr.io import save_csv
    from lbr.machine.device import pick_device
    from lbr.theory import alignment, denoising

    path = args.data or Path("results/data") / args.dataset / "train.npz"
    if not path.exists():
        raise LbrError(f"{path} does not exist; build it with `snakemake {path}` or pass --data.")
    if args.k_max != "all" and not args.k_max.isdigit():
        raise LbrError(f"--k-max must be a positive integer or 'all', not '{args.k_max}'.")
    entry = {"noise": args.noise, "ratio": args.ratio, "patch": args.patch, "sigma": args.sigma, "share": args.share}
    spec = denoising.NoiseSpec.from_dict(entry).with_draws(args.draws)
    device = pick_device(args.device)
    x, y, classes = load_split(path)
    spec.check_shape(tuple(x.shape[1:]))
    moments = alignment.compute_moments(x, y, len(classes), args.preprocessing, "covariance", device)
    basis, xtx = denoising.noise_inputs(moments, [spec], args.rank_rtol, device)
    summary, per_k = denoising.noise_check(
        basis, xtx, spec, moments.shape, moments.n, args.k_max, args.tol_deg, args.jitter
    )
    if args.angles_csv:
        per_k.insert(0, "dataset", args.dataset)
        save_csv(per_k, args.angles_csv)
    print(f"dataset          {args.dataset} ({len(x)} images, D={moments.d}, rank {basis.rank}, {args.preprocessing})")
    print(f"noise            {spec.label}")
    angle, k_at, k_max = summary["max_angle_deg"], summary["K_at_max"], summary["k_max"]
    print(f"max angle        {angle:.4g} deg at K={k_at} (exact for K <= {k_max})")
    print(f"bound, every K   {summary['max_angle_bound_deg']:.4g} deg")
    print(f"verdict          {summary['verdict']}")
    return 0


def _add_config(sub) -> None:
    """The configuration as the workflow sees it: config.yaml (of the current folder, else the repository's),
    then each --configfile in order, as `snakemake --configfile` layers them, with every key the files leave
    out taken from workflow/schemas/config.schema.yaml, validated and checked. Each key's meaning is in the
    schema."""
    help_ = "print the configuration a workflow run sees (config.yaml, your files, the schema's defaults)"
    p = sub.add_parser("config", help=help_, description=_add_config.__doc__)
    p.add_argument("--configfile", nargs="*", default=[], type=Path, help="your files, layered over config.yaml")
    p.add_argument("--section", help="print only this section (e.g. fig4)")
    p.set_defaults(func=_config)


def _config(args) -> int:
    import yaml

    from lbr.config.checks import fig1_top_problem, source_problem
    from lbr.config.load import REPO, load
    from lbr.config.sections import used_datasets

    here = Path("config.yaml")
    config = load(*args.configfile, base=here if here.is_file() else REPO / "config.yaml")
    if args.section is not None and args.section not in config:
        raise LbrError(f"there is no config section '{args.section}'; sections are {', '.join(sorted(config))}.")
    shown = {args.section: config[args.section]} if args.section else config
    print(yaml.safe_dump(shown, sort_keys=False, default_flow_style=None, width=118), end="")
    for name, keys in used_datasets(config).items():
        problem = source_problem(config, name)
        if problem:
            print(f"lbr: warning: {problem[:-1]} ({', '.join(keys)} name it).", file=sys.stderr)
    if "fig1" in config["figures"] and fig1_top_problem(config):
        print(f"lbr: warning: {fig1_top_problem(config)}", file=sys.stderr)
    return 0


def _add_check(sub) -> None:
    """The rebuilt-vs-paper scorecard: one row per claim of the paper (and apart, the consistency checks and the rows
    beyond the paper), each with its status (reproduced, differs, inconclusive, not comparable, not built; consistency
    checks hold or fail), the estimate and 95% interval it rests on, and the runs and points behind it. It reads
    results/tables/paper_check.csv (`snakemake results/tables/paper_check.csv` builds it), or, with --build, computes
    it from whichever tidy tables exist in --tables. --markdown prints it as Markdown led by the run it came from
    (paper_check.json beside the CSV); --into FILE --block NAME writes that Markdown between the markers
    `<!-- lbr check --markdown NAME: begin -->` and `<!-- ... end -->` of FILE (how the docs' result tables are made).
    Exits 0 whatever the statuses."""
    help_ = "print the rebuilt-vs-paper scorecard (results/tables/paper_check.csv)"
    p = sub.add_parser("check", help=help_, description=_add_check.__doc__)
    p.add_argument("--table", type=Path, default=Path("results/tables/paper_check.csv"), help="the scorecard CSV")
    p.add_argument("--build", action="store_true", help="compute it from the tables in --tables instead")
    p.add_argument("--tables", type=Path, default=Path("results/tables"), help="folder of the tidy tables")
    p.add_argument("--fig1-aug", type=int, choices=[0, 1], default=1, help="with --build: Fig. 1 runs with aug?")
    p.add_argument("--fig1-dataset", default="tinyimagenet", help="with --build: Fig. 1's dataset (fig1.dataset_top)")
    p.add_argument("--fig1-arch", default="resnet9", help="with --build: Fig. 1's arch (fig1.arch_top)")
    p.add_argument("--why", action="store_true", help="also print each row's test and why")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables led by the run they came from")
    p.add_argument("--into", type=Path, help="with --markdown: write it into this file, between the --block markers")
    p.add_argument("--block", default="scorecard", help="with --into: the name of the marked block")
    p.set_defaults(func=_check)


def _check(args) -> int:
    import pandas as pd

    from lbr.scorecard.card import read_tables, scorecard
    from lbr.scorecard.claims import COLUMNS
    from lbr.scorecard.render import as_markdown, as_text

    record = None
    if args.build:
        if not args.tables.is_dir():
            raise LbrError(f"--tables {args.tables} is not a folder; give the folder of the tidy tables.")
        fig1 = {"dataset_top": args.fig1_dataset, "arch_top": args.fig1_arch, "aug": bool(args.fig1_aug)}
        card = scorecard(_read(read_tables, args.tables), {"fig1": fig1})
        source = f"the tables in {args.tables} (lbr check --build)"
    elif args.table.is_file():
        card = _read(pd.read_csv, args.table, keep_default_na=False)
        lacking = [c for c in COLUMNS if c not in card.columns]
        if lacking:
            raise LbrError(
                f"{args.table} is not a scorecard of this version (it lacks the columns {', '.join(lacking)}); rebuild "
                "it with `snakemake results/tables/paper_check.csv` or pass --build."
            )
        record = _run_record(args.table.with_suffix(".json"))
        source = f"{args.table}" + (f", {record}" if record else "")
    elif args.table.is_dir():
        raise LbrError(f"{args.table} is a folder, not the scorecard CSV; give the file with --table.")
    else:
        raise LbrError(f"{args.table} does not exist; build it with `snakemake {args.table}` or pass --build.")
    if args.into and not args.markdown:
        raise LbrError("--into writes the Markdown form; add --markdown.")
    if not args.markdown:
        print(as_text(card, why=args.why))
        return 0
    text = as_markdown(card, source)
    if args.into:
        _write_block(args.into, args.block, text)
    else:
        print(text)
    return 0


def _run_record(path: Path) -> str:
    """One line describing the run of a scorecard, from its paper_check.json ('' when there is none)."""
    import json

    from lbr.scorecard.run_record import describe

    if not path.is_file():
        return ""
    try:
        return describe(json.loads(path.read_text()))
    except (json.JSONDecodeError, AttributeError, TypeError):
        raise LbrError(f"{path} is not a run record written by the scorecard rule; delete it or rebuild.") from None


def block_markers(name: str) -> tuple[str, str]:
    return f"<!-- lbr check --markdown {name}: begin -->", f"<!-- lbr check --markdown {name}: end -->"


def _write_block(path: Path, name: str, text: str) -> None:
    """Replace the marked block `name` of the file at `path` with `text`."""
    from lbr.io import save_text

    begin, end = block_markers(name)
    if not path.is_file():
        raise LbrError(f"--into {path} does not exist; give a Markdown file that holds the {name} block markers.")
    doc = path.read_text()
    if doc.count(begin) != 1 or doc.count(end) != 1 or doc.index(begin) > doc.index(end):
        raise LbrError(
            f"{path} must hold the lines '{begin}' and then '{end}' once each; add them where the table goes."
        )
    head, rest = doc.split(begin, 1)
    tail = rest.split(end, 1)[1]
    save_text(path, f"{head}{begin}\n{text}\n{end}{tail}")


def _read(reader, path, **kwargs):
    """`reader(path)` (pandas), with an unreadable CSV as one sentence instead of a traceback."""
    import pandas as pd

    try:
        return reader(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        why = " ".join(str(err).split())
        raise LbrError(f"{path} is not a readable CSV table ({why}); rebuild it with snakemake.") from None


def _add_plan(sub) -> None:
    """Jobs per target and the GPU-hours of what is still to run, before anything runs: Snakemake plans the
    targets with your configuration files (as `snakemake -n` would), and each training job is priced at the
    training rates of one GPU: what `bench/gpu_check.py` measured (--measured, or gpu_throughput in config), else
    the documented H100 estimates (docs/train.md). Also the minutes each Slurm job asks for, and the start-up
    time that running two jobs per GPU hides. Run it in the workflow's folder."""
    help_ = "jobs per target and estimated GPU-hours, before anything runs"
    p = sub.add_parser("plan", help=help_, description=_add_plan.__doc__)
    p.add_argument("targets", nargs="*", default=["all"], help="Snakemake targets (default: all)")
    p.add_argument("--configfile", nargs="*", default=[], type=Path, help="your files, layered over config.yaml")
    p.add_argument("--measured", type=Path, help="a gpu_check.json from bench/gpu_check.py on your GPU")
    p.add_argument("--force", action="store_true", help="accept a --measured file of a smoke or CPU run")
    p.set_defaults(func=_plan)


def _plan(args) -> int:
    from lbr.cost.plan import build, report

    if not Path("Snakefile").is_file():
        raise LbrError("run `lbr plan` in the workflow's folder (the one holding Snakefile and config.yaml).")
    print(report(build(args.targets, args.configfile, measured=args.measured, force=args.force)))
    return 0


def _add_gpus(sub) -> None:
    """The GPUs that jobs on this machine are given (CUDA_VISIBLE_DEVICES, LBR_GPUS) and, for each, the jobs
    holding its slots (pid, rule and wildcards) and how many of its slots each holds, from the lock files in
    LBR_GPU_SLOT_DIR (docs/cluster.md)."""
    help_ = "print which GPU jobs hold which GPU slots on this machine"
    p = sub.add_parser("gpus", help=help_, description=_add_gpus.__doc__)
    p.set_defaults(func=_gpus)


def _gpus(args) -> int:
    from lbr.machine import gpuslots

    ids, directory = gpuslots.device_ids(), gpuslots.slot_dir()
    print(f"lock folder      {directory}")
    for gpu, owners in gpuslots.holders(ids, directory).items():
        free = gpuslots.CAPACITY - sum(owners.values())
        print(f"GPU {gpu:<12} {free} of {gpuslots.CAPACITY} slots free")
        for owner, count in owners.items():
            print(f"  {count:>2} slots   {owner}")
    if not ids:
        print("no GPU visible")
    return 0


def _add_doctor(sub) -> None:
    """Before a run: one line per thing the targets need from this machine, with the fix where one fails (Python
    and the packages, torch and CUDA, the GPUs and the driver, a C compiler and Python's headers for compile, each
    dataset's raw files and their md5, the free disk for the planned outputs, the GPU slot folder, the Slurm
    profile's EDIT lines). Exits 1 when a planned job would fail. Run it in the workflow's folder."""
    help_ = "check this machine for a run of the targets, before a night is lost"
    p = sub.add_parser("doctor", help=help_, description=_add_doctor.__doc__)
    p.add_argument("targets", nargs="*", default=["all"], help="Snakemake targets (default: all)")
    p.add_argument("--configfile", nargs="*", default=[], type=Path, help="your files, layered over config.yaml")
    p.add_argument("--profile", type=Path, help="the Snakemake profile of the run (a Slurm one: its EDIT lines)")
    p.set_defaults(func=_doctor)


def _doctor(args) -> int:
    from lbr.machine.doctor import report, run

    if not Path("Snakefile").is_file():
        raise LbrError("run `lbr doctor` in the workflow's folder (the one holding Snakefile and config.yaml).")
    text, code = report(run(args.targets, args.configfile, args.profile))
    print(text)
    return code


SUBCOMMANDS = [_add_noise_check, _add_config, _add_check, _add_plan, _add_gpus, _add_doctor]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lbr", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except LbrError as err:
        print(f"lbr: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a file the user named that cannot be read: permissions, a folder for a file, ...
        print(f"lbr: error: {err.strerror or err}: {err.filename}; check the path.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
