"""What a trained figure was computed from, in one sentence per dataset or model, for its caption and the report:
the data (and the training subset), the model and its width, the epochs. Built from the run's configuration (the
same settings the training jobs' params carry), without torch, while the workflow plans."""

from __future__ import annotations

from lbr.config.sections import fig4_for, fig10_dynamics
from lbr.theory.noise import NoiseSpec


def _images(subset: int | None, seed: int | str) -> str:
    if not subset:
        return "the whole training split"
    drawn = "drawn anew for each seed" if seed == "seed" else f"seed {seed}"
    return f"a class-balanced subset of {subset:,} training images ({drawn})"


def _archs(c: dict) -> str:
    names = []
    for arch in c["archs"]:
        if arch == "resnet9":
            names.append("ResNet9" + ("" if c["width"] == 1 else f" at {c['width']:g} of the published widths"))
        elif arch == "mlp":
            names.append("the depth-4 MLP" + ("" if c["width"] == 1 else f" at {c['width']:g} of its hidden widths"))
        else:
            names.append(f"model {arch}")
    return " and ".join(names)


def fig4_scale(config: dict, datasets: list[str] | None = None) -> str:
    """The Fig. 4 runs of each dataset: model, width, images, epochs, augmentation, loss."""
    parts = []
    for dataset in datasets or config["fig4"]["datasets"]:
        c = fig4_for(config, dataset)
        aug = {(1,): "with", (0,): "without"}.get(tuple(c["aug"]), "with and without") + " augmentation"
        parts.append(
            f"{dataset}: {_archs(c)} trained on {_images(c.get('train_subset'), c.get('subset_seed', 0))} for "
            f"{c['epochs']} epochs ({aug}, batch {c['batch_size']}, loss {c['loss']}, seed(s) "
            f"{', '.join(map(str, c['seeds']))}), tested on the whole test split"
        )
    return "; ".join(parts) + "."


def dynamics_scale(config: dict, dataset: str, runs: list[dict]) -> str:
    """The Fig. 3 autoencoders: which, latent, images, epochs, precision."""
    d = config["dynamics"]
    models = ", ".join(f"{r['arch'].upper()} depth {r['depth']}" for r in runs)
    measured = d["measure_images"] or "all"
    images = _images(d.get("train_subset"), d.get("subset_seed", 0))
    return (
        f"{dataset}: {models} (latent {d['latent']}) trained on {images} for {d['epochs']} epochs "
        f"(batch {d['batch_size']}, autocast {d['autocast']}); energies measured on {measured} of those images."
    )


def denoising_scale(config: dict) -> str:
    """The Fig. 10 autoencoders: which, latent, images, epochs, noises, seeds, probe."""
    d, f = fig10_dynamics(config), config["fig10"]
    models = ", ".join(f"{r['arch'].upper()} depth {r['depth']}" for r in f["runs"])
    noises = ", ".join(NoiseSpec.from_dict(n).label for n in f["noises"])
    images = _images(d.get("train_subset"), d.get("subset_seed", 0))
    return (
        f"{', '.join(f['datasets'])}: {models} (latent {d['latent']}) trained on {images} for {d['epochs']} epochs "
        f"(batch {d['batch_size']}, autocast {d['autocast']}) under the noises {noises}, seeds "
        f"{', '.join(map(str, f['seeds']))}; ridge probe ({f['probe_ridge']:g}) fitted on those images, tested on "
        "the whole test split."
    )


def guidance_scale(config: dict) -> str:
    """The Figs. 5-6 autoencoders: network, input size, width, blocks, latents, images, epochs."""
    g = config["guidance"]
    stem = g.get("stem", "imagenet")
    network = (
        "the ResNet34 autoencoder"
        if (g["width"], list(g["encoder_blocks"]), stem) == (64, [3, 4, 6, 3], "imagenet")
        else f"a reduced ResNet autoencoder (width {g['width']}, blocks {g['encoder_blocks']} / {g['decoder_blocks']}, "
        f"{stem} stem)"
    )
    images = _images(g.get("train_subset"), g.get("subset_seed", 0))
    return (
        f"{g['dataset']}: {network} at {g['image_size']} px, latents {', '.join(map(str, g['latents']))}, guidance "
        f"{', '.join(f'{w:g}' for w in g['weights'])}, trained on {images} for {g['epochs']} epochs "
        f"(batch {g['batch_size']}, lr {g['lr']:g}), validated on the whole test split."
    )
