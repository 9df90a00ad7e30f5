"""What one training job costs on one GPU, from its rule, wildcards and the configuration: the images it trains
on and evaluates, at the throughput of its architecture (`lbr.cost.throughput`), plus its start-up. The Slurm
runtime of each training rule and `lbr plan` both come from here, so they agree. A model of the user's (config
`models`) cannot be FLOP-counted without importing torch and its code, so it is priced as the paper's model of its
role (`PRICED_AS`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lbr.config.sections import fig4_for, fig10_dynamics, fig10_probe_epochs
from lbr.cost import flops
from lbr.cost.throughput import Throughput, images_per_second
from lbr.data.sizes import dataset_size

SLURM_MARGIN, SLURM_EXTRA_MINUTES = 3.0, 10.0
"""A Slurm job asks for 3x its estimate plus 10 minutes (slower cards, a busy node), doubled on each retry."""


@dataclass(frozen=True)
class JobCost:
    """Seconds of one job on one GPU: training and evaluation, and the start-up before its first step."""

    compute: float
    startup: float

    @property
    def total(self) -> float:
        return self.compute + self.startup


def _wc(wildcards, name: str) -> str:
    return wildcards[name] if isinstance(wildcards, dict) else getattr(wildcards, name)


def evaluations(epochs: int, every: int) -> int:
    """Evaluations of a run: after every `every`-th epoch and after the last (`lbr.training.loop`)."""
    if every <= 0:
        return 1
    return epochs // every + (1 if epochs % every else 0)


def _subset(n: int, section: dict) -> int:
    subset = section.get("train_subset")
    return min(n, int(subset)) if subset else n


def classifier(config: dict, wildcards, table: Throughput) -> JobCost:
    """A Fig. 4 classifier: epochs over the (subset of the) training split, the test split at each evaluation."""
    dataset, arch = _wc(wildcards, "dataset"), _wc(wildcards, "arch")
    c = fig4_for(config, dataset)
    size = dataset_size(config, dataset)
    epochs = int(c["epochs"])
    n = _subset(size.n_train, c) // c["batch_size"] * c["batch_size"]
    if arch == "mlp":
        rate = images_per_second(table, "mlp", flops.training(flops.mlp(size.shape, width=c["width"])))
    else:  # resnet9, and a model of the user's priced as ResNet9 at its width
        rate = images_per_second(table, "resnet9", flops.training(flops.resnet9(size.shape, c["width"])))
    evals = evaluations(epochs, c["eval_every"]) * size.n_test / (flops.TRAIN_PASSES * rate)
    return JobCost(epochs * n / rate + evals, table.startup)


def _autoencoder_rate(config: dict, section: dict, wildcards, table: Throughput):
    """(dataset size, training images/s) of a Fig. 3 / Fig. 10 autoencoder at the `section`'s latent size; a model
    of the user's is priced as the DCAE at its depth."""
    size = dataset_size(config, _wc(wildcards, "dataset"))
    arch, depth = _wc(wildcards, "arch"), int(_wc(wildcards, "depth"))
    count = flops.mlpae if arch == "mlpae" else flops.dcae
    return size, images_per_second(table, "dcae", flops.training(count(size.shape, section["latent"], depth)))


def measure_seconds_per_image(table: Throughput, rate: float, pixels: int) -> float:
    """Seconds per image of one Fig. 3 energy measurement: a forward pass of the autoencoder (a third of a training
    image at its training `rate`) and the projection of the image and its reconstruction onto the D x D eigenbasis.
    `table.dcae_measure` times both at once for the reference DCAE at D = 3,072: its projection share, what is left
    after the reference's forward pass, grows as D**2; the forward pass is counted once, at this model's rate."""
    forward = 1.0 / (flops.TRAIN_PASSES * rate)
    projection = max(table.dcae_measure - 1.0 / (flops.TRAIN_PASSES * table.dcae), 0.0)
    return forward + projection * (pixels / 3072) ** 2


def dynamics(config: dict, wildcards, table: Throughput) -> JobCost:
    """A Fig. 3 autoencoder: training epochs, and an energy measurement before training and after every epoch."""
    d = config["dynamics"]
    size, rate = _autoencoder_rate(config, d, wildcards, table)
    n_train = _subset(size.n_train, d)
    n = n_train // d["batch_size"] * d["batch_size"]
    measured = min(n_train, d["measure_images"] or n_train)
    per_image = measure_seconds_per_image(table, rate, size.pixels)
    eigenbasis = 2.0 * measured * size.pixels**2 / 1e13 + 0.1 * (size.pixels / 3072) ** 3
    return JobCost(d["epochs"] * n / rate + (d["epochs"] + 1) * measured * per_image + eigenbasis, table.startup)


def denoising(config: dict, wildcards, table: Throughput) -> JobCost:
    """A Fig. 10 run: the Fig. 3 run of its autoencoder at the Fig. 10 settings (the noise costs a few elementwise
    operations per image), plus the probe at each probed epoch: the code of every training and test image (an
    encoder pass, priced as a forward pass of the whole autoencoder) and a float64 solve of the min(features,
    images) normal equations."""
    d = fig10_dynamics(config)
    base = dynamics(config | {"dynamics": d}, wildcards, table)
    size, rate = _autoencoder_rate(config, d, wildcards, table)
    arch, depth = _wc(wildcards, "arch"), int(_wc(wildcards, "depth"))
    n_train = _subset(size.n_train, d)
    probes = len(fig10_probe_epochs(config))
    features = flops.code_size(arch, size.shape, d["latent"], depth)
    side = min(features, n_train)
    per_probe = (n_train + size.n_test) / (flops.TRAIN_PASSES * rate) + (n_train * features**2 + side**3) / 1e13
    return JobCost(base.compute + probes * per_probe, base.startup)


def guidance(config: dict, wildcards, table: Throughput) -> JobCost:
    """A Figs. 5-6 guided autoencoder: training epochs at image_size, the validation split at each evaluation (a
    model of the user's priced as ours at guidance.width and blocks)."""
    g = config["guidance"]
    options = config.get("datasets", {}).get(g["dataset"], {}) | (g.get("source_options") or {})
    size = dataset_size(config | {"datasets": {**config.get("datasets", {}), g["dataset"]: options}}, g["dataset"])
    forward = flops.guided_autoencoder(
        g["image_size"],
        g["width"],
        int(_wc(wildcards, "latent")),
        tuple(g["encoder_blocks"]),
        tuple(g["decoder_blocks"]),
        size.shape[0],
        g.get("stem", "imagenet"),
    )
    rate = images_per_second(table, "guidance", flops.training(forward))
    n = _subset(size.n_train, g) // g["batch_size"] * g["batch_size"]
    evals = evaluations(g["epochs"], g["eval_every"]) * size.n_test / (flops.TRAIN_PASSES * rate)
    return JobCost(g["epochs"] * n / rate + evals, table.startup)


COSTS = {
    "train_classifier": classifier,
    "train_dynamics": dynamics,
    "train_denoising": denoising,
    "train_guidance": guidance,
}
"""Every rule that trains on a GPU, and how to price one of its jobs."""

PRICED_AS = {
    "train_classifier": "ResNet9",
    "train_dynamics": "the DCAE",
    "train_denoising": "the DCAE",
    "train_guidance": "the ResNet autoencoder",
}
"""The paper model whose cost a model of the user's gets, per training rule."""


def declared_model(rule: str, config: dict, wildcards) -> str | None:
    """The name of the user's model a training job trains (config `models`), None for a paper model."""
    if rule not in COSTS:
        return None
    arch = config["guidance"]["arch"] if rule == "train_guidance" else _wc(wildcards, "arch")
    return arch if arch in (config.get("models") or {}) else None


def job_cost(rule: str, config: dict, wildcards, table: Throughput) -> JobCost | None:
    """The cost of a job of `rule` (None for rules that do not train on a GPU)."""
    price = COSTS.get(rule)
    return None if price is None else price(config, wildcards, table)


def slurm_minutes(cost: JobCost, attempt: int = 1) -> int:
    """Minutes a Slurm job asks for: SLURM_MARGIN x the estimate + SLURM_EXTRA_MINUTES, doubled per retry."""
    return math.ceil((SLURM_MARGIN * cost.total / 60.0 + SLURM_EXTRA_MINUTES) * 2 ** (attempt - 1))
