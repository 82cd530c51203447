"""2-D or 3-D projections of embeddings (UMAP, PCA, t-SNE) as tables ready for plotting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

METHODS = ("umap", "pca", "tsne")
AXES = ("x", "y", "z")


def project(
    vectors: np.ndarray, *, method: str = "umap", dim: int = 2, seed: int = 0, metric: str = "cosine",
    labels: Sequence[str] | None = None, **options,
) -> pd.DataFrame:
    """(n, dim) -> a DataFrame with columns ``x``, ``y`` (and ``z`` when dim = 3), plus ``label``
    when ``labels`` are given. UMAP and t-SNE use cosine distance by default; extra keyword
    options go to the projector (``n_neighbors``, ``perplexity``, ...). Same seed, same table."""
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}: choose from {METHODS}")
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, got {dim}")
    x = np.asarray(vectors, dtype=np.float32)
    if len(x) <= dim:
        raise ValueError(f"{len(x)} points are too few to project to {dim} dimensions")
    if method == "pca":
        from sklearn.decomposition import PCA

        coords = PCA(n_components=dim, random_state=seed).fit_transform(x)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = options.pop("perplexity", min(30.0, (len(x) - 1) / 3))
        coords = TSNE(n_components=dim, metric=metric, init="pca", perplexity=perplexity, random_state=seed, **options).fit_transform(x)
    else:
        import umap

        n_neighbors = options.pop("n_neighbors", min(15, len(x) - 1))
        coords = umap.UMAP(n_components=dim, metric=metric, n_neighbors=n_neighbors, random_state=seed, **options).fit_transform(x)
    table = pd.DataFrame(np.asarray(coords, dtype=np.float64), columns=list(AXES[:dim]))
    if labels is not None:
        table.insert(0, "label", list(labels))
    return table
