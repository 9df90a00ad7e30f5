"""Per-eigen-direction learning dynamics (Fig. 3): measurement, band statistics, resumable runs."""

import numpy as np
import pytest
import torch

from lbr.config.settings import DynamicsSettings
from lbr.models import build_autoencoder
from lbr.spectral import direction_energy as dyn
from lbr.tables import dynamics as band_stats
from lbr.tables.dynamics import load_energies as load
from lbr.training.dynamics import run

from conftest import job_settings


def _known_spectrum(d=16, n=4096, top=1.0, bottom=1e-2, seed=0):
    """Rows whose second moment X^T X / n is exactly Q diag(lam) Q^T with well-separated lam (descending)."""
    g = torch.Generator().manual_seed(seed)
    lam = torch.logspace(np.log10(top), np.log10(bottom), d, dtype=torch.float64)
    q = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))[0]
    z = torch.linalg.qr(torch.randn(n, d, generator=g, dtype=torch.float64))[0] * n**0.5
    return ((z * lam.sqrt()) @ q.T).float(), lam.numpy()


def test_eigenbasis_recovers_a_known_spectrum():
    x, lam = _known_spectrum()
    vals, vecs = dyn.eigenbasis(x, batch_size=1000)
    np.testing.assert_allclose(vals.numpy(), lam, rtol=1e-5)
    np.testing.assert_allclose((vecs.T @ vecs).numpy(), np.eye(len(lam)), atol=1e-5)


def test_linear_autoencoder_learns_top_directions_first():
    """Gradient descent on a linear AE from a small init: direction k is learned at a time ~ 1/lambda_k."""
    x, lam = _known_spectrum()
    d = len(lam)
    vals, vecs = dyn.eigenbasis(x)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(d, d, bias=False), torch.nn.Linear(d, d, bias=False))
    for layer in model:
        torch.nn.init.normal_(layer.weight, std=1e-4)
    opt = torch.optim.SGD(model.parameters(), lr=0.4)
    energies, errors, steps = [], [], np.arange(0, 2000, 2)
    for step in range(2000):
        if step % 2 == 0:
            e, r = dyn.direction_energy(model, x, vecs, batch_size=1000)
            energies.append(e)
            errors.append(r)
        loss = (x - model(x)).square().sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    energy, error = np.stack(energies), np.stack(errors)
    per_direction = band_stats.capture_epochs(1 - error / lam, steps, 0.9)
    assert not np.isnan(per_direction).any()
    assert np.all(np.diff(per_direction) >= 0), per_direction
    slope = np.polyfit(np.log(lam), np.log(per_direction), 1)[0]
    assert -1.25 < slope < -0.75, slope
    np.testing.assert_allclose(energy[-1], lam, rtol=0.02)
    edges = band_stats.band_edges(d, 4)
    bands = band_stats.capture_epochs(
        band_stats.band_statistics(vals.numpy(), energy, error, edges)["captured"], steps, 0.9
    )
    assert np.all(np.diff(bands) > 0), bands


@pytest.mark.parametrize("arch", ["dcae", "mlpae"])
def test_batched_energies_equal_dense_computation(arch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(150, 8, 8, 1), dtype=np.uint8)
    torch.manual_seed(0)
    model = build_autoencoder(arch, (1, 8, 8), latent=16, depth=3).eval()
    x = torch.as_tensor(images)
    vals, vecs = dyn.eigenbasis(x, batch_size=64)
    energy, error = dyn.direction_energy(lambda b: model(dyn.model_input(b)), x, vecs, batch_size=16)

    flat = images.reshape(150, -1).astype(np.float64) / 255
    ref_vals, ref_vecs = np.linalg.eigh(flat.T @ flat / 150)
    ref_vals, ref_vecs = ref_vals[::-1], ref_vecs[:, ::-1]
    with torch.no_grad():
        recon = model.double()(torch.as_tensor(flat).reshape(150, 8, 8, 1).permute(0, 3, 1, 2))
    xhat = recon.permute(0, 2, 3, 1).reshape(150, -1).numpy()
    np.testing.assert_allclose(vals.numpy(), ref_vals, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(energy, ((xhat @ ref_vecs) ** 2).mean(0), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(error, (((flat - xhat) @ ref_vecs) ** 2).mean(0), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(error.sum() / flat.shape[1], ((flat - xhat) ** 2).mean(), rtol=1e-5)


def test_band_statistics_against_loops():
    rng = np.random.default_rng(1)
    lam = np.sort(rng.uniform(0.1, 5, 40))[::-1]
    energy, error = rng.uniform(0, 1, (3, 40)), rng.uniform(0, 1, (3, 40))
    edges = band_stats.band_edges(40, 5)
    assert edges[0] == 0 and edges[-1] == 40 and np.all(np.diff(edges) > 0) and len(edges) <= 6
    st = band_stats.band_statistics(lam, energy, error, edges)
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        for e in range(3):
            assert st["captured"][e, b] == pytest.approx(1 - sum(error[e, lo:hi]) / sum(lam[lo:hi]))
            assert st["energy_ratio"][e, b] == pytest.approx(sum(energy[e, lo:hi]) / sum(lam[lo:hi]))
        assert st["band_eigenvalue"][b] == pytest.approx(np.mean(lam[lo:hi]))


def test_capture_epochs_first_crossing_and_never():
    captured = np.array([[0.95, 0.1, 0.0], [0.5, 0.92, 0.0], [0.99, 0.95, 0.3]])
    out = band_stats.capture_epochs(captured, np.array([-1, 0, 1]), 0.9)
    assert out[0] == -1 and out[1] == 0 and np.isnan(out[2])


def _tiny_images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 8, 8, 3), dtype=np.uint8)


def test_run_resumes_after_preemption_to_identical_results(tmp_path):
    x_train, x_test = _tiny_images(96, 0), _tiny_images(20, 1)
    s = job_settings(
        DynamicsSettings,
        {"arch": "mlpae", "depth": "3"},
        latent=8,
        epochs=4,
        batch_size=16,
        measure_batch=40,
        device="cpu",
    )
    cpu = torch.device("cpu")
    full = run(x_train, x_test, s, cpu, tmp_path / "a/energies.npz", tmp_path / "a/history.csv")
    part = tmp_path / "b"
    assert run(x_train, x_test, s, cpu, part / "energies.npz", part / "history.csv", stop_after=2) is None
    assert not (part / "energies.npz").exists() and (part / "checkpoint.pt").exists()
    run(x_train, x_test, s, cpu, part / "energies.npz", part / "history.csv")
    resumed = load(part / "energies.npz")
    assert list(resumed["epochs"]) == [-1, 0, 1, 2, 3]
    np.testing.assert_array_equal(resumed["energy"], full["energy"])
    np.testing.assert_array_equal(resumed["error"], full["error"])
    assert not (part / "checkpoint.pt").exists() and not (part / "energies.partial.npz").exists()
