"""Ranking metrics over top-k predictions: P@k, R@k, nDCG@k, PSP@k and PSnDCG@k.

Conventions (those of pyxclib, which the DiVa paper used):
- ``ranked`` is an int array (n_items, K) of label columns, best first, padded with -1;
- ``truth`` is a binary (n_items, n_labels) sparse matrix;
- every item counts in the mean, so an item with no true labels scores 0;
- arrays are as wide as min(k, the longest ranked or true list), never k itself, so a huge k
  (``labkit eval --k 1000000000000``) costs no more than k = the longest list;
- PSP@k and PSnDCG@k are ratios of means: the propensity-weighted score of the predictions over
  that of the best achievable ranking (each item's true labels sorted by inverse propensity).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..sparse import canonical_csr, lookup


def _as_csr(truth) -> sp.csr_matrix:
    return canonical_csr(truth)


def _check(ranked: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """``ranked`` cut to its first min(k, K) columns as int64. Ranks past the K given columns
    are misses, so they are left out rather than padded: arrays never grow with k itself."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or ranked.shape[0] != truth.shape[0]:
        raise ValueError(f"ranked must be (n_items={truth.shape[0]}, K); got shape {ranked.shape}")
    if k < 1:
        raise ValueError("k must be at least 1")
    ranked = ranked[:, :k].astype(np.int64)
    if ranked.size and ranked.max() >= truth.shape[1]:
        raise ValueError(f"ranked holds label {ranked.max()} but truth has {truth.shape[1]} columns")
    return ranked


def _hits(ranked: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """(n_items, min(k, K)) float array: 1 where the label at that rank is true, else 0."""
    ranked = _check(ranked, truth, k)
    rows = np.broadcast_to(np.arange(ranked.shape[0])[:, None], ranked.shape)
    return (lookup(truth, rows, ranked) > 0).astype(np.float64)


def hits(ranked: np.ndarray, truth, k: int) -> np.ndarray:
    """(n_items, k) float array: 1 where the label at that rank is true, 0 otherwise (or padding)."""
    found = _hits(ranked, _as_csr(truth), k)
    return np.hstack([found, np.zeros((found.shape[0], k - found.shape[1]))])


def _discount(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def _ideal_dcg(n_true: np.ndarray, k: int) -> np.ndarray:
    """(n_items,) DCG@k of a perfect ranking for items with ``n_true`` true labels."""
    width = min(k, int(n_true.max(initial=0)))  # the longest truth list, not k
    cumulative = np.concatenate([[0.0], np.cumsum(_discount(width))])
    return cumulative[np.minimum(n_true, width)]


def precision_at_k(ranked: np.ndarray, truth, k: int) -> float:
    """Mean over items of (true labels in the top k) / k."""
    return float(_hits(ranked, _as_csr(truth), k).sum(axis=1).mean() / k)


def recall_at_k(ranked: np.ndarray, truth, k: int) -> float:
    """Mean over items of (true labels in the top k) / (number of true labels); 0 for none."""
    truth = _as_csr(truth)
    n_true = np.diff(truth.indptr)
    found = _hits(ranked, truth, k).sum(axis=1)
    return float(np.divide(found, n_true, out=np.zeros(len(found)), where=n_true > 0).mean())


def ndcg_at_k(ranked: np.ndarray, truth, k: int) -> float:
    """Mean over items of DCG@k / ideal DCG@k with binary gains and 1/log2(rank + 1) discounts."""
    truth = _as_csr(truth)
    found = _hits(ranked, truth, k)
    dcg = found @ _discount(found.shape[1])
    ideal = _ideal_dcg(np.diff(truth.indptr), k)
    return float(np.divide(dcg, ideal, out=np.zeros(len(dcg)), where=ideal > 0).mean())


def inverse_propensity(train_truth, a: float = 0.55, b: float = 1.5) -> np.ndarray:
    """(n_labels,) inverse propensities of Jain et al. (2016) from training label counts.

    ``1 / p_l = 1 + (ln N - 1) (b + 1)^a (N_l + b)^-a`` with N the number of training items
    (those without labels included) and N_l the training count of label l. A label never seen in
    training gets the largest weight, ``1 + (ln N - 1) ((b + 1) / b)^a``.
    """
    train = _as_csr(train_truth)
    n_items = train.shape[0]
    if n_items < 1:
        raise ValueError("inverse propensities need at least one training item")
    counts = np.asarray((train > 0).sum(axis=0)).ravel()
    c = (np.log(n_items) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (counts + b) ** (-a)


def _best_weights(truth: sp.csr_matrix, inv_prop: np.ndarray, k: int) -> np.ndarray:
    """(n_items, min(k, longest truth list)) each item's true-label weights sorted descending,
    zero-padded."""
    n = truth.shape[0]
    k = min(k, int(np.diff(truth.indptr).max(initial=0)))
    rows = np.repeat(np.arange(n), np.diff(truth.indptr))
    weights = inv_prop[truth.indices]
    order = np.lexsort((-weights, rows))
    rank = np.arange(len(order)) - truth.indptr[rows[order]]
    keep = rank < k
    out = np.zeros((n, k))
    out[rows[order][keep], rank[keep]] = weights[order][keep]
    return out


def _weighted_hits(ranked: np.ndarray, truth: sp.csr_matrix, inv_prop: np.ndarray, k: int) -> np.ndarray:
    if len(inv_prop) != truth.shape[1]:
        raise ValueError(f"inv_prop has {len(inv_prop)} entries for {truth.shape[1]} labels")
    ranked_k = _check(ranked, truth, k)
    return _hits(ranked_k, truth, k) * np.where(ranked_k >= 0, inv_prop[np.maximum(ranked_k, 0)], 0.0)


def psp_at_k(ranked: np.ndarray, truth, inv_prop: np.ndarray, k: int) -> float:
    """Propensity-scored precision@k, normalised by the best achievable ranking (ratio of means)."""
    truth = _as_csr(truth)
    achieved = _weighted_hits(ranked, truth, inv_prop, k).sum(axis=1).mean()
    best = _best_weights(truth, inv_prop, k).sum(axis=1).mean()
    return float(achieved / best) if best > 0 else 0.0


def psndcg_at_k(ranked: np.ndarray, truth, inv_prop: np.ndarray, k: int) -> float:
    """Propensity-scored nDCG@k, normalised by the best achievable ranking (ratio of means)."""
    truth = _as_csr(truth)
    ideal = _ideal_dcg(np.diff(truth.indptr), k)
    safe = np.where(ideal > 0, ideal, 1.0)
    weighted = _weighted_hits(ranked, truth, inv_prop, k)
    best_weights = _best_weights(truth, inv_prop, k)
    achieved = (weighted @ _discount(weighted.shape[1])) / safe
    best = (best_weights @ _discount(best_weights.shape[1])) / safe
    return float(achieved.mean() / best.mean()) if best.mean() > 0 else 0.0


def top_k_indices(scores, k: int) -> np.ndarray:
    """(n_items, k) columns of the k highest scores per row, best first.

    Ties are broken by the lower column first, except at the k-th place of a dense row, where
    ``argpartition`` picks (deterministically) among equal scores.

    scores: dense (n_items, n_labels) array or sparse matrix (absent entries are not ranked and
    pad with -1 when a row has fewer than k stored entries).
    """
    if sp.issparse(scores):
        csr = sp.csr_matrix(scores)
        n = csr.shape[0]
        rows = np.repeat(np.arange(n), np.diff(csr.indptr))
        order = np.lexsort((csr.indices, -csr.data, rows))
        rank = np.arange(len(order)) - csr.indptr[rows[order]]
        keep = rank < k
        out = np.full((n, k), -1, dtype=np.int64)
        out[rows[order][keep], rank[keep]] = csr.indices[order][keep]
        return out
    scores = np.asarray(scores, dtype=np.float64)
    k_eff = min(k, scores.shape[1])
    if k_eff < scores.shape[1]:
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    if k_eff < k:
        top = np.hstack([top, np.full((scores.shape[0], k - k_eff), -1, dtype=np.int64)])
    return top.astype(np.int64)
