"""One training loop for every audio tagger (CPU or GPU, the same code), with seed 001's
supportive loss (Eq. 3) when the tags propagated over playlists are given."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..losses import bce, supportive_bce
from ..training import fit, index_batches, predict_batches


def tagger_loss(logits: torch.Tensor, targets: torch.Tensor, propagated: torch.Tensor | None = None, *,
                support_weight: float = 1.0, support_negatives: bool = False) -> torch.Tensor:
    """The loss :func:`train_tagger` minimises for a batch: the BCE of the logits (B, n_tags)
    against the tags (B, n_tags) (seed 001, Eq. 1), plus, with ``propagated`` (B, n_tags) =
    sum_s' P(s'|s) y_s' (the tags a playlist walk brings, weighted by its transition probabilities;
    :func:`labkit.propagation.propagated_scores` computes them), ``support_weight`` times the
    supportive term of Eq. 3 (:func:`labkit.losses.supportive_bce`)."""
    if propagated is None:
        return bce(logits, targets)
    return supportive_bce(logits, targets, propagated, support_weight, negatives=support_negatives)


def train_tagger(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, propagated: torch.Tensor | None = None,
    support_weight: float = 1.0, support_negatives: bool = False, epochs: int = 10, batch_size: int = 16,
    lr: float = 1e-3, seed: int = 0, device: str = "cpu", progress: bool = True,
) -> list[float]:
    """Adam on :func:`tagger_loss` of any tagger's logits; returns the mean loss of each epoch.

    inputs: (n, ...) what the model takes; targets: (n, n_tags) 0/1; propagated: (n, n_tags)
    supportive targets (a piece of a clip takes its clip's row) or None for the plain BCE.
    Batches are moved to ``device`` one at a time, so the inputs may stay on the CPU."""
    if propagated is not None and tuple(propagated.shape) != tuple(targets.shape):
        raise ValueError(f"propagated targets {tuple(propagated.shape)} do not match the tags {tuple(targets.shape)}")
    rng = np.random.default_rng(seed)

    def batches(epoch: int) -> list[tuple[torch.Tensor]]:
        return index_batches(torch.from_numpy(rng.permutation(len(inputs))), batch_size)

    def loss(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
        q = None if propagated is None else propagated[idx].to(device)
        return tagger_loss(model(inputs[idx].to(device)), targets[idx].to(device), q, support_weight=support_weight,
                           support_negatives=support_negatives)

    return fit(model, batches, loss, epochs=epochs, lr=lr, seed=seed, device=device, progress=progress,
               desc=f"training {type(model).__name__}")


def predict(model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 32, device: str = "cpu") -> np.ndarray:
    """(n, n_tags) probabilities, in eval mode."""
    return predict_batches(model, inputs, batch_size=batch_size, device=device)
