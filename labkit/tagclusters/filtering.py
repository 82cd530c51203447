"""Which tags and clusters to keep: count thresholds and clusters that hold a core tag (thesis,
Sec. 7.2: drop tags under 100 or 500 counts; keep the clusters holding one of the top tags)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def frequent_tags(counts: np.ndarray, min_count: int) -> np.ndarray:
    """Indices of the tags with at least ``min_count`` items, most frequent first (stable)."""
    counts = np.asarray(counts)
    keep = np.flatnonzero(counts >= min_count)
    return keep[np.argsort(-counts[keep], kind="stable")]


def keep_core_clusters(tag_cluster: np.ndarray, tags: Sequence[str], core: Iterable[str]) -> np.ndarray:
    """Cluster per tag with every cluster that holds none of the ``core`` tags set to -1."""
    tag_cluster = np.asarray(tag_cluster)
    core = set(core)
    is_core = np.array([t in core for t in tags], dtype=bool)
    kept = np.unique(tag_cluster[is_core & (tag_cluster >= 0)])
    return np.where(np.isin(tag_cluster, kept), tag_cluster, -1)
