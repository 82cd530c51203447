"""DiVa's losses: the non-negative PU risk (nnPU, Eq. 12; Kiryo et al. 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nnpu(logits: torch.Tensor, is_positive: torch.Tensor, prior: float, *, ascent: bool = False, gamma: float = 1.0) -> torch.Tensor:
    """nnPU risk (DiVa Eq. 12): pi R_p^+ + max(0, R_u^- - pi R_p^-) with BCE as the loss.

    logits: (B,); is_positive: (B,) bool, True for labelled positives, False for unlabelled
    pairs (sampled negatives); prior: pi_p, the share of positives among the unlabelled pairs.
    ascent: Kiryo et al. (2017), Algorithm 1: where the negative risk R_u^- - pi R_p^- falls below
    zero, the batch's objective is -gamma times it, so that the step climbs back up that risk
    (the model has over-fitted the positives) instead of only getting no gradient from it.
    """
    pos, unl = is_positive.bool(), ~is_positive.bool()
    zero = logits.new_zeros(())
    r_p_plus = F.binary_cross_entropy_with_logits(logits[pos], torch.ones_like(logits[pos])) if pos.any() else zero
    r_p_minus = F.binary_cross_entropy_with_logits(logits[pos], torch.zeros_like(logits[pos])) if pos.any() else zero
    r_u_minus = F.binary_cross_entropy_with_logits(logits[unl], torch.zeros_like(logits[unl])) if unl.any() else zero
    negative_risk = r_u_minus - prior * r_p_minus
    clamped = prior * r_p_plus + torch.clamp(negative_risk, min=0.0)
    if not ascent or not unl.any():  # without unlabelled pairs the "negative risk" is -pi R_p^- alone
        return clamped
    return torch.where(negative_risk < 0, -gamma * negative_risk, clamped)  # no host sync on a GPU
