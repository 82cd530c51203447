"""Multi-label classification (DiVa Eq. 10): item vector -> one logit per gold-vocabulary label."""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_model


@register_model("mlc")
class MultiLabelClassifier(nn.Module):
    """(B, item_dim) -> (B, n_labels) logits through one hidden ReLU layer."""

    def __init__(self, item_dim: int, n_labels: int, hidden: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(item_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_labels))

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        return self.net(items)
