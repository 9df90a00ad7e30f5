"""The closed-form ridge probe of Fig. 10 against independent solvers: sklearn's RidgeClassifier and an lstsq."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeClassifier

from lbr.errors import LbrError
from lbr.training import probe


def toy(n, d, classes=4, seed=0):
    """Features with unequal scales and offsets, a constant column, labels that depend on them, and test points."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, classes, generator=g)
    x = torch.randn(n + 60, d, generator=g) * torch.rand(d, generator=g) * 3 + torch.randn(d, generator=g)
    x[:, 2] = 1.5  # constant: weight 0
    y = (x @ w + 2 * torch.randn(n + 60, classes, generator=g)).argmax(1)
    return x[:n], y[:n], x[n:], y[n:]


def standardised(x, mean, std):
    z = (x - mean) / np.where(std > 0, std, 1)
    z[:, std == 0] = 0
    return z


@pytest.mark.parametrize("n, d", [(300, 20), (40, 100)])  # the primal (d <= n) and the dual (d > n) route
def test_probe_equals_sklearn_ridge_classifier(n, d):
    x, y, xt, yt = toy(n, d)
    ridge = 0.05
    fitted = probe.fit(iter(x.split(64)), y, 4, ridge)
    xn = x.double().numpy()
    mean, std = xn.mean(0), xn.std(0)
    std[2] = 0.0
    sk = RidgeClassifier(alpha=n * ridge).fit(standardised(xn, mean, std), y.numpy())
    zt = standardised(xt.double().numpy(), mean, std)
    # sklearn fits targets in {-1, 1} = 2 one-hot - 1 with an intercept: its scores are 2 ours - 1
    np.testing.assert_allclose(sk.decision_function(zt), 2 * fitted.scores(xt).numpy() - 1, atol=1e-7)
    assert (sk.predict(zt) == fitted.scores(xt).argmax(1).numpy()).all()
    acc = fitted.accuracy(iter(xt.split(7)), yt)
    assert acc == pytest.approx(float((sk.predict(zt) == yt.numpy()).mean()))
    assert float(fitted.weights[2].abs().max()) == 0.0


def test_probe_weights_equal_an_augmented_least_squares():
    """min (1/n)||Yc - Z W||^2 + r ||W||^2 is the least-squares problem [Z; sqrt(n r) I] W = [Yc; 0]."""
    x, y, _, _ = toy(200, 12, seed=1)
    x[:, 2] += torch.arange(200) * 1e-3  # no constant column here
    n, ridge = 200, 0.3
    fitted = probe.fit([x], y, 4, ridge)
    xn = x.double().numpy()
    z = (xn - xn.mean(0)) / xn.std(0)
    yc = np.eye(4)[y.numpy()] - np.eye(4)[y.numpy()].mean(0)
    a = np.vstack([z, np.sqrt(n * ridge) * np.eye(12)])
    b = np.vstack([yc, np.zeros((12, 4))])
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(fitted.weights.numpy(), w, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted.bias.numpy(), np.eye(4)[y.numpy()].mean(0))


def test_probe_refuses_bad_input():
    x, y, _, _ = toy(30, 5)
    with pytest.raises(LbrError, match="ridge must be positive"):
        probe.fit([x], y, 4, 0.0)
    with pytest.raises(LbrError, match="at least two"):
        probe.fit([], y, 4, 0.1)
    with pytest.raises(LbrError, match="30 labels"):
        probe.fit([x[:20]], y, 4, 0.1)
    fitted = probe.fit([x], y, 4, 0.1)
    with pytest.raises(LbrError, match="scored 30 images but 31"):
        fitted.accuracy([x], torch.cat([y, y[:1]]))
