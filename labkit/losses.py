"""Losses on logits: binary cross-entropy, the non-negative PU risk (nnPU, Kiryo et al. 2017), the
supportive BCE of playlist propagation (seed 001, Eq. 3) and the embedding-weighted BCE (thesis Eq. 33)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce(logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy of logits (B,) against 0/1 targets (B,), each term times
    ``weight`` (B,) when given."""
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), weight=weight)


def nnpu(logits: torch.Tensor, is_positive: torch.Tensor, prior: float) -> torch.Tensor:
    """nnPU risk (DiVa Eq. 12): pi R_p^+ + max(0, R_u^- - pi R_p^-) with BCE as the loss.

    logits: (B,); is_positive: (B,) bool, True for labelled positives, False for unlabelled
    pairs (sampled negatives); prior: pi_p, the share of positives among the unlabelled pairs.
    """
    pos, unl = is_positive.bool(), ~is_positive.bool()
    zero = logits.new_zeros(())
    r_p_plus = F.binary_cross_entropy_with_logits(logits[pos], torch.ones_like(logits[pos])) if pos.any() else zero
    r_p_minus = F.binary_cross_entropy_with_logits(logits[pos], torch.zeros_like(logits[pos])) if pos.any() else zero
    r_u_minus = F.binary_cross_entropy_with_logits(logits[unl], torch.zeros_like(logits[unl])) if unl.any() else zero
    return prior * r_p_plus + torch.clamp(r_u_minus - prior * r_p_minus, min=0.0)


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
