"""Tag clusters (thesis, Sec. 6-8): spherical k-means on tag embeddings, NPMI agglomerative
clustering, quality measures and k sweeps, co-occurrence and m-correlated merges, projections."""

from ..embed.projection import project
from ..kmeans import SphericalKMeans, cosine_objective
from .agglomerative import TreeClustering, cosine_distance, npmi_clusters, npmi_distance, remove_singletons, renumber_by_size, tree_clusters
from .cooccurrence import (
    assignment_matrix,
    cluster_membership,
    cooccurrence,
    items_by_clusters,
    m_correlated,
    merge_m_correlated,
    normalized_cooccurrence,
    npmi,
    tag_counts,
)
from .filtering import frequent_tags, keep_core_clusters
from .pipeline import TagClusters, cluster_tags, cluster_vectors
from .quality import best_k, k_sweep, silhouette, silhouette_per_point

__all__ = [
    "TreeClustering", "cosine_distance", "renumber_by_size", "tree_clusters", "SphericalKMeans", "TagClusters", "assignment_matrix", "best_k", "cluster_membership", "cluster_tags", "cluster_vectors",
    "cooccurrence", "cosine_objective", "frequent_tags", "items_by_clusters", "k_sweep", "keep_core_clusters", "m_correlated",
    "merge_m_correlated", "normalized_cooccurrence", "npmi", "npmi_clusters", "npmi_distance", "project", "remove_singletons",
    "silhouette", "silhouette_per_point", "tag_counts",
]
