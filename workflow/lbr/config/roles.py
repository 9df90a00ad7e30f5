"""Dataset roles: names such as `natural` or `digits` that stand for a dataset wherever the configuration names
one (`roles: {natural: cifar10}`), so that a profile is written once for "a natural-image dataset" and a user
points it at CIFAR-10, TinyImageNet or their own image folder by changing one key. Roles are replaced by the
dataset they name before anything else reads the configuration; paths, tables and figures only ever see real
dataset names."""

from __future__ import annotations

from lbr.errors import LbrError

LISTS = (
    ("fig2", "datasets"),
    ("fig7", "datasets"),
    ("noise_check", "datasets"),
    ("fig4", "datasets"),
    ("fig10", "datasets"),
    ("fig11", "datasets"),
)
"""Config keys holding a list of dataset names."""
SINGLES = (
    ("fig3", "dataset"),
    ("fig9", "dataset"),
    ("fig1", "dataset_top"),
    ("fig1", "dataset_images"),
    ("fig1", "dynamics_run", "dataset"),
    ("guidance", "dataset"),
)
"""Config keys holding one dataset name."""
KEYED = (("fig4", "epochs_by_dataset"), ("fig4", "by_dataset"))
"""Config mappings keyed by dataset name."""


def _parent(config: dict, path: tuple[str, ...]) -> dict | None:
    node = config
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, dict) else None


def resolve_roles(config: dict, known: list[str]) -> None:
    """Replace every role name in the dataset keys of `config` by the dataset it names, in place (a list keeps the
    first of two entries that turn out to name the same dataset). `known` are the real dataset names."""
    roles = config.get("roles") or {}
    clash = sorted(set(roles) & set(known))
    if clash:
        raise LbrError(f"roles {clash} reuse dataset names; a role needs a name of its own (e.g. natural, plain).")
    for role, name in roles.items():
        if name not in known:
            raise LbrError(
                f"roles.{role} names unknown dataset '{name}'; use a registered dataset ({', '.join(known)}) or "
                "declare it under custom_datasets."
            )
    if not roles:
        return
    for path in LISTS:
        node = _parent(config, path)
        if node is not None and isinstance(node.get(path[-1]), list):
            named = [roles.get(v, v) for v in node[path[-1]]]
            node[path[-1]] = list(dict.fromkeys(named))
    for path in SINGLES:
        node = _parent(config, path)
        if node is not None and node.get(path[-1]) in roles:
            node[path[-1]] = roles[node[path[-1]]]
    for path in KEYED:
        node = _parent(config, path)
        if node is not None and isinstance(node.get(path[-1]), dict):
            node[path[-1]] = {roles.get(k, k): v for k, v in node[path[-1]].items()}
