"""DiVa's binary pair classifier (Eq. 2): does candidate label y fit the item with comments d?

Two towers and a joint layer: h_d = ReLU(W0 d), h_y = ReLU(W1 y), h = ReLU(W2 [h_d; h_y] + Wf f),
logit = w3 . h + b3, where f are the candidate's occurrence features in the item's comments (a
pooled comment vector alone cannot tell whether a phrase occurs in them). Because
W2 [h_d; h_y] = W2a h_d + W2b h_y, scoring many pairs needs u = W2a h_d once per item and
v = W2b h_y + b2 once per candidate: a pair's logit is w3 . ReLU(u_i + v_c + Wf f_ic) + b3.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import register_model


@register_model("pair_classifier")
class PairClassifier(nn.Module):
    """Returns logits. item_dim/label_dim: input vector sizes; n_features: occurrence features."""

    def __init__(self, item_dim: int, label_dim: int, n_features: int = 4, tower: int = 256, hidden: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.item_tower = nn.Linear(item_dim, tower)  # W0
        self.label_tower = nn.Linear(label_dim, tower)  # W1
        self.joint = nn.Linear(2 * tower, hidden)  # W2 on [h_d; h_y]
        self.features = nn.Linear(n_features, hidden, bias=False)  # Wf
        self.out = nn.Linear(hidden, 1)  # w3, b3
        self.dropout = nn.Dropout(dropout)
        self.tower = tower

    def item_part(self, items: torch.Tensor) -> torch.Tensor:
        """(n, item_dim) -> (n, hidden): u = W2a ReLU(W0 d)."""
        h = self.dropout(torch.relu(self.item_tower(items)))
        return h @ self.joint.weight[:, : self.tower].T

    def label_part(self, labels: torch.Tensor) -> torch.Tensor:
        """(n, label_dim) -> (n, hidden): v = W2b ReLU(W1 y) + b2."""
        h = self.dropout(torch.relu(self.label_tower(labels)))
        return h @ self.joint.weight[:, self.tower :].T + self.joint.bias

    def pair_logits(self, u: torch.Tensor, v: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(B, hidden), (B, hidden), (B, n_features) -> (B,) logits of the pairs."""
        h = self.dropout(torch.relu(u + v + self.features(features)))
        return self.out(h).squeeze(-1)

    @torch.inference_mode()
    def score_indexed(
        self, u: torch.Tensor, v: torch.Tensor, item_idx: torch.Tensor, label_idx: torch.Tensor, features: torch.Tensor,
        feature_rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Inference only: logits (B,) of pairs given by indices into u (n_items, hidden) and
        v (n_labels, hidden), built in one buffer with in-place adds (no dropout, no autograd).

        features: (B, n_features), or with ``feature_rows`` (R,) the features of those pairs only,
        (R, n_features), every other pair's being zero (a candidate absent from the comments has
        no occurrence features, so its pair needs no feature product at all)."""
        h = v.index_select(0, label_idx)
        h += u.index_select(0, item_idx)
        if features.shape[1] and len(features):
            if feature_rows is None:
                h.addmm_(features, self.features.weight.T)
            else:
                h.index_add_(0, feature_rows, features @ self.features.weight.T)
        h.relu_()
        return h @ self.out.weight[0] + self.out.bias[0]

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """Random inputs of the forward pass (for the ONNX export) and their dynamic axes."""
        c = self.config
        inputs = {"items": torch.randn(batch, c["item_dim"]), "labels": torch.randn(batch, c["label_dim"]),
                  "features": torch.randn(batch, c["n_features"])}
        return inputs, {name: {0: "batch"} for name in inputs}

    def forward(self, items: torch.Tensor, labels: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(B, item_dim), (B, label_dim), (B, n_features) -> (B,) logits, one per pair."""
        return self.pair_logits(self.item_part(items), self.label_part(labels), features)

    def forward_concat(self, items: torch.Tensor, labels: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The same logits computed literally as Eq. 2 on concatenated inputs (the plain baseline)."""
        h_d = self.dropout(torch.relu(self.item_tower(items)))
        h_y = self.dropout(torch.relu(self.label_tower(labels)))
        h = self.dropout(torch.relu(self.joint(torch.cat([h_d, h_y], dim=-1)) + self.features(features)))
        return self.out(h).squeeze(-1)
