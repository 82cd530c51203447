"""Threshold-free metrics of score matrices: AUC-ROC, AUC-PR (average precision) and MAP.

``scores`` is a dense (n_items, n_labels) array, ``truth`` a binary matrix of the same shape.
Each label's column is scored in one vectorised pass over all columns, with tied scores handled
as scikit-learn does (average ranks for ROC; one precision per distinct threshold for AP).
``macro`` averages over labels that have both a positive and a negative item (AP: at least one
positive); ``micro`` scores all (item, label) cells as one ranking.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata


def _dense_pair(scores, truth) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores.toarray() if sp.issparse(scores) else scores, dtype=np.float64)
    t = truth.toarray() if sp.issparse(truth) else np.asarray(truth)
    t = (t > 0).astype(np.float64)
    if s.shape != t.shape:
        raise ValueError(f"scores {s.shape} and truth {t.shape} differ in shape")
    if not np.isfinite(s).all():
        raise ValueError("scores hold NaN or infinity")
    return s, t


def roc_auc_columns(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n_columns,) AUC-ROC of each column; NaN where a column lacks positives or negatives.

    AUC = (sum of positive ranks - P(P+1)/2) / (P N), the Mann-Whitney statistic.
    """
    ranks = rankdata(scores, axis=0)
    pos = truth.sum(axis=0)
    neg = truth.shape[0] - pos
    u = (ranks * truth).sum(axis=0) - pos * (pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((pos > 0) & (neg > 0), u / (pos * neg), np.nan)


def average_precision_columns(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n_columns,) average precision of each column; NaN where a column has no positive.

    AP = sum over distinct thresholds of (R_n - R_{n-1}) P_n: every positive in a group of tied
    scores is credited the precision at the end of its group.
    """
    n = scores.shape[0]
    order = np.argsort(-scores, axis=0, kind="stable")
    s_sorted = np.take_along_axis(scores, order, axis=0)
    y_sorted = np.take_along_axis(truth, order, axis=0)
    precision = np.cumsum(y_sorted, axis=0) / np.arange(1, n + 1)[:, None]
    group_end = np.ones_like(s_sorted, dtype=bool)
    group_end[:-1] = s_sorted[:-1] != s_sorted[1:]
    position = np.where(group_end, np.arange(n)[:, None], n)
    end_index = np.minimum.accumulate(position[::-1], axis=0)[::-1]
    precision_at_end = np.take_along_axis(precision, end_index, axis=0)
    pos = truth.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pos > 0, (y_sorted * precision_at_end).sum(axis=0) / pos, np.nan)


def _average(values: np.ndarray) -> float:
    valid = values[~np.isnan(values)]
    return float(valid.mean()) if len(valid) else float("nan")


def auc_roc(scores, truth, average: str = "macro") -> float:
    """AUC-ROC, ``average`` = ``"macro"`` (mean over labels) or ``"micro"`` (all cells at once)."""
    s, t = _dense_pair(scores, truth)
    if average == "micro":
        return _average(roc_auc_columns(s.reshape(-1, 1), t.reshape(-1, 1)))
    if average == "macro":
        return _average(roc_auc_columns(s, t))
    raise ValueError("average must be 'macro' or 'micro'")


def auc_pr(scores, truth, average: str = "macro") -> float:
    """Area under the precision-recall curve as average precision, macro or micro."""
    s, t = _dense_pair(scores, truth)
    if average == "micro":
        return _average(average_precision_columns(s.reshape(-1, 1), t.reshape(-1, 1)))
    if average == "macro":
        return _average(average_precision_columns(s, t))
    raise ValueError("average must be 'macro' or 'micro'")


def annotation_map(scores, truth) -> float:
    """Mean over items (with at least one true label) of the AP of ranking the labels for it."""
    s, t = _dense_pair(scores, truth)
    return _average(average_precision_columns(s.T, t.T))


def retrieval_map(scores, truth) -> float:
    """Mean over labels (with at least one true item) of the AP of ranking the items for it."""
    s, t = _dense_pair(scores, truth)
    return _average(average_precision_columns(s, t))
