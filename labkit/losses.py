"""The loss every paper shares: binary cross-entropy on logits. The papers' own losses live with them:
nnPU in :mod:`labkit.diva.losses`, the supportive BCE in :mod:`labkit.propagation.losses`, the
embedding-weighted BCE in :mod:`labkit.tagclusters.losses` (their old names here still work for
one release, with a DeprecationWarning)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .deprecation import moved_names


def bce(logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy of logits (B,) against 0/1 targets (B,), each term times
    ``weight`` (B,) when given."""
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), weight=weight)


__getattr__ = moved_names(__name__, {"nnpu": "labkit.diva.losses", "supportive_bce": "labkit.propagation.losses",
                                     "embedding_weighted_bce": "labkit.tagclusters.losses"})
