"""From a score matrix to ranked predictions: thresholds, top-k, and nested phrases suppressed.
Shared by ``harvest`` and the :class:`~labkit.diva.harvester.Harvester`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ..data.jsonl import Prediction
from ..embed.space import CandidateSpace
from ..metrics import top_k_indices
from ..sparse import canonical_csr, lookup


def suppress_nested(labels: Sequence[str], lang: str = "en") -> list[int]:
    """Positions of the labels to keep, best first: a label nested in (or holding) a better-ranked
    kept label ("piano" / "mellow piano melody") is dropped. English compares whole words,
    Chinese characters."""
    kept: list[int] = []
    padded = [f" {label} " if lang == "en" else label for label in labels]
    for i, label in enumerate(padded):
        if not any(label in padded[j] or padded[j] in label for j in kept):
            kept.append(i)
    return kept


def to_predictions(
    ids: Sequence[str], scores: sp.csr_matrix, space: CandidateSpace, *, threshold: float | None,
    top_k: int | None = None, nested: bool = False,
) -> list[Prediction]:
    """Ranked predictions from a score matrix whose rows match ``ids``: every candidate with a
    score >= threshold, best first, at most ``top_k`` of them (or the top_k best when
    ``threshold`` is None); with ``nested=True`` phrases nested in a better-scored predicted
    phrase are dropped (before the top_k cut)."""
    scores = sp.csr_matrix(scores)
    if threshold is not None:
        kept = scores.copy()
        kept.data[kept.data < threshold] = 0.0
        kept.eliminate_zeros()
        width = int(np.diff(kept.indptr).max(initial=0)) or 1
    else:
        kept, width = scores, top_k or 5
    top = top_k_indices(kept, width)
    values = lookup(canonical_csr(kept), np.broadcast_to(np.arange(len(ids))[:, None], top.shape), top)
    out = []
    for i, item_id in enumerate(ids):
        valid = top[i] >= 0
        labels = [space.phrases[int(j)] for j in top[i][valid]]
        keep = suppress_nested(labels, space.lang) if nested else range(len(labels))
        if threshold is not None and top_k is not None:
            keep = list(keep)[:top_k]
        out.append(Prediction(item_id, tuple(labels[k] for k in keep), tuple(float(values[i][valid][k]) for k in keep)))
    return out
