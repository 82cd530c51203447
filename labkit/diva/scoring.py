"""DiVa's joint score (Eq. 3-6) and its parts, as array functions.

- SI, statistical importance: TF-IDF of the candidate in the item's comments (Eq. 9);
- SN, semantic novelty: 1 - the mean over m K-means runs of the largest cosine similarity
  between the candidate and a cluster centre of the current label set (Eq. 3);
- PV, practical value: the mean classifier confidence of the candidate over all items (Eq. 4);
- DA, discrimination ability: coefficient of variation of its counts across items (Eq. 5);
- G = SI * SN * PV * DA (Eq. 6). PV and DA are 0/1 against tau in the paper's form, or kept as
  continuous factors (PV itself, and DA squashed to [0, 1) as CV / (1 + CV)).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans

from ..sparse import unit_rows

SCORE_PARTS = ("SI", "SN", "PV", "DA")


def tfidf(counts: sp.csr_matrix) -> sp.csr_matrix:
    """(n_items, n_phrases) TF-IDF of Eq. 9: count / item's total count * log(N / document frequency)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    n_items = counts.shape[0]
    totals = np.asarray(counts.sum(axis=1)).ravel()
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log(n_items / np.maximum(df, 1))
    out = counts.copy()
    rows = np.repeat(np.arange(n_items), np.diff(counts.indptr))
    out.data = counts.data / np.maximum(totals[rows], 1e-12) * idf[counts.indices]
    return out


def semantic_novelty(
    candidate_vectors: np.ndarray,
    label_vectors: np.ndarray,
    *,
    n_clusters: int = 15,
    runs: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """(n_candidates,) SN of Eq. 3 against the current label set.

    candidate_vectors: (n_candidates, dim); label_vectors: (n_labels, dim) of the gold and accepted
    pseudo-labels. Each run clusters the unit label vectors with K-means (its own seed); a
    candidate's similarity to a run is its largest cosine similarity to that run's unit centres.
    """
    labels = unit_rows(label_vectors, np.float64)
    cands = unit_rows(candidate_vectors, np.float64)
    k = min(n_clusters, len(labels))
    if k < 1:
        return np.ones(len(cands))
    best = np.zeros(len(cands))
    for r in range(runs):
        km = KMeans(n_clusters=k, n_init=1, random_state=seed + r).fit(labels)
        centres = unit_rows(km.cluster_centers_, np.float64)
        best += (cands @ centres.T).max(axis=1)
    return 1.0 - best / runs


def practical_value(mean_confidence: np.ndarray, tau: float, *, continuous: bool = False) -> np.ndarray:
    """PV of Eq. 4: 1 where the candidate's mean confidence over items reaches tau, else 0."""
    mean_confidence = np.asarray(mean_confidence, dtype=np.float64)
    return mean_confidence if continuous else (mean_confidence >= tau).astype(np.float64)


def coefficient_of_variation(counts: sp.csr_matrix) -> np.ndarray:
    """(n_phrases,) std / mean of each phrase's counts over all items (zeros included)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    n = counts.shape[0]
    mean = np.asarray(counts.sum(axis=0)).ravel() / n
    mean_sq = np.asarray(counts.multiply(counts).sum(axis=0)).ravel() / n
    std = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    return np.divide(std, mean, out=np.zeros_like(mean), where=mean > 0)


def discrimination_ability(counts: sp.csr_matrix, tau: float, *, continuous: bool = False) -> np.ndarray:
    """DA of Eq. 5: 1 where the coefficient of variation reaches tau (continuous: CV / (1 + CV))."""
    cv = coefficient_of_variation(counts)
    return cv / (1.0 + cv) if continuous else (cv >= tau).astype(np.float64)


def joint_score(
    si: sp.csr_matrix,
    sn: np.ndarray,
    pv: np.ndarray,
    da: np.ndarray,
    *,
    use: Iterable[str] = SCORE_PARTS,
) -> sp.csr_matrix:
    """(n_items, n_phrases) G = SI * SN * PV * DA on the entries of ``si``; a part left out of
    ``use`` counts as 1 (the Figure 4 ablation)."""
    use = set(use)
    unknown = use - set(SCORE_PARTS)
    if unknown:
        raise ValueError(f"unknown score parts {sorted(unknown)}: choose from {SCORE_PARTS}")
    g = sp.csr_matrix(si, dtype=np.float64, copy=True)
    if "SI" not in use:
        g.data[:] = 1.0
    factor = np.ones(si.shape[1])
    for name, values in (("SN", sn), ("PV", pv), ("DA", da)):
        if name in use:
            factor = factor * np.asarray(values, dtype=np.float64)
    g.data = g.data * factor[g.indices]
    return g
