"""Accessors of the configuration that rules, settings and checks share: dataset names and options, a dataset's
Fig. 4 section, the Fig. 10 dynamics, the datasets each figure reads."""

from __future__ import annotations

from lbr.data.registry import REGISTRY
from lbr.errors import LbrError

GUIDANCE_STEM_STRIDE = {"imagenet": 32, "cifar": 8}
"""How much the guided autoencoder's encoder downsamples with each stem (`lbr.models.guided_autoencoder`)."""


def dataset_names(config: dict) -> list[str]:
    """Every dataset name the workflow accepts: the registry plus the user's own."""
    return sorted(REGISTRY) + sorted(config.get("custom_datasets", {}))


def dataset_options(config: dict, name: str) -> dict:
    """Options of one dataset as the prepare step needs them (custom datasets: their whole entry)."""
    if name in config.get("custom_datasets", {}):
        return dict(config["custom_datasets"][name])
    return dict(config.get("datasets", {}).get(name, {}))


def fig4_for(config: dict, dataset: str) -> dict:
    """The Fig. 4 settings of one dataset: the fig4 section with fig4.by_dataset[dataset] over it, and the epochs
    of fig4.epochs_by_dataset unless by_dataset sets them."""
    fig4 = config["fig4"]
    section = {k: v for k, v in fig4.items() if k != "by_dataset"}
    if dataset in fig4["epochs_by_dataset"]:
        section["epochs"] = fig4["epochs_by_dataset"][dataset]
    return section | fig4.get("by_dataset", {}).get(dataset, {})


BY_DATASET_FIXED = ("datasets", "by_dataset", "epochs_by_dataset")


def fig10_dynamics(config: dict) -> dict:
    """The dynamics settings of the Fig. 10 runs: the dynamics section with fig10.dynamics over it."""
    return config["dynamics"] | (config["fig10"].get("dynamics") or {})


def fig10_probe_epochs(config: dict) -> tuple[int, ...]:
    """The epochs a Fig. 10 run probes its code at: fig10.epochs (null: those of fig3.epochs below the epochs it
    trains), and always its last epoch."""
    trained = fig10_dynamics(config)["epochs"]
    listed = config["fig10"]["epochs"]
    listed = [e for e in config["fig3"]["epochs"] if e < trained] if listed is None else listed
    return tuple(sorted({int(e) for e in listed} | {trained - 1}))


def fig4_levels(fig4: dict) -> dict[str, list[str]]:
    """The Fig. 4 grid side by side, {side: [levels]}: a list of shares serves every side of fig4.sides; a
    {top: [...], bottom: [...]} mapping gives each side its own, and its keys are the sides trained (each must
    be one of fig4.sides, whose default lists both)."""
    shares, sides = fig4["shares"], fig4["sides"]
    if isinstance(shares, list):
        return {side: list(shares) for side in sides}
    left_out = [side for side in shares if side not in sides]
    if left_out:
        raise LbrError(
            f"fig4.shares gives shares for {left_out} but fig4.sides {sides} leaves it out; "
            "add it to fig4.sides or remove it from fig4.shares."
        )
    return {side: list(shares[side]) for side in sides if side in shares}


# The keys that name the datasets each figure of `figures` trains or reads (Fig. 1 reads the whole Fig. 4 table);
# the default target `all` also builds the noise check, on noise_check.datasets.
FIGURE_DATASETS = {
    "fig1": ["fig4.datasets", "fig1.dataset_images", "fig1.dynamics_run.dataset"],
    "fig2": ["fig2.datasets"],
    "fig3": ["fig3.dataset"],
    "fig4": ["fig4.datasets"],
    "fig5": ["guidance.dataset"],
    "fig6": ["guidance.dataset"],
    "fig7": ["fig7.datasets"],
    "fig8": [],
    "fig9": ["fig9.dataset"],
    "fig10": ["fig10.datasets"],
    "fig11": ["fig11.datasets"],
}


ALL_DATASETS = ["noise_check.datasets"]


def get_key(config: dict, dotted: str):
    """The value at a dotted key path (`fig1.dynamics_run.dataset`)."""
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def used_datasets(config: dict) -> dict[str, list[str]]:
    """{dataset: [keys naming it]} of every dataset the default target `all` of this configuration builds."""
    keys = [k for fig in config["figures"] for k in FIGURE_DATASETS[fig]] + ALL_DATASETS
    used: dict[str, list[str]] = {}
    for key in dict.fromkeys(keys):
        value = get_key(config, key)
        for name in value if isinstance(value, list) else [value]:
            used.setdefault(name, []).append(key)
    return used


def fig4_requested_runs(config: dict, dataset: str) -> list[dict]:
    """The wildcards of every Fig. 4 run the configuration requests on `dataset`, one per requested level (before
    its spectrum merges levels that keep the same directions): what `lbr plan` counts while the spectrum is pending."""
    c = fig4_for(config, dataset)
    return [
        {"dataset": dataset, "arch": arch, "side": side, "level": str(level), "aug": str(aug), "seed": str(seed)}
        for side, levels in fig4_levels(c).items()
        for level in levels
        for arch in c["archs"]
        for aug in c["aug"]
        for seed in c["seeds"]
    ]
