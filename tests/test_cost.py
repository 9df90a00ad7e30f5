"""Pricing jobs before they run: FLOPs per image counted without torch equal torch's own count on the real
models, the throughput table loads measured rates, a job's cost and Slurm minutes follow from it, and
`lbr plan` agrees with Snakemake's own dry run on the jobs it counts."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lbr.config.load import load
from lbr.cost import flops
from lbr.cost.jobs import JobCost, job_cost, slurm_minutes
from lbr.cost.throughput import ESTIMATES, images_per_second
from lbr.cost.throughput import load as load_table
from lbr.errors import LbrError
from lbr.models import DCAE, MLPAE, GuidedAutoencoder, build

from repo_copy import copy_workflow, snakemake


def counted(model: torch.nn.Module, shape: tuple[int, ...]) -> float:
    """Forward FLOPs per image by torch's FlopCounterMode (2 per multiply-add, as ours)."""
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(2, *shape))
    return counter.get_total_flops() / 2


@pytest.mark.parametrize(
    "name, shape, width",
    [("resnet9", (3, 32, 32), 1.0), ("resnet9", (1, 28, 28), 0.5), ("resnet9", (3, 64, 64), 0.25),
     ("resnet9", (1, 8, 8), 0.125), ("mlp", (3, 32, 32), 1.0), ("mlp", (1, 28, 28), 0.5)],
)  # fmt: skip
def test_classifier_flops_equal_torchs_count(name, shape, width):
    ours = flops.resnet9(shape, width) if name == "resnet9" else flops.mlp(shape, 10, width)
    theirs = counted(build(name, in_shape=shape, n_classes=10, width=width), shape)
    assert ours == pytest.approx(theirs, rel=1e-3)


@pytest.mark.parametrize(
    "arch, shape, latent, depth",
    [("dcae", (3, 32, 32), 64, 3), ("dcae", (1, 16, 16), 32, 4),
     ("mlpae", (3, 16, 16), 64, 3), ("mlpae", (1, 28, 28), 32, 5)],
)  # fmt: skip
def test_autoencoder_flops_equal_torchs_count(arch, shape, latent, depth):
    model = (DCAE if arch == "dcae" else MLPAE)(shape, latent, depth)
    ours = (flops.dcae if arch == "dcae" else flops.mlpae)(shape, latent, depth)
    assert ours == pytest.approx(counted(model, shape), rel=1e-3)


def test_guided_autoencoder_flops_equal_torchs_count():
    model = GuidedAutoencoder(32, 10, 64, 8, 3, 0.0, (1, 2, 1, 1), (2, 1, 1, 1))
    assert flops.guided_autoencoder(64, 8, 32, (1, 2, 1, 1), (2, 1, 1, 1)) == pytest.approx(
        counted(model, (3, 64, 64)), rel=1e-3
    )


@pytest.mark.parametrize(
    "size, width, enc, dec", [(32, 8, (1, 2, 1, 1), (2, 1, 1, 1)), (64, 4, (1, 1, 1, 1), (1, 1, 1, 2))]
)
def test_cifar_stem_flops_equal_torchs_count(size, width, enc, dec):
    model = GuidedAutoencoder(32, 10, size, width, 3, 0.0, enc, dec, stem="cifar")
    ours = flops.guided_autoencoder(size, width, 32, enc, dec, stem="cifar")
    assert ours == pytest.approx(counted(model, (3, size, size)), rel=1e-3)


def test_the_paper_anchors():
    """docs/train.md's FLOPs per training image (ResNet9 3.18 GFLOP at 32 px) and docs/guidance.md's 44 GFLOP."""
    assert flops.training(flops.resnet9((3, 32, 32))) / 1e9 == pytest.approx(3.18, abs=0.01)
    assert flops.training(flops.guided_autoencoder(224, 64, 512)) / 1e9 == pytest.approx(44, abs=0.5)


def test_rates_scale_with_flops_and_mlps_are_capped():
    ref = flops.training(flops.resnet9((3, 32, 32)))
    assert images_per_second(ESTIMATES, "resnet9", 4 * ref) == pytest.approx(ESTIMATES.resnet9 / 4)
    assert images_per_second(ESTIMATES, "resnet9", ref / 100) == pytest.approx(8 * ESTIMATES.resnet9)  # overheads
    big = flops.training(flops.mlp((3, 64, 64), 200))
    assert images_per_second(ESTIMATES, "mlp", flops.training(flops.mlp((3, 32, 32)))) == ESTIMATES.mlp
    assert images_per_second(ESTIMATES, "mlp", 100 * big) < ESTIMATES.mlp


def test_measured_rates_replace_the_estimates(tmp_path):
    path = tmp_path / "gpu_check.json"
    path.write_text(json.dumps({"throughput": {"resnet9_images_per_s": 28000.0, "mlp_images_per_s": None,
                                                "device": "NVIDIA H100 80GB HBM3"}}))  # fmt: skip
    table = load_table(path)
    assert table.resnet9 == 28000.0 and table.measured("resnet9") and not table.measured("mlp")
    assert table.mlp == ESTIMATES.mlp and "H100 80GB" in table.describe()
    with pytest.raises(LbrError, match="does not exist"):
        load_table(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(LbrError, match="not a gpu_check.json"):
        load_table(tmp_path / "bad.json")


def test_a_jobs_cost_follows_its_settings_and_slurm_doubles_on_retry():
    config = load()
    wc = {"dataset": "cifar10", "arch": "resnet9", "side": "top", "level": "g1", "aug": "1", "seed": "0"}
    full = job_cost("train_classifier", config, wc, ESTIMATES)
    expected = 50 * (50_000 // 512 * 512) / ESTIMATES.resnet9  # 50 epochs of CIFAR-10 at the reference rate
    assert full.compute == pytest.approx(expected, rel=0.05) and full.startup == ESTIMATES.startup
    config["fig4"]["epochs_by_dataset"] = {"cifar10": 25}
    assert job_cost("train_classifier", config, wc, ESTIMATES).compute == pytest.approx(full.compute / 2, rel=0.02)
    assert job_cost("prepare", config, {"dataset": "cifar10"}, ESTIMATES) is None
    cost = JobCost(compute=540.0, startup=60.0)  # 10 minutes: 3 x 10 + 10 = 40 minutes, 80 on a retry
    assert (slurm_minutes(cost, 1), slurm_minutes(cost, 2)) == (40, 80)


def test_jobs_are_priced_on_their_training_subset_and_stem():
    """The schema's keys fig4/dynamics/guidance.train_subset and guidance.stem reach the prices."""
    config = load()
    wc = {"dataset": "cifar10", "arch": "resnet9", "side": "top", "level": "g1", "aug": "1", "seed": "0"}
    full = job_cost("train_classifier", config, wc, ESTIMATES)
    config["fig4"]["train_subset"] = 5120
    part = job_cost("train_classifier", config, wc, ESTIMATES)
    evals = full.compute - 50 * (50_000 // 512 * 512) / ESTIMATES.resnet9
    assert part.compute - evals == pytest.approx((full.compute - evals) * 5120 / (50_000 // 512 * 512), rel=1e-6)
    dyn = {"dataset": "cifar10", "arch": "dcae", "depth": "3"}
    before = job_cost("train_dynamics", config, dyn, ESTIMATES).compute
    config["dynamics"]["train_subset"] = 5000
    assert job_cost("train_dynamics", config, dyn, ESTIMATES).compute < before / 5
    gwc = {"dataset": "imagenette", "latent": "512", "guidance": "0", "seed": "0"}
    config["guidance"] |= {"image_size": 64, "width": 64}
    imagenet = job_cost("train_guidance", config, gwc, ESTIMATES).compute
    config["guidance"]["stem"] = "cifar"
    cifar = job_cost("train_guidance", config, gwc, ESTIMATES).compute
    assert flops.guided_autoencoder(64, 64, 512, stem="cifar") > 15 * flops.guided_autoencoder(64, 64, 512)
    assert cifar > 4 * imagenet  # 15x the FLOPs (the imagenet stem's rate is capped at MAX_SPEEDUP)
    config["guidance"]["train_subset"] = 1000
    assert job_cost("train_guidance", config, gwc, ESTIMATES).compute < cifar / 5


def _stats(output: str) -> dict[str, int]:
    """Snakemake's own 'Job stats' table of a dry run."""
    block = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M) if m[1] != "total"}


def _lbr(repo, *args):
    env_code = f"import sys; sys.path.insert(0, {str(repo / 'workflow')!r}); from lbr.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", env_code, *args], cwd=repo, capture_output=True, text=True, timeout=300
    )


@pytest.mark.workflow
def test_plan_counts_the_jobs_of_snakemakes_dry_run(tmp_path):
    repo = copy_workflow(tmp_path / "repo")
    dry = snakemake(repo, "-n", "all")
    assert dry.returncode == 0, dry.stdout[-3000:]
    stats = _stats(dry.stdout)
    result = _lbr(repo, "plan", "all")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    total = re.search(r"all of the above, each job once\s+(\d+)\s+(\d+)\s+(\d+)", out)
    config = load()
    c, g = config["fig4"], config["guidance"]
    runs = len(c["datasets"]) * len(c["archs"]) * len(c["sides"]) * len(c["shares"]) * len(c["aug"]) * len(c["seeds"])
    # the Fig. 4 runs and filters wait for their spectra (a checkpoint): Snakemake's dry run does not list them yet,
    # the plan counts them from the requested levels and says so
    filters = len(c["datasets"]) * len(c["sides"]) * len(c["shares"])
    assert "train_classifier" not in stats and "filter" not in stats
    assert int(total[1]) == sum(stats.values()) + runs + filters and int(total[3]) == runs + sum(
        stats.get(r, 0) for r in ("train_dynamics", "train_denoising", "train_guidance")
    )
    assert "are counted from their requested levels: their spectra are not computed yet" in out
    assert re.search(rf"^train_classifier\s+{runs}\s", out, re.M)
    assert re.search(rf"^train_guidance\s+{len(g['latents']) * len(g['weights']) * len(g['seeds'])}\s", out, re.M)
    for name in config["figures"]:
        assert f"figures/{name}.pdf" in out
    assert "documented H100 estimates" in out

    measured = tmp_path / "gpu_check.json"
    slow = {k: getattr(ESTIMATES, f) / 2 for k, f in (("resnet9_images_per_s", "resnet9"), ("mlp_images_per_s", "mlp"),
            ("dcae_images_per_s", "dcae"), ("guidance_images_per_s", "guidance"))}  # fmt: skip
    measured.write_text(json.dumps({"throughput": slow | {"startup_seconds": 30.0, "device": "a slow GPU"}}))
    halved = _lbr(repo, "plan", "all", "--measured", str(measured)).stdout

    def hours(text):
        row = re.search(r"all of the above, each job once(?:\s+\d+){3}\s+([\d.]+)\s+([\d.]+)", text)
        return float(row[1]) - float(row[2])  # compute hours (start-up is the same)

    assert hours(halved) == pytest.approx(2 * hours(out), rel=0.02) and "measured on a slow GPU" in halved


def test_the_energy_measurement_counts_the_forward_pass_once():
    """gpu_check times one measurement of the reference DCAE (D = 3,072) whole: a forward pass plus the
    projections. The reference job is priced at exactly that time per image (the forward pass is not added a
    second time), and only the projection share grows as D**2 (a TinyImageNet-sized D = 12,288: 16x)."""
    from lbr.cost.jobs import measure_seconds_per_image

    table = ESTIMATES
    reference = images_per_second(table, "dcae", flops.training(flops.dcae((3, 32, 32), 512, 3)))
    assert reference == pytest.approx(table.dcae)
    assert measure_seconds_per_image(table, reference, 3072) == pytest.approx(table.dcae_measure, rel=1e-12)
    forward = 1 / (flops.TRAIN_PASSES * table.dcae)
    projection = table.dcae_measure - forward
    assert measure_seconds_per_image(table, reference, 4 * 3072) == pytest.approx(forward + 16 * projection)
    slow = measure_seconds_per_image(table, reference / 2, 3072)  # a model twice as costly: its own forward pass
    assert slow == pytest.approx(2 * forward + projection)
    config = load()
    wc = {"dataset": "cifar10", "arch": "dcae", "depth": "3"}
    d = config["dynamics"]
    job = job_cost("train_dynamics", config, wc, table).compute
    train = d["epochs"] * (50_000 // d["batch_size"] * d["batch_size"]) / table.dcae
    measure = (d["epochs"] + 1) * 50_000 * table.dcae_measure
    eigenbasis = 2.0 * 50_000 * 3072**2 / 1e13 + 0.1
    assert job == pytest.approx(train + measure + eigenbasis, rel=1e-9)


def test_plan_refuses_a_smoke_or_cpu_record_unless_forced(tmp_path):
    rates = {"resnet9_images_per_s": 500.0, "device": "cpu"}
    cases = {
        "smoke.json": ({"smoke": True, "device": "cpu", "throughput": rates}, r"a --smoke run \(toy sizes\)"),
        "cpu.json": ({"smoke": False, "device": "cpu", "throughput": rates}, "a run on the CPU"),
    }
    for name, (record, what) in cases.items():
        (tmp_path / name).write_text(json.dumps(record))
        with pytest.raises(LbrError, match=f"records {what}, whose rates say nothing about a GPU; .* --force"):
            load_table(tmp_path / name)
        assert load_table(tmp_path / name, force=True).resnet9 == 500.0
    gpu = {"smoke": False, "device": "NVIDIA H100", "throughput": rates | {"device": "NVIDIA H100"}}
    (tmp_path / "gpu.json").write_text(json.dumps(gpu))
    assert load_table(tmp_path / "gpu.json").measured("resnet9")
