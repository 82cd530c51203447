"""The embedding-weighted BCE of the thesis (Eq. 33): negatives close in meaning to a true tag cost less."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def embedding_weighted_bce(logits: torch.Tensor, targets: torch.Tensor, tag_vectors: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """The thesis' Eq. 33: BCE whose negative terms are weighted 1 + gamma (1 - max_j w_i . w_j),
    the max over the sample's true tags j: a tag close in meaning to a true tag is penalised less.

    logits, targets: (B, n_tags); tag_vectors: (n_tags, dim) unit rows. A sample with no true tag
    gets the full weight 1 + gamma on every negative."""
    targets = targets.to(logits.dtype)
    similarity = (tag_vectors @ tag_vectors.T).to(logits.dtype)  # (n_tags, n_tags)
    n = similarity.shape[0]
    chunk = max(1, 2**24 // max(n * n, 1))  # samples per (chunk, n, n) block: bounded memory
    parts = []
    for start in range(0, targets.shape[0], chunk):
        t = targets[start : start + chunk]
        masked = torch.where(t[:, None, :] > 0, similarity[None], torch.full_like(similarity, -1.0)[None])
        parts.append(masked.max(dim=2).values.clamp(min=0.0))  # max over true tags; 0 if none
    closest = torch.cat(parts) if parts else torch.zeros_like(targets)
    weights = torch.where(targets > 0, torch.ones_like(targets), 1.0 + gamma * (1.0 - closest))
    return F.binary_cross_entropy_with_logits(logits, targets, weight=weights)
