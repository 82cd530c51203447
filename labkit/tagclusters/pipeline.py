"""From (item, tag) assignments to tag clusters in one call: what ``labkit clusters`` runs.

method ``"embed"``: count filter -> tag vectors -> spherical k-means (k given, or chosen by
silhouette over a sweep), or with ``algorithm="average"`` an average-linkage tree on cosine
distance cut at the k of best silhouette -> optional core-tag filter and m-correlated merge.
method ``"npmi"``: count filter -> NPMI -> average-linkage tree cut at the k of best silhouette ->
singletons removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..kmeans import SphericalKMeans
from .agglomerative import cosine_distance, npmi_clusters, renumber_by_size, tree_clusters
from .cooccurrence import assignment_matrix, merge_m_correlated, npmi, tag_counts
from .filtering import frequent_tags, keep_core_clusters
from .quality import best_k, k_sweep, silhouette, silhouette_per_point
from .vectors import TagVectors, cooccurrence_embeddings, embed_tags

EMBED_KS = (5, 10, 20, 50, 100, 200)
NPMI_KS = tuple(range(5, 21))


@dataclass
class TagClusters:
    """table: one row per kept tag (columns ``tag``, ``cluster``, ``count``, ``silhouette``),
    sorted by cluster then count; sweep: the k tried with their scores; k: the k used;
    unknown: tags left out because no word of theirs had a vector; merged: pairs of clusters merged
    as m-correlated; vectors: the tag vectors (method "embed")."""

    table: pd.DataFrame
    sweep: pd.DataFrame
    k: int
    method: str
    n_tags_counted: int
    unknown: list[str] = field(default_factory=list)
    merged: list[tuple[int, int]] = field(default_factory=list)
    vectors: TagVectors | None = None

    def members(self) -> dict[int, list[str]]:
        """Cluster -> its tags, most frequent first."""
        return {int(c): list(g["tag"]) for c, g in self.table.groupby("cluster", sort=True)}


def cluster_vectors(vectors: np.ndarray, k: int, *, algorithm: str = "kmeans", n_init: int = 4, seed: int = 0) -> np.ndarray:
    """(n,) cluster of each vector, numbered by size (0 = largest): spherical k-means, or average
    linkage on cosine distance cut at ``k`` (``algorithm="average"``; O(n^2) memory)."""
    if algorithm == "kmeans":
        return renumber_by_size(SphericalKMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(vectors).labels_)
    if algorithm == "average":
        return tree_clusters(cosine_distance(vectors), [k]).labels
    raise ValueError(f"unknown algorithm {algorithm!r}: use 'kmeans' or 'average'")


def _as_ks(k: int | Iterable[int] | None, default: Sequence[int]) -> list[int]:
    if k is None:
        return list(default)
    if isinstance(k, (int, np.integer)):
        return [int(k)]
    return [int(v) for v in k]


def cluster_tags(
    assignments: pd.DataFrame,
    *,
    method: str = "embed",
    encoder=None,
    cooccurrence_vectors: bool = False,
    algorithm: str = "kmeans",
    k: int | Iterable[int] | None = None,
    min_count: int = 10,
    core_tags: Iterable[str] | None = None,
    merge_m: float | None = None,
    n_init: int = 4,
    seed: int = 0,
    progress: bool = True,
) -> TagClusters:
    """Cluster the tags of an (item, tag) table (columns ``item``, ``tag``).

    encoder: what embeds tags for ``method="embed"`` (an object with ``encode``); with
    ``cooccurrence_vectors=True`` the tag skip-gram on the assignments is used instead.
    algorithm: ``"kmeans"`` (spherical k-means) or ``"average"`` (average linkage on cosine
    distance, deterministic) for ``method="embed"``.
    k: one k, several (the best silhouette wins), or None for the defaults (embed: 5-200,
    npmi: 5-20). min_count: tags on fewer items are left out. core_tags: keep only clusters
    holding one of them. merge_m: merge m-correlated clusters (thesis: 1.5).
    """
    if method not in ("embed", "npmi"):
        raise ValueError(f"unknown clustering method {method!r}: use 'embed' or 'npmi'")
    if algorithm not in ("kmeans", "average"):
        raise ValueError(f"unknown algorithm {algorithm!r}: use 'kmeans' or 'average'")
    if assignments.empty:
        raise ValueError("no (item, tag) assignments to cluster")
    _, vocab, y = assignment_matrix(assignments)
    counts = tag_counts(y)
    keep = frequent_tags(counts, min_count)
    if len(keep) < 3:
        raise ValueError(f"only {len(keep)} tag(s) occur on at least {min_count} items: lower --min-count")
    tags = [vocab.tokens[i] for i in keep]
    y, counts = y[:, keep], counts[keep]
    unknown: list[str] = []
    vectors = None
    if method == "npmi":
        result = npmi_clusters(npmi(y), _as_ks(k, NPMI_KS))
        labels, sweep, chosen = result.labels, result.sweep, result.k
        distance = result.distance
    else:
        if cooccurrence_vectors:
            vectors = cooccurrence_embeddings(y, tags, seed=seed, progress=progress)
        else:
            if encoder is None:
                raise ValueError("method 'embed' needs an encoder (or cooccurrence_vectors=True)")
            vectors = embed_tags(tags, encoder)
        unknown = list(vectors.unknown)
        known = vectors.known
        vectors = vectors.subset(known)
        tags, y, counts = vectors.tags, y[:, np.flatnonzero(known)], counts[known]
        ks = _as_ks(k, EMBED_KS)
        if algorithm == "average":
            tree = tree_clusters(cosine_distance(vectors.vectors), ks)
            labels, sweep, chosen = tree.labels, tree.sweep, tree.k
        elif len(ks) == 1:
            model = SphericalKMeans(n_clusters=ks[0], n_init=n_init, random_state=seed).fit(vectors.vectors)
            sweep = pd.DataFrame([{"k": ks[0], "within": model.objective_ / len(tags), "silhouette": silhouette(vectors.vectors, model.labels_, seed=seed), "iterations": model.n_iter_}])
            chosen = ks[0]
        else:
            sweep, models = k_sweep(vectors.vectors, ks, n_init=n_init, seed=seed, progress=progress)
            chosen = best_k(sweep)
            model = models[chosen]
        if algorithm == "kmeans":
            labels = renumber_by_size(model.labels_)
        distance = None
    merged: list[tuple[int, int]] = []
    if core_tags is not None:
        labels = keep_core_clusters(labels, tags, core_tags)
    if merge_m is not None:
        labels, merged = merge_m_correlated(y, labels, merge_m)
    sil = np.full(len(tags), np.nan)  # of the final clusters (after the core filter and merges)
    clustered = labels >= 0
    if len(np.unique(labels[clustered])) >= 2:
        if distance is not None:
            sil[clustered] = silhouette_per_point(distance[np.ix_(clustered, clustered)], labels[clustered], metric="precomputed")
        else:
            sil[clustered] = silhouette_per_point(vectors.vectors[clustered], labels[clustered])
    table = pd.DataFrame({"tag": tags, "cluster": labels, "count": counts, "silhouette": sil})
    table = table[table["cluster"] >= 0].sort_values(["cluster", "count", "tag"], ascending=[True, False, True], kind="stable")
    return TagClusters(table.reset_index(drop=True), sweep, chosen, method, len(keep), unknown, merged, vectors)
