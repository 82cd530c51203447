"""Label harvesting by plain string matching: the reference points every method must beat.

- ``vocabulary_match``: the gold-vocabulary entries that occur in an item's comments;
- ``all_candidates``: every candidate phrase of the comments (the ceiling of recall).
Both rank labels by how often they occur in the item's comments (ties: first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ..metrics.ranking import top_k_indices
from ..text.candidates import corpus_candidates


def _ranked_lists(counts: sp.csr_matrix, tokens: Sequence[str], keep: np.ndarray) -> list[list[str]]:
    kept = sp.csr_matrix(counts.multiply(keep[None, :].astype(np.float32)))
    kept.eliminate_zeros()
    width = int(np.diff(kept.indptr).max(initial=0))
    if width == 0:
        return [[] for _ in range(kept.shape[0])]
    # Rank by count, earlier phrase (first occurrence in the corpus) first among ties.
    kept.data = kept.data + 1e-6 * (1.0 - kept.indices / max(len(tokens), 1))
    top = top_k_indices(kept, width)
    return [[tokens[j] for j in row if j >= 0] for row in top]


def vocabulary_match(texts: Sequence[Sequence[str]], vocabulary: Iterable[str], *, lang: str = "auto") -> list[list[str]]:
    """Per item, the vocabulary labels that occur as candidate phrases in its comments, ranked."""
    vocab_list = list(dict.fromkeys(vocabulary))
    phrases, counts = corpus_candidates(texts, lang=lang, extra=vocab_list)
    keep = np.zeros(len(phrases), dtype=bool)
    keep[: len(vocab_list)] = True
    return _ranked_lists(counts, phrases.tokens, keep)


def all_candidates(texts: Sequence[Sequence[str]], *, lang: str = "auto") -> list[list[str]]:
    """Per item, all its candidate phrases, ranked by count."""
    phrases, counts = corpus_candidates(texts, lang=lang)
    return _ranked_lists(counts, phrases.tokens, np.ones(len(phrases), dtype=bool))
