"""Soft precision, recall and F1 (DiVa Eq. 7-8): matches by cosine similarity of label embeddings.

SP_i = mean over predicted labels of their best cosine similarity to a gold label of item i;
SR_i = mean over gold labels of their best similarity to a predicted label; SF1_i = 2 SP_i SR_i /
(SP_i + SR_i). Each is averaged over items; an item with no predictions (or no gold labels)
scores 0 on every soft metric, since nothing can match.
"""

from __future__ import annotations

import numpy as np

from ..sparse import unit_rows
from .sets import binary_matrix


def _checked_unit_rows(embeddings: np.ndarray) -> np.ndarray:
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError("embeddings must be a 2-D (n_labels, dim) array")
    if not np.isfinite(emb).all():
        bad = int(np.flatnonzero(~np.isfinite(emb).all(axis=1))[0])
        raise ValueError(f"embedding of label {bad} holds NaN or infinity")
    return unit_rows(emb, np.float64)


def soft_scores(pred, truth, embeddings: np.ndarray) -> dict[str, float]:
    """``{"soft_precision", "soft_recall", "soft_f1"}`` over items.

    pred, truth: binary (n_items, n_labels) sparse matrices; embeddings: (n_labels, dim), row l is
    label l's vector (zero rows, e.g. labels with no known word, have similarity 0 to everything).
    All (predicted, gold) pairs of all items are scored in one vectorised pass.
    """
    pred, truth = binary_matrix(pred), binary_matrix(truth)
    unit = _checked_unit_rows(embeddings)
    if pred.shape != truth.shape or unit.shape[0] != pred.shape[1]:
        raise ValueError(f"shapes differ: pred {pred.shape}, truth {truth.shape}, embeddings {unit.shape}")
    n = pred.shape[0]
    n_pred, n_true = np.diff(pred.indptr), np.diff(truth.indptr)
    per_item = n_pred * n_true
    item = np.repeat(np.arange(n), per_item)
    local = np.arange(per_item.sum()) - np.repeat(np.cumsum(per_item) - per_item, per_item)
    pred_slot = pred.indptr[item] + local // np.maximum(n_true[item], 1)
    true_slot = truth.indptr[item] + local % np.maximum(n_true[item], 1)
    sim = np.einsum("ij,ij->i", unit[pred.indices[pred_slot]], unit[truth.indices[true_slot]])
    best_for_pred = np.full(len(pred.indices), -np.inf)
    np.maximum.at(best_for_pred, pred_slot, sim)
    best_for_true = np.full(len(truth.indices), -np.inf)
    np.maximum.at(best_for_true, true_slot, sim)
    both = (n_pred > 0) & (n_true > 0)
    pred_rows = np.repeat(np.arange(n), n_pred)
    true_rows = np.repeat(np.arange(n), n_true)
    sp_sum = np.bincount(pred_rows, weights=np.where(np.isfinite(best_for_pred), best_for_pred, 0), minlength=n)
    sr_sum = np.bincount(true_rows, weights=np.where(np.isfinite(best_for_true), best_for_true, 0), minlength=n)
    sp_i = np.where(both, sp_sum / np.maximum(n_pred, 1), 0.0)
    sr_i = np.where(both, sr_sum / np.maximum(n_true, 1), 0.0)
    den = sp_i + sr_i
    sf1_i = np.divide(2 * sp_i * sr_i, den, out=np.zeros(n), where=den > 0)
    return {
        "soft_precision": float(sp_i.mean()),
        "soft_recall": float(sr_i.mean()),
        "soft_f1": float(sf1_i.mean()),
    }
