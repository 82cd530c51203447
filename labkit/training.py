"""The one training loop of the kit and the one batched sigmoid inference.

:func:`fit` owns what every model's training shares: the seed, train mode, the optimiser (Adam
unless given), zero_grad / backward / step, the mean loss of each epoch, the progress bar, the
rule "at least ``min_steps`` optimiser steps", and eval mode at the end. The caller says what a
batch is (``batches(epoch)``, drawing its own random numbers) and what its loss is
(``loss(model, *batch)``). :func:`predict_batches` is the inference side: sigmoid probabilities
in eval mode, batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

Batch = tuple
"""One batch: a tuple passed to ``loss(model, *batch)``; its first element has one row per sample."""


def index_batches(order: np.ndarray | torch.Tensor, batch_size: int) -> list[Batch]:
    """``order`` (n,) cut into consecutive batches of ``batch_size`` (the last one shorter): a
    list of 1-tuples ``(indices,)``."""
    return [(order[start : start + batch_size],) for start in range(0, len(order), batch_size)]


def fit(
    model: nn.Module,
    batches: Callable[[int], Sequence[Batch]],
    loss: Callable[..., torch.Tensor],
    *,
    epochs: int,
    seed: int | None,
    min_steps: int = 0,
    lr: float = 1e-3,
    device: str | torch.device = "cpu",
    optimiser: torch.optim.Optimizer | None = None,
    progress: bool = True,
    desc: str = "training",
    on_epoch: Callable[[int, float], None] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> list[float]:
    """Train ``model`` in place; returns the mean loss of each epoch (each batch weighted by its
    number of samples).

    batches: ``batches(epoch)`` -> the list of that epoch's batches. It is called once per epoch,
    in order, epoch 0 before training starts (its length sets the epochs that ``min_steps``
    needs), so the random draws of a caller's generator keep their order.
    loss: ``loss(model, *batch)`` -> scalar tensor; moving the batch to ``device`` is its job.
    epochs: at least this many; more when one epoch has fewer than ``min_steps / epochs``
    batches: then ceil(min_steps / batches per epoch), so that at least ``min_steps`` optimiser
    steps are taken.
    seed: ``torch.manual_seed(seed)`` before anything else; None leaves torch's generator as it is
    (for callers that seeded it before building the model, so that the model's initialisation and
    the training's dropout draw from one stream).
    optimiser: Adam over all parameters with ``lr`` when not given.
    on_epoch: called after each epoch with (epoch, its mean loss).
    scheduler: stepped after every optimiser step (a learning-rate schedule over the steps).
    """
    if seed is not None:
        torch.manual_seed(seed)
    model.to(device).train()
    if optimiser is None:
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    first = batches(0)
    steps_per_epoch = max(1, len(first))
    epochs = max(epochs, -(-min_steps // steps_per_epoch))  # ceil(min_steps / steps_per_epoch)
    history = []
    bar = tqdm(range(epochs), desc=desc, disable=not progress, unit="epoch")
    for epoch in bar:
        total, count = 0.0, 0
        for batch in first if epoch == 0 else batches(epoch):
            value = loss(model, *batch)
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
            if scheduler is not None:
                scheduler.step()
            total += value.item() * len(batch[0])
            count += len(batch[0])
        history.append(total / max(count, 1))
        bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    model.eval()
    return history


@torch.inference_mode()
def predict_batches(
    model: nn.Module,
    inputs: torch.Tensor | np.ndarray | Sequence,
    *,
    batch_size: int,
    device: str | torch.device = "cpu",
    forward: Callable[[nn.Module, Sequence], torch.Tensor] | None = None,
) -> np.ndarray:
    """(n, n_outputs) sigmoid probabilities of the logits of ``inputs`` (n rows), in eval mode,
    ``batch_size`` rows at a time.

    forward: ``forward(model, rows)`` -> (len(rows), n_outputs) logits; by default
    ``model(rows.to(device))``. An empty input makes one call on the empty slice."""
    if forward is None:
        def forward(model: nn.Module, rows: torch.Tensor) -> torch.Tensor:
            return model(rows.to(device))
    model.to(device).eval()
    starts = range(0, len(inputs), batch_size) if len(inputs) else [0]
    return np.concatenate([torch.sigmoid(forward(model, inputs[s : s + batch_size])).cpu().numpy() for s in starts])
