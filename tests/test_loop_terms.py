"""fit() logs extra loss terms returned as a dict, averaged over the epoch, and still resumes identically."""

import torch
import torch.nn.functional as F

from lbr.training.loop import LoopConfig, fit


class TwoTerms:
    """Regression with two named parts; the loop must minimise their sum and log each."""

    def __init__(self, n=96):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 0.0])
        self.n_train = n
        self.seen: list[tuple[float, float]] = []

    def loss(self, model, idx, gen):
        pred = model(self.x[idx])[:, 0]
        a = F.mse_loss(pred, self.y[idx])
        b = 0.1 * (pred**2).mean()
        self.seen.append((float(a.detach()), float(b.detach())))
        return {"loss": a + b, "fit": a, "size": b}

    def evaluate(self, model, epoch):
        return {}


CFG = LoopConfig(epochs=4, batch_size=32, lr=1e-2, weight_decay=1e-3, seed=1)


def test_terms_are_logged_as_epoch_means():
    torch.manual_seed(0)
    task = TwoTerms()
    hist = fit(torch.nn.Linear(4, 1), task, CFG, torch.device("cpu"))
    steps = 96 // 32
    for e, row in enumerate(hist):
        part = task.seen[e * steps : (e + 1) * steps]
        assert abs(row["train_fit"] - sum(a for a, _ in part) / steps) < 1e-6
        assert abs(row["train_size"] - sum(b for _, b in part) / steps) < 1e-6
        assert abs(row["train_loss"] - row["train_fit"] - row["train_size"]) < 1e-5
    assert hist[-1]["train_fit"] < hist[0]["train_fit"]


def test_terms_survive_resume(tmp_path):
    torch.manual_seed(0)
    full = fit(torch.nn.Linear(4, 1), TwoTerms(), CFG, torch.device("cpu"))
    torch.manual_seed(0)
    fit(torch.nn.Linear(4, 1), TwoTerms(), CFG, torch.device("cpu"), checkpoint=tmp_path / "c.pt", stop_after=2)
    resumed = fit(torch.nn.Linear(4, 1), TwoTerms(), CFG, torch.device("cpu"), checkpoint=tmp_path / "c.pt")
    assert [r["train_fit"] for r in resumed] == [r["train_fit"] for r in full]
