"""One training loop for every audio tagger (CPU or GPU, the same code)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..losses import bce


def train_tagger(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, epochs: int = 10, batch_size: int = 16,
    lr: float = 1e-3, seed: int = 0, device: str = "cpu", progress: bool = True,
) -> list[float]:
    """Adam on the BCE of the tagger's logits; returns the mean loss of each epoch. Batches are
    moved to ``device`` one at a time, so the inputs may stay on the CPU."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in tqdm(range(epochs), desc=f"training {type(model).__name__}", disable=not progress, unit="epoch"):
        order = torch.from_numpy(rng.permutation(len(inputs)))
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logits = model(inputs[idx].to(device))
            loss = bce(logits, targets[idx].to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        history.append(total / len(inputs))
    model.eval()
    return history


@torch.inference_mode()
def predict(model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 32, device: str = "cpu") -> np.ndarray:
    """(n, n_tags) probabilities, in eval mode."""
    model.to(device).eval()
    return np.concatenate([torch.sigmoid(model(inputs[s : s + batch_size].to(device))).cpu().numpy() for s in range(0, len(inputs), batch_size)])
