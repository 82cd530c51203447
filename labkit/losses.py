"""The losses more than one house trains with: binary cross-entropy on logits, and seed 001's
supportive BCE (playlist propagation's song tagger and the audio taggers both use it). The papers'
other losses live with them: nnPU in :mod:`labkit.diva.losses`, the embedding-weighted BCE in
:mod:`labkit.tagclusters.losses` (their old names here still work for one release, with a
DeprecationWarning)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .deprecation import moved_names


def bce(logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy of logits (B,) against 0/1 targets (B,), each term times
    ``weight`` (B,) when given."""
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), weight=weight)



def supportive_bce(
    logits: torch.Tensor, targets: torch.Tensor, propagated: torch.Tensor, weight: float = 1.0, *, negatives: bool = False,
) -> torch.Tensor:
    """Playlist propagation loss (seed 001, Eq. 3): BCE on a song's own tags plus ``weight`` times
    a supportive term for the tags a walk passes to it.

    logits, targets: (B, n_tags); propagated: (B, n_tags) with entry (s, t) = sum_{s'} P(s'|s)
    y_{s',t}, the probability that a walk from s lands on a song holding t.

    Eq. 3 can be read two ways, and both are here. By default (``negatives=False``) the supportive
    term rewards the links the walk creates: -mean_t q_{s,t} log f(x_s, t), each propagated tag a
    positive weighted by P(s'|s) ("the model is optimized to reproduce ... the additional song-tag
    link created by our algorithm"). With ``negatives=True`` the walk passes s''s whole label
    vector, zeros included: the expected BCE sum_{s'} P(s'|s) BCE(f(x_s), y_{s'}), which equals one
    BCE against the soft targets q because BCE is linear in its target."""
    own = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
    q = propagated.to(logits.dtype)
    if negatives:
        support = F.binary_cross_entropy_with_logits(logits, q)
    else:
        support = -(q * F.logsigmoid(logits)).mean()
    return own + weight * support


__getattr__ = moved_names(__name__, {"nnpu": "labkit.diva.losses", "embedding_weighted_bce": "labkit.tagclusters.losses"})
