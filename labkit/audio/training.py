"""One training loop for every audio tagger (CPU or GPU, the same code)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..losses import bce
from ..training import fit, index_batches, predict_batches


def train_tagger(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, epochs: int = 10, batch_size: int = 16,
    lr: float = 1e-3, seed: int = 0, device: str = "cpu", progress: bool = True,
) -> list[float]:
    """Adam on the BCE of the tagger's logits; returns the mean loss of each epoch. Batches are
    moved to ``device`` one at a time, so the inputs may stay on the CPU."""
    rng = np.random.default_rng(seed)

    def batches(epoch: int) -> list[tuple[torch.Tensor]]:
        return index_batches(torch.from_numpy(rng.permutation(len(inputs))), batch_size)

    def loss(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
        return bce(model(inputs[idx].to(device)), targets[idx].to(device))

    return fit(model, batches, loss, epochs=epochs, lr=lr, seed=seed, device=device, progress=progress,
               desc=f"training {type(model).__name__}")


def predict(model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 32, device: str = "cpu") -> np.ndarray:
    """(n, n_tags) probabilities, in eval mode."""
    return predict_batches(model, inputs, batch_size=batch_size, device=device)
