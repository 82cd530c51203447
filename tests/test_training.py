"""The one training loop (labkit.training): the min_steps rule and the epoch mean by hand, seeds,
learning a separable toy problem, and predict_batches against a direct sigmoid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from labkit.losses import bce
from labkit.training import fit, index_batches, predict_batches


class Scalar(nn.Module):
    """One parameter, for loops whose numbers are worked out by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


def toy(seed: int = 0, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 2) points and (n, 1) 0/1 targets: the sign of x0 + x1 (linearly separable)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return x, (x.sum(dim=1, keepdim=True) > 0).float()


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))


def train_toy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, seed: int | None, epochs: int = 30) -> list[float]:
    rng = np.random.default_rng(0)
    return fit(model, lambda epoch: index_batches(torch.from_numpy(rng.permutation(len(x))), 8),
               lambda model, idx: bce(model(x[idx]), y[idx]), epochs=epochs, lr=1e-2, seed=seed, progress=False)


def test_index_batches_cut_in_order():
    batches = index_batches(np.arange(10), 4)
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert index_batches(np.arange(0), 4) == []


def test_min_steps_rule_by_hand():
    """10 samples in batches of 4: 3 steps an epoch; at least 7 steps need ceil(7 / 3) = 3 epochs."""
    calls, steps = [], []

    def batches(epoch):
        calls.append(epoch)
        return index_batches(np.arange(10), 4)

    def loss(model, idx):
        steps.append(len(idx))
        return (model.w ** 2).sum()

    history = fit(Scalar(), batches, loss, epochs=1, min_steps=7, seed=0, progress=False)
    assert len(history) == 3 and calls == [0, 1, 2]  # each epoch's batches drawn once, in order
    assert steps == [4, 4, 2] * 3
    assert len(fit(Scalar(), batches, loss, epochs=5, min_steps=7, seed=0, progress=False)) == 5  # epochs already enough
    assert len(fit(Scalar(), lambda e: [], loss, epochs=1, min_steps=3, seed=0, progress=False)) == 3  # no batches: 1 step an epoch


def test_epoch_mean_weighs_batches_by_their_size():
    """A loss equal to the batch's size: (4 * 4 + 4 * 4 + 2 * 2) / 10 = 3.6 every epoch."""
    history = fit(Scalar(), lambda e: index_batches(np.arange(10), 4), lambda m, idx: m.w.sum() * 0 + float(len(idx)),
                  epochs=2, lr=0.0, seed=0, progress=False)
    assert history == [pytest.approx(3.6), pytest.approx(3.6)]
    assert fit(Scalar(), lambda e: [], lambda m, idx: m.w.sum(), epochs=1, seed=0, progress=False) == [0.0]


def test_the_seed_reproduces_and_none_keeps_the_generator():
    x, y = toy()
    a, b, c = mlp(), mlp(), mlp()
    b.load_state_dict(a.state_dict())
    c.load_state_dict(a.state_dict())
    assert train_toy(a, x, y, seed=3, epochs=3) == train_toy(b, x, y, seed=3, epochs=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    train_toy(c, x, y, seed=4, epochs=3)
    assert not all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), c.state_dict().values()))  # other dropout masks

    d, e = mlp(), mlp()
    e.load_state_dict(d.state_dict())
    torch.manual_seed(7)
    train_toy(d, x, y, seed=None, epochs=2)
    torch.manual_seed(7)
    train_toy(e, x, y, seed=None, epochs=2)
    assert all(torch.equal(p, q) for p, q in zip(d.state_dict().values(), e.state_dict().values()))


def test_losses_decrease_on_a_separable_problem_and_the_model_ends_in_eval_mode():
    x, y = toy()
    torch.manual_seed(0)
    model = mlp()
    history = train_toy(model, x, y, seed=0)
    assert len(history) == 30 and history[-1] < 0.3 * history[0]
    assert not model.training
    assert ((predict_batches(model, x, batch_size=16) > 0.5) == y.numpy().astype(bool)).mean() >= 0.95


def test_a_given_optimiser_is_used():
    model = Scalar()
    sgd = torch.optim.SGD(model.parameters(), lr=0.5)
    fit(model, lambda e: [(np.zeros(1),)], lambda m, _: ((m.w - 1.0) ** 2).sum(), epochs=1, seed=0, optimiser=sgd, progress=False)
    assert model.w.item() == pytest.approx(1.0)  # one SGD step of 0.5 * 2 (w - 1) from 0


def test_predict_batches_equals_a_direct_sigmoid():
    x, _ = toy(n=37)
    torch.manual_seed(0)
    model = mlp()
    model.train()  # predict_batches switches to eval mode (no dropout)
    probs = predict_batches(model, x, batch_size=37)
    assert not model.training
    with torch.no_grad():
        direct = torch.sigmoid(model(x)).numpy()
    assert probs.shape == (37, 1) and probs.dtype == np.float32
    np.testing.assert_array_equal(probs, direct)
    np.testing.assert_allclose(predict_batches(model, x, batch_size=5), direct, rtol=1e-6, atol=1e-7)
    doubled = predict_batches(model, x.numpy(), batch_size=8, forward=lambda m, rows: 2 * m(torch.from_numpy(rows)))
    with torch.no_grad():
        np.testing.assert_allclose(doubled, torch.sigmoid(2 * model(x)).numpy(), rtol=1e-6, atol=1e-7)
    assert predict_batches(model, x[:0], batch_size=8).shape == (0, 1)
