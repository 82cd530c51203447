"""The candidate space of a corpus: every item's candidate phrases with occurrence counts, the
item (comment) vectors and one static vector per phrase, computed once and cached.

With a transformer encoder, one pass over the items gives both: the pooled vector of each item's
comments, and for each phrase the mean of its contextual token vectors over all its occurrences
(the idea of X2Static: static vectors distilled from a contextual model). Phrases that never occur
(gold-vocabulary entries absent from the comments) are encoded on their own. With a static encoder,
items and phrases are both normalised sums of word vectors.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data.vocab import Vocabulary
from ..sparse import unit_rows
from ..text.candidates import LEFT_CONTEXTS, RIGHT_CONTEXTS, candidate_occurrences
from ..text.language import detect_language
from ..text.normalize import normalize
from .cache import default_cache_dir


@dataclass
class CandidateSpace:
    """Items x candidate phrases.

    phrases: phrase vocabulary, the ``n_gold`` gold-vocabulary entries first.
    counts: (n_items, n_phrases) CSR, occurrences of each phrase in each item's comments.
    comment_share: (n_items, n_phrases) CSR, share of the item's comments that contain the phrase.
    item_vectors: (n_items, dim) float32, unit rows. phrase_vectors: (n_phrases, dim) float32.
    pair_context: (counts.nnz, context_dim) float32 or None: for each stored entry of ``counts`` (in
    canonical CSR order), the mean contextual vector of the phrase's occurrences in that item,
    reduced by PCA (transformer encoders only): how the phrase is used there.
    pair_bounds: (counts.nnz, BOUND_FEATURES) float32 or None: for each stored entry, how its
    occurrences are bounded, averaged over them (see :func:`boundary_features`).
    """

    phrases: Vocabulary
    n_gold: int
    counts: sp.csr_matrix
    comment_share: sp.csr_matrix
    item_vectors: np.ndarray
    phrase_vectors: np.ndarray
    lang: str
    pair_context: np.ndarray | None = None
    pair_bounds: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return self.counts.shape[0]


def _space_key(encoder_id: str, comments: Sequence[Sequence[str]], gold: Sequence[str], lang: str, max_words: int) -> str:
    h = hashlib.sha1()
    for part in (encoder_id, lang, str(max_words), "\x1f".join(gold)):
        h.update(part.encode())
        h.update(b"\x1e")
    for item in comments:
        h.update("\x1f".join(item).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def build_candidate_space(
    comments: Sequence[Sequence[str]],
    gold_vocabulary: Sequence[str],
    encoder,
    *,
    lang: str = "auto",
    max_words: int | None = None,
    cache: bool = True,
    context_dim: int = 32,
) -> CandidateSpace:
    """Candidate phrases, occurrence statistics and vectors of ``comments`` (one list per item)."""
    if lang == "auto":
        lang = detect_language(["\n".join(c) for c in comments[:2000]])
    max_words = max_words or (3 if lang == "en" else 2)
    gold = list(dict.fromkeys(gold_vocabulary))
    path = None
    if cache:
        encoder_key = getattr(encoder, "cache_id", None) or encoder.encoder_id  # trained vectors: their seed and texts too
        key = _space_key(f"{encoder_key}:context={context_dim}:bounds=1:candidates=2", comments, gold, lang, max_words)
        path = default_cache_dir() / "spaces" / f"{key}.npz"
        if path.exists():
            return _load(path, lang)
    index: dict[str, int] = {g: i for i, g in enumerate(gold)}
    docs: list[str] = []
    occ_item, occ_phrase, occ_start, occ_end, share_rows, share_cols, share_vals = [], [], [], [], [], [], []
    occ_left, occ_right, occ_whole, left_words, right_words = [], [], [], [], []
    for i, item_comments in enumerate(comments):
        normed = [normalize(c) for c in item_comments if c.strip()]
        offset, seen_share = 0, {}
        for comment in normed:
            seen_here = set()
            for occ in candidate_occurrences(comment, lang=lang, max_words=max_words):
                j = index.setdefault(occ.phrase, len(index))
                occ_item.append(i)
                occ_phrase.append(j)
                occ_start.append(offset + occ.start)
                occ_end.append(offset + occ.end)
                occ_left.append(occ.left)
                occ_right.append(occ.right)
                occ_whole.append(occ.whole_item)
                left_words.append(occ.left_word)
                right_words.append(occ.right_word)
                seen_here.add(j)
            for j in seen_here:
                seen_share[j] = seen_share.get(j, 0) + 1
            offset += len(comment) + 1
        for j, c in seen_share.items():
            share_rows.append(i)
            share_cols.append(j)
            share_vals.append(c / max(len(normed), 1))
        docs.append("\n".join(normed))
    n, p = len(comments), len(index)
    occ_item, occ_phrase = np.array(occ_item, dtype=np.int64), np.array(occ_phrase, dtype=np.int64)
    counts = sp.csr_matrix((np.ones(len(occ_item), np.float32), (occ_item, occ_phrase)), shape=(n, p))
    counts.sum_duplicates()  # canonical: sorted indices, the order pair_context follows
    share = sp.csr_matrix((np.array(share_vals, np.float32), (share_rows, share_cols)), shape=(n, p))
    phrases = Vocabulary(index)
    pair_context = None
    if hasattr(encoder, "iter_token_batches"):
        item_vectors, phrase_vectors, pair_context = _contextual(
            encoder, docs, phrases, occ_item, occ_phrase, np.array(occ_start), np.array(occ_end), counts, context_dim
        )
    else:
        item_vectors = encoder.encode(docs)
        phrase_vectors = encoder.encode(phrases.tokens)
    item_vectors, phrase_vectors = unit_rows(item_vectors), unit_rows(phrase_vectors)
    neighbours = np.array([[index.get(w, -1) for w in pair] for pair in zip(left_words, right_words)], dtype=np.int64).reshape(-1, 2)
    pair_bounds = boundary_features(
        counts, occ_item, occ_phrase, np.array(occ_left, np.int64), np.array(occ_right, np.int64),
        np.array(occ_whole, bool), neighbours, phrase_vectors, [" " not in p and len(p) > 0 for p in phrases.tokens] if lang == "en" else None,
    )
    space = CandidateSpace(phrases, len(gold), counts, share, item_vectors, phrase_vectors, lang, pair_context, pair_bounds)
    if path is not None:
        _save(path, space)
    return space


def _contextual(encoder, docs, phrases, occ_item, occ_phrase, occ_start, occ_end, counts, context_dim):
    """Pooled item vectors; per phrase the mean contextual vector of all its occurrences; per
    (item, phrase) entry of ``counts`` the mean of its occurrences there, PCA-reduced."""
    dim = encoder.dim
    item_vectors = np.zeros((len(docs), dim), dtype=np.float32)
    sums = np.zeros((len(phrases), dim), dtype=np.float64)
    hits = np.zeros(len(phrases), dtype=np.int64)
    # position of each occurrence's (item, phrase) entry in the canonical counts matrix
    entry_rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
    entry_keys = entry_rows * counts.shape[1] + counts.indices
    occ_entry = np.searchsorted(entry_keys, occ_item * counts.shape[1] + occ_phrase)
    pair_sums = np.zeros((counts.nnz, dim), dtype=np.float32)
    pair_hits = np.zeros(counts.nnz, dtype=np.int64)
    order = np.argsort(occ_item, kind="stable")
    bounds = np.searchsorted(occ_item[order], np.arange(len(docs) + 1))
    for rows, pooled, vectors, offsets in encoder.iter_token_batches(docs):
        item_vectors[rows] = pooled
        for r, vecs, spans in zip(rows, vectors, offsets):
            occ = order[bounds[r] : bounds[r + 1]]
            if not len(occ) or not len(vecs):
                continue
            lo = np.searchsorted(spans[:, 1], occ_start[occ], side="right")
            hi = np.searchsorted(spans[:, 0], occ_end[occ], side="left")
            ok = hi > lo  # occurrences cut off by truncation have no tokens
            cum = np.vstack([np.zeros((1, dim)), np.cumsum(vecs, axis=0, dtype=np.float64)])
            means = (cum[hi[ok]] - cum[lo[ok]]) / (hi[ok] - lo[ok])[:, None]
            np.add.at(sums, occ_phrase[occ][ok], means)
            np.add.at(hits, occ_phrase[occ][ok], 1)
            np.add.at(pair_sums, occ_entry[occ][ok], means.astype(np.float32))
            np.add.at(pair_hits, occ_entry[occ][ok], 1)
    phrase_vectors = np.zeros((len(phrases), dim), dtype=np.float32)
    seen = hits > 0
    phrase_vectors[seen] = sums[seen] / hits[seen, None]
    unseen = np.flatnonzero(~seen)
    if len(unseen):
        phrase_vectors[unseen] = encoder.encode([phrases[j] for j in unseen])
    pair_context = None
    if context_dim and counts.nnz:
        pair_sums /= np.maximum(pair_hits, 1)[:, None]
        pair_context = _pca(pair_sums, min(context_dim, dim), seen_rows=pair_hits > 0)
    return item_vectors, phrase_vectors, pair_context


BOUND_FEATURES = len(LEFT_CONTEXTS) + len(RIGHT_CONTEXTS) + 1 + 2 * 8


def boundary_features(
    counts: sp.csr_matrix, occ_item: np.ndarray, occ_phrase: np.ndarray, left: np.ndarray, right: np.ndarray,
    whole: np.ndarray, neighbours: np.ndarray, phrase_vectors: np.ndarray, word_rows=None, neighbour_dim: int = 8,
) -> np.ndarray:
    """(counts.nnz, 13 + 2 * neighbour_dim) float32 (BOUND_FEATURES with the default neighbour_dim):
    per (item, phrase) entry, the mean over its occurrences
    of: the left and right context classes (one-hot, LEFT_CONTEXTS / RIGHT_CONTEXTS), whether
    it is a whole list item, and the vectors of the content words just before and after it (the
    phrase vectors of those words, PCA-reduced to ``neighbour_dim``; zeros where the neighbour is
    a stopword, punctuation or an end).

    These say whether a phrase stands alone in its comment ("..., mellow piano melody, ...") or
    is part of a longer phrase ("strong bass" holds "bass"), which the phrase's own vector cannot.
    occ_*: (n_occurrences,) arrays; neighbours: (n_occurrences, 2) phrase indices or -1;
    word_rows: (n_phrases,) bool, the phrases that are single words (default: all).
    """
    n_left, n_right = len(LEFT_CONTEXTS), len(RIGHT_CONTEXTS)
    out = np.zeros((counts.nnz, n_left + n_right + 1 + 2 * neighbour_dim), dtype=np.float32)
    if not counts.nnz or not len(occ_item):
        return out
    entry_rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
    entry = np.searchsorted(entry_rows * counts.shape[1] + counts.indices, occ_item * counts.shape[1] + occ_phrase)
    per_occ = np.zeros((len(occ_item), out.shape[1]), dtype=np.float32)
    per_occ[np.arange(len(left)), left] = 1.0
    per_occ[np.arange(len(right)), n_left + right] = 1.0
    per_occ[:, n_left + n_right] = whole
    rows = np.ones(len(phrase_vectors), bool) if word_rows is None else np.asarray(word_rows, bool)
    if rows.sum() > neighbour_dim:
        projected = np.vstack([_pca(phrase_vectors, neighbour_dim, seen_rows=rows), np.zeros((1, neighbour_dim), np.float32)])
        base = n_left + n_right + 1
        per_occ[:, base : base + neighbour_dim] = projected[neighbours[:, 0]]  # -1 picks the zero row
        per_occ[:, base + neighbour_dim :] = projected[neighbours[:, 1]]
    # the mean over each entry's occurrences, as one sparse (entries x occurrences) product
    n_occ = np.bincount(entry, minlength=counts.nnz)
    average = sp.csr_matrix((1.0 / n_occ[entry], (entry, np.arange(len(entry)))), shape=(counts.nnz, len(entry)), dtype=np.float32)
    out[:] = average @ per_occ
    return out


def _pca(x: np.ndarray, k: int, *, seen_rows: np.ndarray, sample: int = 50_000, seed: int = 0) -> np.ndarray:
    """Rows of x projected on their top-k principal axes (fitted on a sample), scaled to unit
    variance overall; rows not in ``seen_rows`` stay zero."""
    rng = np.random.default_rng(seed)
    fit_rows = np.flatnonzero(seen_rows)
    if len(fit_rows) > sample:
        fit_rows = rng.choice(fit_rows, sample, replace=False)
    mean = x[fit_rows].mean(axis=0)
    _, _, vt = np.linalg.svd(x[fit_rows] - mean, full_matrices=False)
    out = (x - mean) @ vt[:k].T
    scale = out[fit_rows].std() or 1.0
    out = (out / scale).astype(np.float32)
    out[~seen_rows] = 0.0
    return out


def _save(path: Path, space: CandidateSpace) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        phrases=np.array(space.phrases.tokens, dtype=object).astype(str),
        n_gold=space.n_gold,
        counts_data=space.counts.data, counts_indices=space.counts.indices, counts_indptr=space.counts.indptr,
        share_data=space.comment_share.data, share_indices=space.comment_share.indices,
        share_indptr=space.comment_share.indptr, shape=np.array(space.counts.shape),
        item_vectors=space.item_vectors, phrase_vectors=space.phrase_vectors,
        pair_context=space.pair_context if space.pair_context is not None else np.zeros((0, 0), np.float32),
        pair_bounds=space.pair_bounds if space.pair_bounds is not None else np.zeros((0, 0), np.float32),
    )
    os.replace(tmp, path)


def _load(path: Path, lang: str) -> CandidateSpace:
    z = np.load(path, allow_pickle=False)
    shape = tuple(z["shape"])
    return CandidateSpace(
        Vocabulary(z["phrases"].tolist()), int(z["n_gold"]),
        sp.csr_matrix((z["counts_data"], z["counts_indices"], z["counts_indptr"]), shape=shape),
        sp.csr_matrix((z["share_data"], z["share_indices"], z["share_indptr"]), shape=shape),
        z["item_vectors"], z["phrase_vectors"], lang,
        z["pair_context"] if z["pair_context"].size else None,
        z["pair_bounds"] if "pair_bounds" in z and z["pair_bounds"].size else None,
    )


def phrase_embedder(space: CandidateSpace, encoder):
    """A function labels -> (n, dim) vectors: the space's phrase vector where the label is one of
    its phrases, else the encoder's vector of the label (for soft precision/recall)."""
    index = space.phrases.index

    def embed(labels: list[str]) -> np.ndarray:
        out = np.zeros((len(labels), space.phrase_vectors.shape[1]), dtype=np.float32)
        known = [i for i, label in enumerate(labels) if label in index]
        out[known] = space.phrase_vectors[[index[labels[i]] for i in known]]
        missing = [i for i, label in enumerate(labels) if label not in index]
        if missing:
            out[missing] = encoder.encode([labels[i] for i in missing])
        return out

    return embed
