"""Set metrics averaged over items: precision, recall, F1 and coverage (mean Jaccard).

``pred`` and ``truth`` are binary (n_items, n_labels) sparse matrices over one label vocabulary.
Per item: P = |Y* ∩ Y| / |Y*|, R = |Y* ∩ Y| / |Y|, F1 = 2|Y* ∩ Y| / (|Y*| + |Y|) and
coverage = |Y* ∩ Y| / |Y* ∪ Y| (DiVa Sec. 4.1), each averaged over all items, as scikit-learn's
``average="samples"`` does. A ratio with an empty denominator takes ``zero_division`` (default 0).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def binary_matrix(m) -> sp.csr_matrix:
    csr = sp.csr_matrix(m, dtype=np.float64)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.data[:] = 1.0
    return csr


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    return np.divide(num, den, out=np.full(len(num), float(zero_division)), where=den > 0)


def set_scores(pred, truth, *, zero_division: float = 0.0) -> dict[str, float]:
    """``{"precision", "recall", "f1", "coverage"}``, each the mean over items."""
    pred, truth = binary_matrix(pred), binary_matrix(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"pred {pred.shape} and truth {truth.shape} differ in shape")
    if pred.shape[0] == 0:
        raise ValueError("no items to score")
    inter = np.asarray(pred.multiply(truth).sum(axis=1)).ravel()
    n_pred = np.diff(pred.indptr).astype(np.float64)
    n_true = np.diff(truth.indptr).astype(np.float64)
    return {
        "precision": float(_ratio(inter, n_pred, zero_division).mean()),
        "recall": float(_ratio(inter, n_true, zero_division).mean()),
        "f1": float(_ratio(2 * inter, n_pred + n_true, zero_division).mean()),
        "coverage": float(_ratio(inter, n_pred + n_true - inter, zero_division).mean()),
    }


def coverage(pred, truth, *, zero_division: float = 0.0) -> float:
    """Mean Jaccard similarity of predicted and complete label sets (DiVa's coverage)."""
    return set_scores(pred, truth, zero_division=zero_division)["coverage"]
