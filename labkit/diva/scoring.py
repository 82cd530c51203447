"""DiVa's joint score (Eq. 3-6) and its parts, as array functions.

- SI, statistical importance: TF-IDF of the candidate in the item's comments (Eq. 9);
- SN, semantic novelty: 1 - the mean over m K-means runs of the largest cosine similarity
  between the candidate and a cluster centre of the current label set (Eq. 3);
- PV, practical value: the mean classifier confidence of the candidate over all items (Eq. 4);
- DA, discrimination ability: coefficient of variation of its counts across items (Eq. 5);
- G = SI * SN * PV * DA (Eq. 6). PV and DA are 0/1 against tau in the paper's form, or kept as
  continuous factors (PV itself, and DA squashed to [0, 1) as CV / (1 + CV)).

And the decision made with them, shared by :class:`labkit.diva.DiVa` and the joint-score tuner
(:mod:`labkit.diva.tuning`), so that both decide alike: which candidates are classifier
pseudo-labels (:func:`classifier_pseudo_labels`), each item's joint-score budget
(:func:`joint_budget`), and which candidates G takes (:func:`joint_pseudo_labels`, with
:func:`best_per_row` for the budget).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans

from ..metrics import top_k_indices
from ..sparse import canonical_csr, unit_rows

SCORE_PARTS = ("SI", "SN", "PV", "DA")


def tfidf(counts: sp.csr_matrix, idf: np.ndarray | None = None) -> sp.csr_matrix:
    """(n_items, n_phrases) TF-IDF of Eq. 9: count / item's total count * log(N / document frequency).

    idf: (n_phrases,) log(N / df) fitted on other items (a space's training items); default: over
    the rows of ``counts``."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    n_items = counts.shape[0]
    totals = np.asarray(counts.sum(axis=1)).ravel()
    if idf is None:
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
    return discrimination_from_cv(coefficient_of_variation(counts), tau, continuous=continuous)


def discrimination_from_cv(cv: np.ndarray, tau: float, *, continuous: bool = False) -> np.ndarray:
    """DA of Eq. 5 from ready coefficients of variation (:func:`coefficient_of_variation`)."""
    cv = np.asarray(cv, dtype=np.float64)
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


# ---------------------------------------------------------------------- the decision


def classifier_pseudo_labels(scores: sp.csr_matrix, known: sp.csr_matrix, threshold: float) -> sp.csr_matrix:
    """Binary canonical CSR: the stored entries of ``scores`` (classifier probabilities of
    candidate pairs) with probability >= ``threshold`` that are not ``known`` labels yet."""
    confident = scores.copy()
    confident.data = (confident.data >= threshold).astype(np.float64)
    return canonical_csr((confident - confident.multiply(known)) > 0)


def joint_budget(
    n_candidates: np.ndarray, n_gold: np.ndarray, *, budget: float, decay: float, round_: int, cap: int,
) -> np.ndarray:
    """(n_items,) how many joint-score pseudo-labels each item may take in round ``round_``:
    min((b n + g) / 2, b n) * decay^round, rounded, and never more than ``cap`` (n: the item's
    candidates, g: its gold labels, b: ``budget``)."""
    n_cand = np.asarray(n_candidates, dtype=np.float64)
    n_gold = np.asarray(n_gold, dtype=np.float64)
    out = np.minimum((budget * n_cand + n_gold) / 2, budget * n_cand)
    out = np.floor(out * decay**round_ + 0.5)
    return np.minimum(out, cap).astype(np.int64)


def best_per_row(g: sp.csr_matrix, budget: np.ndarray) -> sp.csr_matrix:
    """(shape of g) 0/1 CSR of each row's ``budget[row]`` best stored entries of ``g``, highest
    first (ties: the lower column)."""
    budget = np.asarray(budget, dtype=np.int64)
    top = top_k_indices(g, max(int(budget.max(initial=0)), 1))
    top[np.arange(top.shape[1])[None, :] >= budget[:, None]] = -1
    rows = np.repeat(np.arange(g.shape[0]), top.shape[1])
    keep = top.ravel() >= 0
    return sp.csr_matrix((np.ones(keep.sum()), (rows[keep], top.ravel()[keep])), shape=g.shape)


def joint_pseudo_labels(
    g: sp.csr_matrix, taken: sp.csr_matrix, *, threshold: float, n_gold: int | None = None, budget: np.ndarray | None = None,
) -> sp.csr_matrix:
    """0/1 CSR of the pseudo-labels G gives: stored entries of ``g`` (the joint score of candidate
    pairs) that are not ``taken`` (labels, classifier proposals), outside the first ``n_gold``
    phrase columns (the gold vocabulary) unless ``n_gold`` is None, with G >= ``threshold`` and
    G > 0; with ``budget`` ((n_rows,) ints) only each row's best ``budget[row]`` of them."""
    g = canonical_csr(g - g.multiply(taken))
    if n_gold is not None:
        g.data[g.indices < n_gold] = 0.0
    g.data[g.data < threshold] = 0.0
    g.eliminate_zeros()
    if budget is None:
        g.data[:] = 1.0
        return g
    return best_per_row(g, budget)
