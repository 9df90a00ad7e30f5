"""Joint embedding beside reconstruction (lbr.theory.joint_embedding, lbr.theory.augmentations): the closed forms
against gradient descent on the sampled objectives, crop/flip moments against the trainer's own augmentation,
Eq. 7 of the optima against least squares, ties, and Fig. 11's table and figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_pca_mask import white

from lbr.errors import LbrError
from lbr.tables import objectives as ob
from lbr.theory import alignment as al
from lbr.theory import augmentations as ag
from lbr.theory import joint_embedding as je
from lbr.theory import pca_mask as pm
from lbr.theory.noise import NoiseSpec
from lbr.training.crop_flip import crop_flip

from theory_data import explained, images, preprocessed

SHAPE = (4, 4, 1)


def largest_angle(a, b) -> float:
    """Largest principal angle (degrees) between the column spans of a and b."""
    qa, qb = np.linalg.qr(np.asarray(a))[0], np.linalg.qr(np.asarray(b))[0]
    return float(np.degrees(np.arccos(np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False).min(), 0, 1))))


def statistics(x: torch.Tensor, shape=SHAPE) -> tuple[al.Basis, torch.Tensor]:
    """The PCA basis of standardized rows x (no labels needed for the encoders)."""
    b = x.T @ x
    counts, xty = torch.tensor([1, 1]), torch.zeros(b.shape[0], 2, dtype=torch.float64)
    return al.pca_basis(al.Moments("covariance", "standardize", shape, len(x), counts, 1.0, xtx=b, xty=xty)), b


def sampler(aug, components, shape):
    """Views of standardized rows, drawn by the samplers the trainers use (none of the moment formulas)."""

    def draw(rows, gen):
        if isinstance(aug, ag.CropFlip):
            batch = rows.reshape(len(rows), *shape).permute(0, 3, 1, 2)
            return crop_flip(batch, aug.pad, gen).permute(0, 2, 3, 1).reshape(rows.shape)
        return aug.corrupt_rows(rows, shape, gen, components)

    return draw


def reconstruction_gd(x, draw, k, views=4, steps=1200, lr=0.03):
    """Adam on the linear autoencoder min E||x - x~ V Z||^2, fresh views every step."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    v = (torch.randn(x.shape[1], k, dtype=torch.float64) / x.shape[1] ** 0.5).requires_grad_()
    z = (torch.randn(k, x.shape[1], dtype=torch.float64) / k**0.5).requires_grad_()
    opt = torch.optim.Adam([v, z], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rows = x.repeat(views, 1)
    for _ in range(steps):
        loss = (rows - draw(rows, gen) @ v @ z).square().sum() / len(rows)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return v.detach()


def joint_embedding_gd(x, draw, k, views=64, steps=800, lr=0.05):
    """Adam on the joint-embedding loss sum_n E||V^T x' - V^T x''||^2 over a bank of view pairs, with the
    whitening constraint V^T S V = I (S: the views' second moment in the bank) built in: V = W (W^T S W)^(-1/2)."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    rows = x.repeat(views, 1)
    first, second = draw(rows, gen), draw(rows, gen)
    s = (first.T @ first + second.T @ second) / (2 * views)
    w = torch.randn(x.shape[1], k, dtype=torch.float64).requires_grad_()
    opt = torch.optim.Adam([w], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def encoder():
        val, vec = torch.linalg.eigh(w.T @ s @ w)
        return w @ (vec * val.rsqrt()) @ vec.T

    for _ in range(steps):
        loss = ((first - second) @ encoder()).square().sum() / views
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return encoder().detach()


GEOMETRIC = np.concatenate([[0.45], 0.55 * np.geomspace(1, 0.07, 15) / np.geomspace(1, 0.07, 15).sum()])
FOUR = [0.448, 0.424, 0.102, 0.026]  # exact q at r = 0.4: 1/2, 1/2, 2/3, 2/3 (every order at least 0.036 from a tie)


@pytest.mark.parametrize(
    "objective, aug, shares, k, views",
    [
        # the top component (0.45) is kept only when it comes last (q = 1/16): reconstruction drops it at K = 1
        ("reconstruction", NoiseSpec("pca_mask", 0.775 - GEOMETRIC.min() / 2, draws=16384), GEOMETRIC, 1, 4),
        ("joint_embedding", NoiseSpec("mask", 0.5, 2), GEOMETRIC, 2, 64),
        ("joint_embedding", ag.CropFlip(1), GEOMETRIC, 1, 64),
        # joint embedding keeps the two small components (q = 2/3), reconstruction (q s) the two large ones
        ("joint_embedding", NoiseSpec("pca_mask", 0.4, draws=16384), FOUR, 2, 256),
    ],
)
def test_the_closed_forms_match_gradient_descent_on_sampled_views(objective, aug, shares, k, views):
    """Gradient descent on the objective itself, with views drawn by the samplers (not the moments), ends within a
    few degrees of the closed-form optimum of that objective, and far from the other objective's optimum."""
    x = white(shares, n=300, seed=0)
    shape = SHAPE if len(shares) == 16 else (2, 2, 1)
    basis, b = statistics(x, shape)
    moments = ag.view_moments(basis, b, aug, shape, len(x))
    components = pm.Components(basis.p, pm.shares_of(basis.s))
    other = "joint_embedding" if objective == "reconstruction" else "reconstruction"
    closed, rival = (je.optimal_encoder(basis, moments, o, k) for o in (objective, other))
    run = reconstruction_gd if objective == "reconstruction" else joint_embedding_gd
    learned = run(x, sampler(aug, components, shape), k, views=views)
    assert largest_angle(learned, closed) < 8.0
    assert largest_angle(learned, rival) > 30.0


def test_crop_flip_moments_match_the_trainers_augmentation():
    """M1 and M2 of crop + flip, averaged over every offset one axis at a time, agree with Monte Carlo draws of
    lbr.training.crop_flip within 5 standard errors (M2) and 0.05 (M1)."""
    shape, aug = (4, 5, 2), ag.CropFlip(2)
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(3, 40)))
    second = ag._crop_flip_second(aug, x.T @ x, shape).numpy()
    first = ag._crop_flip_mean(aug, x.T, shape).T.numpy()
    gen = torch.Generator().manual_seed(1)
    total, total_sq, mean, draws = np.zeros((40, 40)), np.zeros((40, 40)), np.zeros((3, 40)), 20000
    for _ in range(draws // 2000):
        batch = x.repeat(2000, 1).reshape(-1, *shape).permute(0, 3, 1, 2)
        out = crop_flip(batch, aug.pad, gen).permute(0, 2, 3, 1).reshape(2000, 3, 40).numpy()
        outer = np.einsum("tni,tnj->tij", out, out)
        total, total_sq, mean = total + outer.sum(0), total_sq + (outer**2).sum(0), mean + out.sum(0)
    emp = total / draws
    se = np.sqrt((total_sq / draws - emp**2) / draws)
    assert np.all(np.abs(emp - second) <= 5 * se + 1e-9) and np.abs(second - (x.T @ x).numpy()).max() > 0.5
    np.testing.assert_allclose(mean / draws, first, atol=0.05)


@pytest.fixture(scope="module")
def labelled():
    x, y = images(n=300, h=4, w=4, c=2)
    m = al.compute_moments(x, y, 3, "standardize", "covariance")
    rows, onehot = preprocessed(x, "standardize"), np.eye(3)[y]
    return m, al.pca_basis(m), rows, onehot


@pytest.mark.parametrize("aug", [NoiseSpec("mask", 0.5, 2), ag.CropFlip(1), NoiseSpec("pca_mask", 0.7)])
def test_alignment_of_each_optimum_is_least_squares_on_its_features(labelled, aug):
    """The nested-span curves equal Eq. 7 refitted by least squares on the features X V of the optimum's encoder."""
    m, basis, rows, onehot = labelled
    views = ag.view_moments(basis, m.xtx, aug, m.shape, m.n)
    full = explained(rows, onehot)
    for objective in ag.OBJECTIVES:
        curve = je.alignment_curves(basis, views, objective)
        for k in (1, 3, 7, 20):
            if not curve["resolved"][k - 1]:
                continue
            encoder = je.optimal_encoder(basis, views, objective, k).numpy()
            assert curve["alignment"][k - 1] == pytest.approx(explained(rows @ encoder, onehot) / full, abs=1e-8)


def test_joint_embedding_keeps_pca_under_gaussian_noise_and_nothing_without_augmentation(labelled):
    """Gaussian views: JE's eigenvalues s / (s + N sigma^2) keep PCA's order, so its curve is Eq. 7. No augmentation:
    every mu = 1, nothing is resolved, and the range at K = 1 spans 0 to the largest share of label energy one
    direction of the images can hold (the top eigenvalue of (U^T Y)(U^T Y)^T over ||U^T Y||^2, from an SVD)."""
    m, basis, rows, onehot = labelled
    gauss = je.alignment_curves(
        basis, ag.view_moments(basis, m.xtx, NoiseSpec("gaussian", sigma=2.0), m.shape, m.n), "joint_embedding"
    )
    np.testing.assert_allclose(gauss["alignment"], al.sweep(basis)["alignment"][: basis.rank], atol=1e-12)
    assert gauss["resolved"].all()
    flat = je.alignment_curves(basis, ag.view_moments(basis, m.xtx, NoiseSpec("none"), m.shape, m.n), "joint_embedding")
    u = np.linalg.svd(rows, full_matrices=False)[0][:, : basis.rank]
    energy = u.T @ onehot
    top = np.linalg.eigvalsh(energy @ energy.T)[-1] / np.square(energy).sum()
    assert not flat["resolved"][:-1].any() and flat["alignment_low"][0] == 0
    assert flat["alignment_high"][0] == pytest.approx(top, rel=1e-9)
    assert np.all(flat["alignment_low"] <= flat["alignment"] + 1e-12)
    assert np.all(flat["alignment"] <= flat["alignment_high"] + 1e-12)


def test_table_marks_the_best_masks_and_the_figure_draws(labelled, tmp_path):
    m, basis, _, _ = labelled
    grid = {
        "sigmas": [1.0],
        "mask_ratios": [0.25, 0.75],
        "mask_patches": [1, 2],
        "pca_ratios": [0.2, 0.9],
        "pca_share": "variance",
        "crop_pads": [1],
        "small_k": 4,
    }
    augs = ob.augmentations(grid, draws=1024)
    table = ob.dataset_table(basis, m.xtx, m, augs, 1e-6, grid["small_k"]).assign(dataset="toy")
    assert len(table) == basis.rank * (2 * len(augs) - 1)  # no joint embedding without augmentation
    rc = table[(table["objective"] == "reconstruction") & (table["K"] <= 4)]
    means = rc.groupby("augmentation")["alignment"].mean()
    best = table[table["role"] == "best_pixel_mask"]
    assert set(best["objective"]) == set(ag.OBJECTIVES)
    assert best["augmentation"].iloc[0] == means[[a for a in means.index if a.startswith("mask")]].idxmax()
    assert set(table["role"]) == {"", *ob.ROLES}
    from lbr.figures.objectives import fig11
    from lbr.figures.save import save_figure

    save_figure(fig11(table), tmp_path / "fig11.pdf")
    assert (tmp_path / "fig11.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize(
    "fig11, message",
    [
        (
            {"mask_patches": [3]},
            r"^fig11\.mask_patches \[3\] do not divide the 32 x 32 images of svhn \(fig11\.datasets\)",
        ),
        ({"crop_pads": [40]}, r"^fig11\.crop_pads \[40\] are not below the 32 x 32 images of svhn"),
        ({"datasets": ["nosuch"]}, r"nosuch"),
        ({"pca_share": "pixels"}, r"fig11\.pca_share"),
    ],
)
def test_a_bad_fig11_setting_gets_one_sentence(fig11, message):
    from lbr.config.load import load

    with pytest.raises(LbrError, match=message) as err:
        load(overrides={"fig11": fig11})
    assert "\n" not in str(err.value)


def test_bad_inputs_fail_with_one_sentence(labelled):
    m, basis, _, _ = labelled
    with pytest.raises(LbrError, match="objective must be one of"):
        je.alignment_curves(basis, ag.view_moments(basis, m.xtx, NoiseSpec("none"), m.shape, m.n), "contrastive")
    with pytest.raises(LbrError, match="below the image side"):
        ag.view_moments(basis, m.xtx, ag.CropFlip(4), m.shape, m.n)
    with pytest.raises(LbrError, match="crop_flip pad must be an integer"):
        ag.CropFlip(-1)
    with pytest.raises(LbrError, match="must lie in 1..rank"):
        je.optimal_encoder(basis, ag.view_moments(basis, m.xtx, NoiseSpec("none"), m.shape, m.n), "reconstruction", 99)
