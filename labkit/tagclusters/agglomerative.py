"""Agglomerative clustering on a distance matrix: one linkage tree, cut at every k of a range, the
cut of largest silhouette kept.

- tags by co-occurrence (thesis, Sec. 8.1): distance 1 - NPMI, average linkage, k from 5 to 20,
  singletons removed (:func:`npmi_clusters`);
- tag embeddings: distance 1 - cosine, average linkage (:func:`cosine_distance`), a deterministic
  alternative to spherical k-means that keeps near-synonyms together at every cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from ..sparse import unit_rows
from .quality import silhouette

MAX_POINTS = 20_000  # a dense distance matrix past this takes gigabytes


@dataclass
class TreeClustering:
    """labels: (n,) cluster per point, -1 for removed singletons; k: the chosen cut (before
    singletons went); sweep: clusters, silhouette and singletons per k tried; distance: (n, n)."""

    labels: np.ndarray
    k: int
    sweep: pd.DataFrame
    distance: np.ndarray


def npmi_distance(npmi_matrix: np.ndarray) -> np.ndarray:
    """d(i, j) = 1 - NPMI(i, j) (thesis Eq. 32), exactly symmetric with a zero diagonal."""
    return _clean_distance(1.0 - np.asarray(npmi_matrix, dtype=np.float64))


def cosine_distance(vectors: np.ndarray) -> np.ndarray:
    """(n, n) 1 - cos between the rows of ``vectors`` (n, dim)."""
    if len(vectors) > MAX_POINTS:
        raise ValueError(f"{len(vectors)} points: a dense distance matrix needs too much memory past {MAX_POINTS}; use spherical k-means")
    x = unit_rows(vectors, dtype=np.float64)
    return _clean_distance(1.0 - x @ x.T)


def _clean_distance(d: np.ndarray) -> np.ndarray:
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return np.clip(d, 0.0, 2.0)


def remove_singletons(labels: np.ndarray) -> np.ndarray:
    """Labels with every one-member cluster set to -1 and the rest renumbered 0..k-1 by size."""
    return renumber_by_size(labels, min_size=2)


def renumber_by_size(labels: np.ndarray, *, min_size: int = 1) -> np.ndarray:
    """Clusters renumbered 0..k-1, largest first (ties: first label first); clusters smaller than
    ``min_size`` become -1."""
    labels = np.asarray(labels)
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    big = counts >= min_size
    kept = ids[big][np.argsort(-counts[big], kind="stable")]
    new = np.full(int(labels.max(initial=-1)) + 1, -1)
    new[kept] = np.arange(len(kept))
    return np.where(labels >= 0, new[np.maximum(labels, 0)], -1)


def tree_clusters(
    distance: np.ndarray, ks: Iterable[int], *, method: str = "average", drop_singletons: bool = False,
) -> TreeClustering:
    """Cut one linkage tree over ``distance`` (n, n) at every k of ``ks``; keep the cut of largest
    silhouette (the smallest k on ties); optionally remove singletons."""
    n = len(distance)
    ks = [k for k in dict.fromkeys(int(k) for k in ks) if 2 <= k <= n - 1]
    if not ks:
        raise ValueError(f"no k to try: every k must lie in [2, {n - 1}] for {n} points")
    tree = linkage(squareform(distance, checks=False), method=method)
    rows, cuts = [], {}
    for k in ks:
        labels = fcluster(tree, t=k, criterion="maxclust") - 1
        cuts[k] = labels
        rows.append({"k": k, "clusters": len(np.unique(labels)), "silhouette": silhouette(distance, labels, metric="precomputed"),
                     "singletons": int((np.bincount(labels) == 1).sum())})
    sweep = pd.DataFrame(rows)
    valid = sweep.dropna(subset=["silhouette"])
    if valid.empty:
        raise ValueError("no cut of the tree has a defined silhouette (all points in one cluster or all apart)")
    k = int(valid.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
    labels = remove_singletons(cuts[k]) if drop_singletons else renumber_by_size(cuts[k])
    return TreeClustering(labels, k, sweep, distance)


def npmi_clusters(npmi_matrix: np.ndarray, ks: Iterable[int] = range(5, 21), *, method: str = "average") -> TreeClustering:
    """The thesis' NPMI clustering: 1 - NPMI, average linkage, best silhouette over ``ks``,
    singletons removed."""
    return tree_clusters(npmi_distance(npmi_matrix), ks, method=method, drop_singletons=True)
