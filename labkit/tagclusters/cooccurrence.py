"""Tags that occur on the same items: counts, the normalised co-occurrence matrix, NPMI, and the
merging of m-correlated clusters (thesis, Sec. 7.5 and 8.1).

``items_by_tags`` is a binary (n_items, n_tags) matrix; everything here is sparse or dense matrix
algebra over it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..data.tagging import assignment_matrix  # noqa: F401 (the tables every clustering starts from)


def tag_counts(items_by_tags: sp.spmatrix) -> np.ndarray:
    """(n_tags,) number of items holding each tag."""
    return np.asarray((sp.csr_matrix(items_by_tags) > 0).sum(axis=0)).ravel()


def cooccurrence(items_by_tags: sp.spmatrix) -> np.ndarray:
    """(n_tags, n_tags) dense n_ij: items holding both tags (diagonal: n_i)."""
    y = (sp.csr_matrix(items_by_tags) > 0).astype(np.float64)
    return np.asarray((y.T @ y).toarray())


def normalized_cooccurrence(n: np.ndarray) -> np.ndarray:
    """C~_ij = n_ij / sqrt(n_i n_j) from a co-occurrence matrix (0 where a tag never occurs)."""
    d = np.sqrt(np.diag(n).astype(np.float64))
    outer = np.outer(d, d)
    return np.divide(n, outer, out=np.zeros_like(n, dtype=np.float64), where=outer > 0)


def npmi(items_by_tags: sp.spmatrix) -> np.ndarray:
    """(n_tags, n_tags) normalised pointwise mutual information (thesis Eq. 31):
    NPMI(i, j) = log(P(i) P(j)) / log P(i, j) - 1, with probabilities over items; -1 for tags
    that never co-occur, 1 on the diagonal and for tags on every item."""
    n_items = items_by_tags.shape[0]
    n = cooccurrence(items_by_tags)
    p = np.diag(n) / n_items
    pij = n / n_items
    out = np.full(n.shape, -1.0)
    together = pij > 0
    log_pij = np.log(np.where(together, pij, 1.0))
    log_pp = np.log(np.maximum(np.outer(p, p), 1e-300))
    certain = together & (log_pij == 0)  # P(i, j) = 1
    regular = together & ~certain
    out[regular] = log_pp[regular] / log_pij[regular] - 1.0
    out[certain] = 1.0
    return np.clip(out, -1.0, 1.0)


def cluster_membership(tag_cluster: np.ndarray, n_clusters: int | None = None) -> sp.csr_matrix:
    """(n_tags, n_clusters) binary CSR from one cluster index per tag (-1: no cluster)."""
    tag_cluster = np.asarray(tag_cluster)
    n_clusters = int(tag_cluster.max(initial=-1)) + 1 if n_clusters is None else n_clusters
    keep = tag_cluster >= 0
    rows = np.flatnonzero(keep)
    return sp.csr_matrix((np.ones(len(rows)), (rows, tag_cluster[keep])), shape=(len(tag_cluster), n_clusters))


def items_by_clusters(items_by_tags: sp.spmatrix, tag_cluster: np.ndarray) -> sp.csr_matrix:
    """(n_items, n_clusters) binary: an item holds a cluster when it holds one of its tags."""
    m = sp.csr_matrix(items_by_tags) @ cluster_membership(tag_cluster)
    return (m > 0).astype(np.float64).tocsr()


def m_correlated(n: np.ndarray, m: float) -> np.ndarray:
    """(n_clusters, n_clusters) bool: pairs with n_ij > min(n_i, n_j) / m (diagonal False)."""
    if m < 1:
        raise ValueError(f"m must be at least 1, got {m}")
    counts = np.diag(n)
    out = n > np.minimum.outer(counts, counts) / m
    np.fill_diagonal(out, False)
    return out


def merge_m_correlated(items_by_tags: sp.spmatrix, tag_cluster: np.ndarray, m: float = 1.5) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Merge every pair of m-correlated clusters (transitively); returns the new cluster per tag
    (renumbered from 0, -1 kept) and the merged pairs of old cluster indices."""
    tag_cluster = np.asarray(tag_cluster)
    n = cooccurrence(items_by_clusters(items_by_tags, tag_cluster))
    linked = m_correlated(n, m)
    pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(linked)))]
    _, component = connected_components(sp.csr_matrix(linked), directed=False)
    _, renumbered = np.unique(component, return_inverse=True)
    out = np.where(tag_cluster >= 0, renumbered[np.maximum(tag_cluster, 0)], -1)
    return out, pairs
