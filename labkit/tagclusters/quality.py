"""How good a clustering is: within-cluster distance and silhouette (thesis, Sec. 4.3), and a
sweep over k that reports both."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_samples, silhouette_score
from tqdm.auto import tqdm

from ..kmeans import SphericalKMeans


def silhouette(x: np.ndarray, labels: np.ndarray, *, metric: str = "cosine", sample_size: int | None = 5000, seed: int = 0) -> float:
    """Mean silhouette of the points (cosine distance by default; ``metric="precomputed"`` takes a
    distance matrix). Past ``sample_size`` points a random sample is scored. NaN with fewer than
    two clusters or as many clusters as points."""
    n_labels = len(np.unique(labels))
    if not 2 <= n_labels <= len(labels) - 1:
        return float("nan")
    if sample_size is not None and len(labels) > sample_size and metric != "precomputed":
        return float(silhouette_score(x, labels, metric=metric, sample_size=sample_size, random_state=seed))
    return float(silhouette_score(x, labels, metric=metric))


def silhouette_per_point(x: np.ndarray, labels: np.ndarray, *, metric: str = "cosine") -> np.ndarray:
    """(n,) silhouette function s(i) of every point (NaN everywhere when undefined)."""
    if not 2 <= len(np.unique(labels)) <= len(labels) - 1:
        return np.full(len(labels), np.nan)
    return silhouette_samples(x, labels, metric=metric)


def k_sweep(
    x: np.ndarray, ks: Iterable[int], *, n_init: int = 4, seed: int = 0, sample_size: int | None = 5000, progress: bool = True,
) -> tuple[pd.DataFrame, dict[int, SphericalKMeans]]:
    """Spherical k-means for each k: a table with columns ``k``, ``within`` (mean cosine distance
    to the own centre), ``silhouette`` (cosine), ``iterations``; and the fitted models by k.
    Values of k outside [2, n - 1] are skipped."""
    rows, models = [], {}
    ks = [k for k in dict.fromkeys(int(k) for k in ks) if 2 <= k <= len(x) - 1]
    if not ks:
        raise ValueError(f"no k to try: every k must lie in [2, {len(x) - 1}] for {len(x)} points")
    for k in tqdm(ks, desc="k sweep", disable=not progress):
        model = SphericalKMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
        models[k] = model
        rows.append({
            "k": k, "within": model.objective_ / len(x),
            "silhouette": silhouette(x, model.labels_, sample_size=sample_size, seed=seed), "iterations": model.n_iter_,
        })
    return pd.DataFrame(rows), models


def best_k(sweep: pd.DataFrame) -> int:
    """The k of largest silhouette in a sweep table (the smallest such k on ties)."""
    valid = sweep.dropna(subset=["silhouette"])
    if valid.empty:
        raise ValueError("no k of the sweep has a defined silhouette")
    return int(valid.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
