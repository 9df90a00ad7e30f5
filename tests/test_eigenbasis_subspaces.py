"""Eigenbasis and projection algebra, checked against plain NumPy computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lbr.errors import LbrError
from lbr.spectral import basis_file, filtering
from lbr.spectral import eigenbasis as spectrum
from lbr.spectral import preprocess as pp
from lbr.spectral import subspaces as subspace
from lbr.spectral.accumulate import SymmetricSum, chunks

GRID = subspace.Grid(points=8, bottom_power=0.25)

CPU = torch.device("cpu")


def _images(n, h=6, w=5, c=2, seed=0):
    """Correlated uint8 images (smooth plus noise) so that the spectrum decays like natural images."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, h, w, c))
    smooth = base + np.roll(base, 1, axis=1) + np.roll(base, 1, axis=2)
    return np.clip(128 + 30 * smooth, 0, 255).astype(np.uint8)


def _numpy_preprocessed(x, mean=None):
    """The paper's preprocessing written independently in NumPy."""
    f = x.reshape(len(x), -1).astype(np.float64) / 255.0
    f = f / (f.std(axis=1, keepdims=True) + 1e-6)
    mean = f.mean(axis=0) if mean is None else mean
    return f - mean, mean


def test_chunked_covariance_equals_one_shot():
    x = _images(103)
    mean = pp.train_mean(x, CPU, chunk_rows=10)
    got = spectrum.covariance(x, mean, chunk_rows=7).numpy()
    xc, ref_mean = _numpy_preprocessed(x)
    np.testing.assert_allclose(mean.numpy(), ref_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, xc.T @ xc, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("blas", [True, False], ids=["cpu-blas", "gpu-path"])
def test_symmetric_sum_of_chunks_equals_the_one_shot_products(blas):
    rng = np.random.default_rng(3)
    a = torch.from_numpy(rng.standard_normal((37, 11)))
    rows, cols = SymmetricSum(11, CPU, blas), SymmetricSum(37, CPU, blas)
    for sl in chunks(37, 8):
        rows.add_rows(a[sl])
    for sl in chunks(11, 4):
        cols.add_cols(a[:, sl])
    np.testing.assert_allclose(rows.result(5).numpy(), a.numpy().T @ a.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cols.result(5).numpy(), a.numpy() @ a.numpy().T, rtol=1e-12, atol=1e-12)


def test_gram_trick_matches_direct_eigendecomposition():
    x = _images(25, h=8, w=8, c=1)
    gram = spectrum.compute(x, CPU, method="gram", chunk_cols=9)
    direct = spectrum.compute(x, CPU, method="covariance", chunk_rows=4)
    xc, _ = _numpy_preprocessed(x)
    ref = np.linalg.eigvalsh(xc.T @ xc / len(x))[::-1]
    r = gram["eigenvectors"].shape[1]
    assert r == 24
    np.testing.assert_allclose(gram["eigenvalues"][:r], ref[:r], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(direct["eigenvalues"][:r], ref[:r], rtol=1e-8, atol=1e-10)
    v_g, v_d = gram["eigenvectors"].astype(np.float64), direct["eigenvectors"][:, :r].astype(np.float64)
    np.testing.assert_allclose(np.abs(np.sum(v_g * v_d, axis=0)), 1.0, atol=1e-4)
    np.testing.assert_allclose(v_g.T @ v_g, np.eye(r), atol=1e-5)


def test_eigenvalues_are_variances_in_descending_order():
    x = _images(200)
    sp = spectrum.compute(x, CPU)
    xc, _ = _numpy_preprocessed(x)
    assert np.all(np.diff(sp["eigenvalues"]) <= 1e-12)
    np.testing.assert_allclose(sp["eigenvalues"].sum(), (xc**2).sum() / len(x), rtol=1e-10)


def _authors_dims(eigenvalues_desc, side, pct):
    """The authors' selection (classification_pca.py) re-implemented from the DIGEST description."""
    u = np.asarray(eigenvalues_desc)[::-1] / np.sum(eigenvalues_desc)
    explained = np.cumsum(u[::-1])[::-1]
    return int((explained < pct).sum()) if side == "top" else int((explained >= pct).sum())


def _authors_bounds(eigenvalues_desc):
    """`explained[explained < 1].max()` is meant to be 1 - (smallest share); the tolerance keeps round-off
    in the total from selecting explained[0] itself."""
    u = np.asarray(eigenvalues_desc)[::-1] / np.sum(eigenvalues_desc)
    explained = np.cumsum(u[::-1])[::-1]
    return explained[-2], explained[explained < 1 - 1e-12].max()


@pytest.mark.parametrize("side", ["top", "bottom"])
def test_grid_matches_the_authors_selection(side):
    ev = 1.0 / np.arange(1, 301) ** 1.3
    b0, b1 = _authors_bounds(ev)
    t = np.linspace(0, 1, 8)
    pcts = b0 + (b1 - b0) * (t if side == "top" else t**0.25)
    for i, pct in enumerate(pcts, start=1):
        sub = subspace.resolve(ev, side, f"g{i}", GRID)
        assert sub.dims == _authors_dims(ev, side, pct), (i, pct)
    assert subspace.resolve(ev, "top", "g1", GRID).dims == 1
    assert subspace.resolve(ev, "top", "g8", GRID).dims == 298
    assert subspace.resolve(ev, side, "g0", GRID).dims == 150


def test_top_and_bottom_projectors_sum_to_identity_and_are_projections():
    x = _images(300)
    sp = spectrum.compute(x, CPU)
    v = torch.as_tensor(sp["eigenvectors"], dtype=torch.float64)
    eye = torch.eye(v.shape[0], dtype=torch.float64)
    for share in ("0.3", "0.75", "0.9"):
        top = subspace.resolve(sp["eigenvalues"], "top", share)
        bottom = subspace.resolve(sp["eigenvalues"], "bottom", f"{1 - float(share):.10g}")
        assert top.dims + bottom.dims == v.shape[0]
        p_top, p_bot = subspace.project(eye, v, top), subspace.project(eye, v, bottom)
        np.testing.assert_allclose((p_top + p_bot).numpy(), eye.numpy(), atol=1e-6)
        np.testing.assert_allclose((p_top @ p_top).numpy(), p_top.numpy(), atol=1e-6)
        assert abs(float(torch.trace(p_top)) - top.dims) < 1e-4


def test_variance_kept_matches_projected_train_energy():
    x = _images(400)
    sp = spectrum.compute(x, CPU)
    xc, _ = _numpy_preprocessed(x)
    v = torch.as_tensor(sp["eigenvectors"], dtype=torch.float64)
    for side, share in (("top", "0.6"), ("bottom", "0.2"), ("bottom", "g3")):
        sub = subspace.resolve(sp["eigenvalues"], side, share, GRID)
        proj = subspace.project(torch.as_tensor(xc), v, sub).numpy()
        assert abs((proj**2).sum() / (xc**2).sum() - sub.variance_kept) < 1e-5
        if side == "top":
            assert sub.variance_kept < float(share)


def test_filter_split_writes_renormalised_float16(tmp_path):
    x = _images(120)
    sp = spectrum.compute(x, CPU)
    sub = subspace.resolve(sp["eigenvalues"], "bottom", "0.3")
    stats = filtering.filter_split(x, sp, sub, tmp_path / "train.npy", CPU, chunk_rows=17)
    got = np.load(tmp_path / "train.npy")
    assert got.dtype == np.float16 and got.shape == x.shape
    xc, _ = _numpy_preprocessed(x)
    v = sp["eigenvectors"].astype(np.float64)
    vb = v[:, sub.k_top :]
    proj = xc @ vb @ vb.T
    proj = proj / (proj.std(axis=1, keepdims=True) + 1e-6)
    proj = proj - proj.mean(axis=0)
    np.testing.assert_allclose(got.reshape(len(x), -1), proj, atol=5e-3 * np.abs(proj).max())
    assert abs(stats["energy_kept"] - sub.variance_kept) < 1e-4
    assert [p.name for p in tmp_path.iterdir()] == ["train.npy"]


def test_gram_basis_projection_of_train_images():
    x = _images(30, h=8, w=8, c=1)
    sp = spectrum.compute(x, CPU, method="gram")
    xc, _ = _numpy_preprocessed(x)
    sub = subspace.resolve(sp["eigenvalues"], "top", "0.5")
    top = subspace.project(torch.as_tensor(xc), torch.as_tensor(sp["eigenvectors"], dtype=torch.float64), sub)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    ref = xc @ vt[: sub.k_top].T @ vt[: sub.k_top]
    np.testing.assert_allclose(top.numpy(), ref, atol=1e-5)


@pytest.mark.parametrize(
    "side,spec,msg",
    [("top", "g9", "does not exist"), ("left", "0.5", "top' or 'bottom"), ("top", "1.5", "neither a variance share"),
     ("top", "0", "keeps no direction"), ("bottom", "0.0", "keeps no direction")],
)  # fmt: skip
def test_bad_subspace_specs_are_explained(side, spec, msg):
    with pytest.raises(LbrError, match=msg):
        subspace.resolve(1.0 / np.arange(1, 50), side, spec, GRID)


def test_a_level_that_does_not_exist_becomes_the_nearest_one_the_same_way_on_both_sides():
    """A spectrum whose first direction holds 60% of the variance: a top share at or below 60% would keep nothing,
    a bottom share at or above 40% would keep everything. Both become the nearest subspace that exists, marked
    substituted, with the variance they really keep (counted here from the eigenvalues by hand); levels that land
    on the same subspace are one, and the sentence names the range of shares that exist."""
    ev = np.array([60.0] + [40.0 / 99] * 99)  # D = 100
    cases = {("top", "0.5"): 1, ("top", "0.6"): 1, ("top", "0.9"): 75, ("bottom", "0.2"): 50, ("bottom", "0.4"): 99,
             ("bottom", "0.9"): 99, ("top", "g1"): 1, ("bottom", "g1"): 99}  # fmt: skip
    for (side, level), dims in cases.items():
        sub = subspace.resolve(ev, side, level, GRID)
        kept = ev[:dims].sum() / 100 if side == "top" else ev[100 - dims :].sum() / 100
        assert (sub.dims, round(sub.variance_kept, 12)) == (dims, round(kept, 12)), (side, level)
        exists = (
            0.6 < float(level) if side == "top" and level[0] != "g" else float(level) < 0.4 if level[0] != "g" else True
        )
        assert sub.substituted == (not exists), (side, level)
    assert subspace.substitution(subspace.resolve(ev, "bottom", "0.9")) == (
        "bottom-0.9 does not exist here; it keeps every direction but the first (40.00% of the variance)"
    )
    merged = subspace.distinct_levels(ev, "bottom", ["0.2", "0.5", "g1", "0.9"], GRID)
    assert [(sub.level, requested) for sub, requested in merged] == [("0.2", ["0.2"]), ("g1", ["0.5", "g1", "0.9"])]
    assert subspace.feasible_shares(ev).startswith(
        "the first direction alone holds 60.00% of the variance, so top shares above 60.00% and bottom shares below "
        "40.00% exist"
    )
    everything = [subspace.resolve(ev, side, "1") for side in ("top", "bottom")]
    assert [(s.dims, s.variance_kept, s.substituted) for s in everything] == [(100, 1.0, False)] * 2


def test_too_few_stored_vectors_is_explained():
    x = _images(30, h=8, w=8, c=1)
    sp = spectrum.compute(x, CPU, method="gram", max_vectors=3)
    sub = subspace.resolve(sp["eigenvalues"], "top", "0.9")
    with pytest.raises(LbrError, match="max_vectors"):
        subspace.project(
            torch.zeros(2, 64, dtype=torch.float64), torch.as_tensor(sp["eigenvectors"], dtype=torch.float64), sub
        )


def test_spectrum_file_roundtrip(tmp_path):
    x = _images(100)
    sp = spectrum.compute(x, CPU)
    basis_file.save(tmp_path / "s.npz", sp)
    back = basis_file.load(tmp_path / "s.npz")
    assert back["shape"] == (6, 5, 2) and back["method"] == "covariance"
    assert back["preprocessing"]["center"].startswith("subtract the train-set mean")
    np.testing.assert_array_equal(back["eigenvalues"], sp["eigenvalues"])
