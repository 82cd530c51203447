"""What a tag map shows, computed without any widget: distinct cluster colours for hundreds of
clusters, which tags get their name drawn, search by name with the nearest tags by cosine, the
old clusters each merged cluster came from, and a quick k-means for interactive re-clustering of
big maps. ``widgets.ClusterExplorer`` draws what these return."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from ..kmeans import SphericalKMeans
from ..sparse import unit_rows
from .agglomerative import cosine_distance, renumber_by_size, tree_clusters

# 20 well-separated colours first (Tableau 10 and its light variants, reordered so neighbours differ)
BASE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
UNCLUSTERED = "#d0d0d0"
QUICK_ABOVE = 5000  # maps with more tags than this re-cluster with quick k-means by default
AVERAGE_AT_MOST = 5000  # average linkage holds an n x n distance matrix: refused above this


def distinct_colours(n: int) -> list[str]:
    """n hex colours, pairwise distinct, the first 20 from a qualitative palette; beyond 20, hues
    step by the golden angle with lightness and saturation cycling over three levels each, so
    consecutive clusters never look alike and no colour repeats for n up to several thousand."""
    out = list(BASE_COLOURS[:n])
    seen = set(out)
    golden = 0.381966011250105  # 1 - 1/phi: successive hues as far apart as possible
    i = 0
    while len(out) < n:
        hue = (0.07 + i * golden) % 1.0
        lightness = (0.42, 0.58, 0.33)[(i // 3) % 3]
        saturation = (0.75, 0.55, 0.9)[i % 3]
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        colour = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if colour not in seen:
            out.append(colour)
            seen.add(colour)
        i += 1
    return out


def discrete_colourscale(colours: Sequence[str]) -> list[list]:
    """A plotly colourscale mapping the integers 0..len(colours)-1 (with cmin = -0.5 and cmax =
    len - 0.5) to ``colours``, one flat step each: colours by number, validated as one numeric array."""
    n = len(colours)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def labelled(counts: np.ndarray, selected: np.ndarray | None = None, *, max_labels: int = 40, max_selected: int = 60) -> np.ndarray:
    """(n,) bool: the tags whose names a map draws: every tag when there are at most
    ``max_labels``, else the ``max_labels`` most frequent plus the first ``max_selected`` selected
    ones (``selected``: (n,) bool), so a selection is readable on a map of any size."""
    counts = np.asarray(counts)
    n = len(counts)
    out = np.zeros(n, dtype=bool)
    if n <= max_labels:
        out[:] = True
    else:
        out[np.argsort(-counts, kind="stable")[:max_labels]] = True
    if selected is not None and selected.any():
        out[np.flatnonzero(selected)[:max_selected]] = True
    return out


def find_tags(tags: Sequence[str], query: str, *, limit: int = 20) -> list[int]:
    """Positions of the tags matching ``query`` (case-insensitive): the exact match first, then
    tags starting with it, then tags containing it, each group in the tags' order; at most ``limit``."""
    q = query.strip().casefold()
    if not q:
        return []
    folded = [str(t).casefold() for t in tags]
    exact = [i for i, t in enumerate(folded) if t == q]
    starts = [i for i, t in enumerate(folded) if t != q and t.startswith(q)]
    inside = [i for i, t in enumerate(folded) if q in t and not t.startswith(q)]
    return (exact + starts + inside)[:limit]


def nearest_tags(vectors: np.ndarray, position: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` tags nearest to tag ``position`` by cosine (itself excluded): (k,) positions and
    (k,) cosine similarities, most similar first. vectors: (n, d)."""
    unit = unit_rows(np.asarray(vectors, dtype=np.float32))
    sims = unit @ unit[position]
    sims[position] = -np.inf
    k = min(k, len(sims) - 1)
    top = np.argpartition(-sims, k - 1)[:k] if k > 0 else np.array([], dtype=np.int64)
    top = top[np.argsort(-sims[top], kind="stable")]
    return top, sims[top].astype(np.float64)


def merge_sources(old: np.ndarray, new: np.ndarray) -> dict[int, list[int]]:
    """For each new cluster made of two or more old ones, the old clusters it holds (sorted):
    ``{new: [old, ...]}``, read off two (n,) labelings of the same tags (-1: no cluster)."""
    old, new = np.asarray(old), np.asarray(new)
    keep = (old >= 0) & (new >= 0)
    pairs = np.unique(np.stack([new[keep], old[keep]], axis=1), axis=0) if keep.any() else np.empty((0, 2), dtype=np.int64)
    out: dict[int, list[int]] = {}
    for n_id, o_id in pairs:
        out.setdefault(int(n_id), []).append(int(o_id))
    return {n_id: olds for n_id, olds in out.items() if len(olds) > 1}


def map_clusters(vectors: np.ndarray, k: int, *, algorithm: str = "kmeans", quick: bool | None = None, seed: int = 0) -> np.ndarray:
    """(n,) cluster of each tag, numbered by size (0 = largest), for an interactive map: spherical
    k-means (4 restarts with first-variation refinement, or with ``quick`` one restart, plain
    k-means++ seeding and Lloyd iterations alone; default: quick above :data:`QUICK_ABOVE` tags), or average linkage on
    cosine distance (at most :data:`AVERAGE_AT_MOST` tags)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if algorithm == "kmeans":
        quick = len(vectors) > QUICK_ABOVE if quick is None else quick
        settings = dict(n_init=1, refine_rounds=0, init_trials=1) if quick else dict(n_init=4)
        return renumber_by_size(SphericalKMeans(n_clusters=k, random_state=seed, **settings).fit(vectors).labels_)
    if algorithm == "average":
        if len(vectors) > AVERAGE_AT_MOST:
            raise ValueError(f"average linkage holds an n x n distance matrix: at most {AVERAGE_AT_MOST} tags, not {len(vectors)} "
                             "(raise the count threshold or use kmeans)")
        return tree_clusters(cosine_distance(vectors), [k]).labels
    raise ValueError(f"unknown algorithm {algorithm!r}: use 'kmeans' or 'average'")
