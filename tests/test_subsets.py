"""Training subsets: the class-balanced seeded draw (checked against its rule by counting), and every trainer
training on exactly the drawn images and recording them."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from lbr.config.settings import ClassifierSettings, DynamicsSettings, GuidanceSettings
from lbr.data.builtin import synthetic
from lbr.data.splits import save_split
from lbr.data.subsets import balanced_subset, draw_subset
from lbr.errors import LbrError
from lbr.io import save_json
from lbr.tables.dynamics import load_energies
from lbr.training import classifier, dynamics, guidance

from conftest import job_settings

CPU = torch.device("cpu")


def _labels(counts, seed=0):
    """A shuffled label vector with counts[c] images of class c."""
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    return y


def _sha(indices):
    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()[:12]


def _is_fair(quotas, counts, size):
    """As balanced as possible: the quotas sum to size, none exceeds its class, and a class holds two fewer
    than another only when it gave all it has."""
    if quotas.sum() != size or (quotas > counts).any():
        return False
    return all(
        quotas[a] == counts[a] or quotas[a] >= quotas[b] - 1 for a in range(len(counts)) for b in range(len(counts))
    )


# ---- the draw ----------------------------------------------------------------------------------------------


def test_same_seed_same_images_and_another_seed_others():
    y = _labels([40] * 10)
    a, b = balanced_subset(y, 100, 0), balanced_subset(y, 100, 0)
    assert np.array_equal(a, b) and a.dtype == np.int64
    assert np.all(np.diff(a) > 0) and len(a) == 100
    assert not np.array_equal(a, balanced_subset(y, 100, 1))
    assert np.random.default_rng(0).random() == np.random.default_rng(0).random()  # no global state touched


@pytest.mark.parametrize("size", [10, 37, 99, 101, 255])
def test_balanced_per_class(size):
    y = _labels([30] * 10)
    counts = np.bincount(y[balanced_subset(y, size, 3)], minlength=10)
    assert counts.sum() == size and counts.max() - counts.min() <= 1 and counts.min() == size // 10


def test_the_remainder_classes_follow_the_seed():
    y = _labels([30] * 10)
    extra = [tuple(np.flatnonzero(np.bincount(y[balanced_subset(y, 13, s)], minlength=10) == 2)) for s in range(8)]
    assert all(len(e) == 3 for e in extra) and len(set(extra)) > 1


@pytest.mark.parametrize(
    "counts, size, expected",
    [([3, 50, 50, 50], 60, [3, 19, 19, 19]), ([1, 2, 50, 50], 40, [1, 2, 18, 19]), ([5, 5, 5], 14, None)],
)
def test_a_short_class_gives_all_and_the_others_share_the_shortfall(counts, size, expected):
    counts = np.asarray(counts)
    y = _labels(counts, 1)
    for seed in range(5):
        quotas = np.bincount(y[balanced_subset(y, size, seed)], minlength=len(counts))
        assert _is_fair(quotas, counts, size), quotas
        if expected is not None:
            assert sorted(quotas) == sorted(expected)


def test_random_label_vectors_are_drawn_fairly():
    rng = np.random.default_rng(7)
    for _ in range(30):
        counts = rng.integers(1, 40, size=rng.integers(2, 9))
        y = _labels(counts, int(rng.integers(100)))
        size = int(rng.integers(len(counts), counts.sum()))
        quotas = np.bincount(y[balanced_subset(y, size, int(rng.integers(100)))], minlength=len(counts))
        assert _is_fair(quotas, counts, size), (counts, size, quotas)


def test_the_draw_within_a_class_ignores_the_other_classes_images():
    """Same class sizes, other classes' images arranged differently: the same members of class 0 are taken."""
    y1, y2 = _labels([20, 30, 30, 30], 1), _labels([20, 30, 30, 30], 2)
    for y in (y1, y2):
        assert np.bincount(y).tolist() == [20, 30, 30, 30]
    ranks = []
    for y in (y1, y2):
        members = np.flatnonzero(y == 0)
        ranks.append(np.flatnonzero(np.isin(members, balanced_subset(y, 40, 5))))
    assert np.array_equal(*ranks) and len(ranks[0]) == 10


def test_the_whole_split_and_bad_sizes():
    y = _labels([5, 6, 7])
    for size in (None, 18, 100):
        assert np.array_equal(balanced_subset(y, size, 0), np.arange(18))
    with pytest.raises(LbrError, match=r"fig4.train_subset is 2, fewer than the 3 classes"):
        draw_subset(y, 2, 0, "fig4.train_subset")
    subset = draw_subset(y, 9, 4, "fig4.train_subset")
    assert subset.record() == {
        "train_subset": 9,
        "subset_seed": 4,
        "n_train": 9,
        "subset_sha": _sha(balanced_subset(y, 9, 4)),
    }
    assert draw_subset(y, None, 0, "k").record()["n_train"] == 18 and draw_subset(y, None, 0, "k").data_key == ""


def test_settings_carry_the_subset_and_fig4_may_set_it_per_dataset():
    from lbr.config.load import load

    config = load(overrides={"fig4": {"train_subset": 1000, "by_dataset": {"svhn": {"train_subset": None}}}})
    wildcards = {"dataset": "cifar10", "arch": "resnet9", "aug": "1", "seed": "0"}
    assert ClassifierSettings.from_config(config, wildcards).train_subset == 1000
    assert ClassifierSettings.from_config(config, wildcards | {"dataset": "svhn"}).train_subset is None
    paper = load()
    for kind, wc in (
        (DynamicsSettings, {"arch": "dcae", "depth": "3"}),
        (GuidanceSettings, {"latent": "8", "guidance": "0", "seed": "0"}),
    ):
        s = kind.from_config(paper, wc)
        assert (s.train_subset, s.subset_seed) == (None, 0) and "train_subset" in s.recipe()


# ---- the trainers train on exactly the subset and record it -------------------------------------------------


def _capture(monkeypatch, module):
    """Replace `module.fit` by the real fit, keeping what it was given."""
    seen = {}
    real = module.fit

    def fit(model, task, cfg, device, *args, **kwargs):
        seen.update(task=task, cfg=cfg, args=args)
        return real(model, task, cfg, device, *args, **kwargs)

    monkeypatch.setattr(module, "fit", fit)
    return seen


@pytest.fixture(scope="module")
def images():
    """Unbalanced synthetic 8x8 RGB images: 4 classes of 40, 25, 12 and 3 training images."""
    d = synthetic(n_train=400, n_test=60, height=8, width=8, n_classes=4, evidence=0.3, seed=3)
    (x, y), test = d["train"], d["test"]
    keep = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate((40, 25, 12, 3))])
    return (x[keep], y[keep]), test, d["classes"]


def _classifier_inputs(tmp_path, images):
    (x, y), (xt, yt), classes = images
    root = tmp_path / "in"
    root.mkdir()
    np.save(root / "train.npy", (x / 255.0).astype(np.float16))
    np.save(root / "test.npy", (xt / 255.0).astype(np.float16))
    save_json(root / "train.json", {"side": "bottom", "level": "0.5"})
    save_split(root / "train.npz", x, y, classes)
    save_split(root / "test.npz", xt, yt, classes)
    return {
        "train": root / "train.npy",
        "test": root / "test.npy",
        "train_info": root / "train.json",
        "train_labels": root / "train.npz",
        "test_labels": root / "test.npz",
    }


def _classifier_settings(**kw):
    wildcards = {"dataset": "synthetic", "arch": "mlp", "aug": "0", "seed": "0"}
    base = dict(epochs=1, batch_size=10, width=0.25, device="cpu", eval_every=1, train_subset=30, subset_seed=3)
    return job_settings(ClassifierSettings, wildcards, **(base | kw))


def test_the_classifier_trains_on_the_subset(tmp_path, images, monkeypatch):
    (x, y), (_, yt), _ = images
    paths = _classifier_inputs(tmp_path, images)
    seen = _capture(monkeypatch, classifier)
    m = classifier.train_classifier(paths, _classifier_settings(), tmp_path / "o/metrics.json", tmp_path / "o/h.csv")
    idx = balanced_subset(y, 30, 3)
    assert np.bincount(y[idx]).tolist() == [9, 9, 9, 3]  # the short class gives all it has
    expected = torch.from_numpy((x[idx] / 255.0).astype(np.float16)).float().permute(0, 3, 1, 2)
    assert torch.equal(seen["task"].x.float(), expected) and torch.equal(seen["task"].y, torch.as_tensor(y[idx]))
    assert len(seen["task"].y_test) == len(yt)  # the test split stays whole
    saved = json.loads((tmp_path / "o/metrics.json").read_text())
    for record in (m, saved):
        assert (record["train_subset"], record["subset_seed"], record["n_train"]) == (30, 3, 30)
        assert record["subset_sha"] == _sha(idx)


def test_a_classifier_checkpoint_of_another_subset_is_discarded(tmp_path, images, caplog):
    paths = _classifier_inputs(tmp_path, images)
    out = tmp_path / "o"
    with pytest.raises(LbrError, match="stopped"):
        classifier.train_classifier(
            paths, _classifier_settings(epochs=2), out / "metrics.json", out / "h.csv", stop_after=1
        )
    with caplog.at_level("WARNING", logger="lbr.training.classifier"):
        m = classifier.train_classifier(
            paths, _classifier_settings(epochs=2, subset_seed=4), out / "metrics.json", out / "h.csv"
        )
    assert any("other settings or data" in r.message for r in caplog.records)
    assert m["subset_sha"] == _sha(balanced_subset(images[0][1], 30, 4))


@pytest.mark.parametrize("measure", [None, 12])
def test_dynamics_trains_and_measures_within_the_subset(tmp_path, images, monkeypatch, measure):
    (x, y), (xt, _), _ = images
    s = job_settings(
        DynamicsSettings,
        {"arch": "mlpae", "depth": "3"},
        **dict(latent=8, epochs=1, batch_size=8, measure_batch=64, device="cpu", measure_images=measure),
        **dict(train_subset=22, subset_seed=1),
    )
    seen = _capture(monkeypatch, dynamics)
    recorders = []
    real_recorder = dynamics.EnergyRecorder
    monkeypatch.setattr(
        dynamics, "EnergyRecorder", lambda *a, **k: recorders.append(real_recorder(*a, **k)) or recorders[-1]
    )
    dynamics.run(x, xt, s, CPU, tmp_path / "energies.npz", tmp_path / "history.csv", y_train=y)
    idx = balanced_subset(y, 22, 1)
    task = seen["task"]
    assert torch.equal(task.train, task.policy.store(torch.as_tensor(x[idx]), 255.0))
    allowed = {row.tobytes() for row in x[idx]}
    measured = recorders[0].images.cpu().numpy()  # the EnergyRecorder's images
    assert len(measured) == (measure or 22) and all(row.tobytes() in allowed for row in measured)
    e = load_energies(tmp_path / "energies.npz")
    assert (e["train_subset"], int(e["subset_seed"]), int(e["n_train"]), e["subset_sha"]) == (22, 1, 22, _sha(idx))
    assert int(e["n_images"]) == (measure or 22)


def test_dynamics_records_the_whole_split_and_needs_labels_for_a_subset(tmp_path, images):
    (x, y), (xt, _), _ = images
    s = job_settings(DynamicsSettings, {"arch": "mlpae", "depth": "3"}, latent=8, epochs=1, batch_size=16, device="cpu")
    dynamics.run(x, xt, s, CPU, tmp_path / "energies.npz", tmp_path / "history.csv")
    e = load_energies(tmp_path / "energies.npz")
    assert e["train_subset"] is None and int(e["n_train"]) == len(x) and e["subset_sha"] == _sha(np.arange(len(x)))
    with pytest.raises(LbrError, match="dynamics.train_subset is set but no training labels"):
        dynamics.run(
            x, xt, s.__class__(**{**s.__dict__, "train_subset": 10}), CPU, tmp_path / "b.npz", tmp_path / "b.csv"
        )


def _guidance_settings(**kw):
    base = dict(image_size=8, stem="cifar", width=4, encoder_blocks=[1, 1, 1, 1], decoder_blocks=[1, 1, 1, 1])
    base |= dict(epochs=1, batch_size=8, eval_every=1, n_reconstructions=2, device="cpu")
    return job_settings(GuidanceSettings, {"latent": "8", "guidance": "0", "seed": "0"}, **(base | kw))


def _guidance_splits(tmp_path, images):
    (x, y), (xt, yt), classes = images
    save_split(tmp_path / "train.npz", x, y, classes)
    save_split(tmp_path / "test.npz", xt, yt, classes)
    outputs = {k: tmp_path / "run" / f"{k}.x" for k in ("history", "metrics", "recon")}
    return tmp_path / "train.npz", tmp_path / "test.npz", outputs


def test_guidance_trains_on_the_subset(tmp_path, images, monkeypatch):
    (x, y), (_, yt), _ = images
    train, test, outputs = _guidance_splits(tmp_path, images)
    seen = _capture(monkeypatch, guidance)
    m = guidance.run_experiment(
        train, test, outputs, _guidance_settings(train_subset=17, subset_seed=2), tmp_path / "c.pt"
    )
    idx = balanced_subset(y, 17, 2)
    task = seen["task"]
    assert torch.equal(task.y, torch.as_tensor(y[idx])) and len(task.vy) == len(yt)
    assert torch.equal(task.x, task.policy.store(torch.as_tensor(x[idx]), 255.0).permute(0, 3, 1, 2))
    saved = json.loads(outputs["metrics"].read_text())
    for record in (m, saved):
        assert (record["train_subset"], record["subset_seed"], record["n_train"]) == (17, 2, 17)
        assert record["subset_sha"] == _sha(idx) and record["stem"] == "cifar"


def test_a_guidance_checkpoint_of_another_subset_is_refused(tmp_path, images):
    train, test, outputs = _guidance_splits(tmp_path, images)
    first = _guidance_settings(epochs=2, train_subset=17)
    assert guidance.run_experiment(train, test, outputs, first, tmp_path / "c.pt", stop_after=1) is None
    other = _guidance_settings(epochs=2, train_subset=17, subset_seed=1)
    with pytest.raises(LbrError, match="different training settings"):
        guidance.run_experiment(train, test, outputs, other, tmp_path / "c.pt")
    assert guidance.run_experiment(train, test, outputs, first, tmp_path / "c.pt")["n_train"] == 17
