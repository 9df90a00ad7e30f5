"""Progress of long work: lines with the share done and the time left, and a heartbeat during opaque calls; the
long stages (covariance, eigendecompositions, noise solves, gradient descent, filtering) use them."""

import logging
import time

import numpy as np
import pytest
import torch

from lbr.machine import progress
from lbr.machine.progress import Progress, heartbeat
from lbr.spectral import eigenbasis, filtering, subspaces
from lbr.spectral import preprocess as pp
from lbr.theory import alignment, denoising, linear

from theory_data import images as theory_images

CPU = torch.device("cpu")


def test_progress_reports_share_and_time_left(caplog):
    with (
        caplog.at_level(logging.INFO, logger="lbr.machine.progress"),
        Progress("work", total=4, unit="chunks", every=0) as p,
    ):
        for _ in range(4):
            time.sleep(0.01)
            p.advance()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "work: started (4 chunks)" and lines[-1].startswith("work: done in")
    assert "work: 50% (2 of 4 chunks)" in lines[2] and "left" in lines[2]
    assert len(lines) == 6


def test_progress_stays_quiet_between_reports(caplog):
    with caplog.at_level(logging.INFO, logger="lbr.machine.progress"), Progress("work", total=1000, every=60) as p:
        for _ in range(1000):
            p.advance()
    assert len(caplog.records) == 2  # started, done


def test_terminal_bar_redraws_at_most_ten_times_a_second(capsys):
    with Progress("work", total=10000) as p:
        p.bar = True  # as on an interactive terminal
        for _ in range(10000):
            p.advance()
    err = capsys.readouterr().err
    assert 1 <= err.count("\r") <= 5 and "100% (10000 of 10000)" in err.split("\r")[-1]  # the last state is drawn


def test_heartbeat_logs_while_a_call_runs(caplog):
    with caplog.at_level(logging.INFO, logger="lbr.machine.progress"), heartbeat("eigh", every=0.05):
        time.sleep(0.3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "eigh: started" and lines[-1].startswith("eigh: done in")
    assert sum("still running" in line for line in lines) >= 3


# The long stages report their progress ------------------------------------------------------------------------


@pytest.fixture()
def every_call(monkeypatch, caplog):
    """Progress lines at every step (as if each step took over 30 s); returns a getter of the logged lines."""
    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.0)
    caplog.set_level(logging.INFO, logger="lbr.machine.progress")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "lbr.machine.progress"]


def images(n: int = 50) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, 4, 4, 3), dtype=np.uint8)


def test_covariance_accumulation_logs_each_chunk_with_share_and_time_left(every_call):
    x = images(50)
    eigenbasis.covariance(x, pp.train_mean(x, CPU), chunk_rows=10)
    lines = [line for line in every_call() if line.startswith("covariance of 50 images (D=48)")]
    assert lines[0].endswith("started (50 images)") and lines[-1].startswith("covariance of 50 images (D=48): done")
    shares = [line.split(": ", 1)[1] for line in lines[1:-1]]
    assert [s.split(" (")[0] for s in shares] == ["20%", "40%", "60%", "80%", "100%"]
    assert "(10 of 50 images)" in shares[0] and "left" in shares[0] and "left" not in shares[-1]


def test_eigendecompositions_log_a_heartbeat(every_call):
    eigenbasis.compute(images(60), CPU, chunk_rows=25)
    lines = every_call()
    assert "eigenbasis: eigendecomposition of 48 x 48: started" in lines
    assert any(line.startswith("eigenbasis: eigendecomposition of 48 x 48: done in") for line in lines)


def test_moments_and_every_noise_solve_report_progress(every_call):
    x, y = theory_images(n=90, h=4, w=4, c=3)
    moments = alignment.compute_moments(x, y, 3, chunk_rows=30)
    specs = [denoising.NoiseSpec("gaussian", sigma=1.0), denoising.NoiseSpec("mask", 0.5, 2)]
    basis, xtx = denoising.noise_inputs(moments, specs, 1e-11, CPU)
    denoising.impact_table(basis, xtx, specs, moments.shape, moments.n)
    lines = every_call()
    assert any(line.startswith("X^T X and X^T Y of 90 images (D=48): 33% (30 of 90 images)") for line in lines)
    assert "PCA basis: eigendecomposition of 48 x 48: started" in lines
    assert any(line.startswith("alignment under 2 noises: 50% (1 of 2 noises)") and "left" in line for line in lines)
    assert any(line.startswith("mask-0.5-patch2: denoising-optimal features (D=48, rank 48): done") for line in lines)


def test_gradient_descent_reports_its_steps(every_call):
    x, y = linear.synthetic_problem(6, n=20)
    linear.supervised_gd(x, y, 2, [0.0, 1.0], [0.01], steps=4)
    lines = [line for line in every_call() if line.startswith("Adam on Eq. 3, 2 runs (D=6, K=2)")]
    assert len(lines) == 6 and "50% (2 of 4 steps)" in lines[2] and "left" in lines[2]


def test_filtering_reports_the_projection(every_call, tmp_path):
    x = images(40)
    sp = eigenbasis.compute(x, CPU)
    sub = subspaces.resolve(sp["eigenvalues"], "bottom", "0.3")
    filtering.filter_split(x, sp, sub, tmp_path / "train.npy", CPU, chunk_rows=20)
    assert any(line.startswith("projecting 40 images onto bottom-0.3: 50% (20 of 40 images)") for line in every_call())
