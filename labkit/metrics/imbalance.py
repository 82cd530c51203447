"""Label imbalance: IRLbl, MeanIR (Charte et al.) and how per-label scores follow label counts."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import stats


def label_counts(truth) -> np.ndarray:
    """(n_labels,) number of items holding each label."""
    m = sp.csr_matrix(truth)
    return np.asarray((m > 0).sum(axis=0)).ravel()


def imbalance_ratios(truth) -> np.ndarray:
    """(n_labels,) IRLbl: count of the most frequent label over each label's count (NaN if absent)."""
    counts = label_counts(truth).astype(np.float64)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, counts.max(initial=0) / counts, np.nan)


def mean_ir(truth) -> float:
    """MeanIR: the mean IRLbl over labels present at least once (1.0 means perfectly balanced)."""
    ratios = imbalance_ratios(truth)
    ratios = ratios[~np.isnan(ratios)]
    if not len(ratios):
        raise ValueError("no label occurs: MeanIR is undefined")
    return float(ratios.mean())


def count_score_correlation(counts: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman correlation of per-label scores (e.g. AUC-PR) with label counts.

    Labels whose score is NaN are left out. Returns ``{"pearson", "spearman", "n_labels"}``.
    """
    counts, scores = np.asarray(counts, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    keep = ~np.isnan(scores) & ~np.isnan(counts)
    if keep.sum() < 3:
        raise ValueError("need at least three labels with scores to correlate")
    return {
        "pearson": float(stats.pearsonr(counts[keep], scores[keep])[0]),
        "spearman": float(stats.spearmanr(counts[keep], scores[keep])[0]),
        "n_labels": int(keep.sum()),
    }
