"""The candidate space of a corpus: every item's candidate phrases with occurrence counts, the
item (comment) vectors and one static vector per phrase, computed once and cached.

Inductive: a space is fitted on its training items (:class:`SpaceFit`: phrase vectors, inverse
document frequencies, PCA bases), and new items are built from that fit alone
(:func:`transform_space`), one at a time as far as anything depends: a saved harvester labels
tomorrow's comments as it labelled the test items next to its training.

With a transformer encoder, one pass over the items gives both: the pooled vector of each item's
comments, and for each phrase the mean of its contextual token vectors over all its occurrences
(the idea of X2Static: static vectors distilled from a contextual model). Phrases that never occur
(gold-vocabulary entries absent from the comments) are encoded on their own. With a static encoder,
items and phrases are both normalised sums of word vectors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
from ..timing import section
from .cache import default_cache_dir


@dataclass
class PCABasis:
    """The top-k principal axes of some rows, scaled to unit variance over them: ``transform``
    projects any rows (those fitted on, or new ones) the same way.

    mean: (d,) float32; axes: (k, d) float32; scale: the standard deviation of the fitted rows'
    projections (1.0 when it is zero).
    """

    mean: np.ndarray
    axes: np.ndarray
    scale: float

    @classmethod
    def fit(cls, x: np.ndarray, k: int, *, seen_rows: np.ndarray, sample: int = 50_000, seed: int = 0) -> PCABasis:
        """Fit on the rows of x (n, d) in ``seen_rows`` (n,) bool (a seeded sample of ``sample``
        of them when there are more)."""
        rng = np.random.default_rng(seed)
        fit_rows = np.flatnonzero(seen_rows)
        if len(fit_rows) > sample:
            fit_rows = rng.choice(fit_rows, sample, replace=False)
        mean = x[fit_rows].mean(axis=0)
        _, _, vt = np.linalg.svd(x[fit_rows] - mean, full_matrices=False)
        axes = vt[:k]
        scale = float(((x[fit_rows] - mean) @ axes.T).std()) or 1.0
        return cls(mean, axes, scale)

    def transform(self, x: np.ndarray, seen_rows: np.ndarray | None = None) -> np.ndarray:
        """(n, d) -> (n, k) float32; rows not in ``seen_rows`` (n,) bool stay zero."""
        out = (((x - self.mean) @ self.axes.T) / self.scale).astype(np.float32)
        if seen_rows is not None:
            out[~np.asarray(seen_rows, bool)] = 0.0
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_mean": np.asarray(self.mean, np.float32), f"{prefix}_axes": np.asarray(self.axes, np.float32),
                f"{prefix}_scale": np.array([self.scale], np.float64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> PCABasis | None:
        if f"{prefix}_axes" not in arrays or not arrays[f"{prefix}_axes"].size:
            return None
        return cls(arrays[f"{prefix}_mean"], arrays[f"{prefix}_axes"], float(arrays[f"{prefix}_scale"][0]))


@dataclass
class SpaceFit:
    """What a candidate space learnt from the items it was fitted on: everything that new items'
    candidates need (:func:`transform_space`), and nothing that depends on them.

    phrases: the fitted phrase vocabulary (the ``n_gold`` gold entries first); phrase_vectors:
    (n_phrases, dim) float32 unit rows; idf: (n_phrases,) float64, log(n_items / document
    frequency) over the fitted items (Eq. 9); context: the PCA basis of the pair context vectors
    (transformer encoders; None otherwise); neighbours: the PCA basis of the neighbouring words'
    vectors in the boundary features (None when too few words); encoder_id: the encoder's identity.
    """

    phrases: Vocabulary
    n_gold: int
    phrase_vectors: np.ndarray
    idf: np.ndarray
    n_items: int
    lang: str
    max_words: int
    context_dim: int
    context: PCABasis | None
    neighbours: PCABasis | None
    encoder_id: str

    def new_idf(self, n_new: int) -> np.ndarray:
        """(n_fitted + n_new,) idf of the fitted phrases followed by ``n_new`` phrases the fitted
        items never held (document frequency 0, counted as 1 as in Eq. 9)."""
        return np.concatenate([self.idf, np.full(n_new, np.log(max(self.n_items, 1) / 1.0))])

    def arrays(self) -> dict[str, np.ndarray]:
        """Its arrays by name (for safetensors)."""
        out = {"phrase_vectors": np.ascontiguousarray(self.phrase_vectors, np.float32), "idf": np.asarray(self.idf, np.float64)}
        for prefix, basis in (("context", self.context), ("neighbours", self.neighbours)):
            if basis is not None:
                out.update(basis.arrays(prefix))
        return out

    def settings(self) -> dict:
        """Its plain values (for JSON)."""
        return {"n_gold": self.n_gold, "n_items": self.n_items, "lang": self.lang, "max_words": self.max_words,
                "context_dim": self.context_dim, "encoder_id": self.encoder_id, "n_phrases": len(self.phrases)}

    @classmethod
    def from_parts(cls, phrases: Sequence[str], arrays: dict[str, np.ndarray], settings: dict) -> SpaceFit:
        return cls(Vocabulary(phrases), int(settings["n_gold"]), arrays["phrase_vectors"], arrays["idf"], int(settings["n_items"]),
                   settings["lang"], int(settings["max_words"]), int(settings["context_dim"]),
                   PCABasis.from_arrays(arrays, "context"), PCABasis.from_arrays(arrays, "neighbours"), settings["encoder_id"])


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
    idf: (n_phrases,) float64 inverse document frequencies over the fitted items (None: over all
    rows). fitted: what the space learnt from its first ``n_fit`` rows (:class:`SpaceFit`); the
    other rows were built from it alone (:func:`transform_space`), as new items are.
    own_entries, own_vectors: (m,) int64 positions among the stored entries of ``counts`` and
    (m, dim) float32 unit rows: for an item's occurrences of a phrase the fit never saw (transformer
    encoders), the mean contextual vector of those occurrences in that item, which the classifier
    takes as the phrase's vector for that pair (as a phrase seen in one training item got its
    vector from that item); None where there are none.
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
    idf: np.ndarray | None = None
    fitted: SpaceFit | None = None
    n_fit: int | None = None
    own_entries: np.ndarray | None = None
    own_vectors: np.ndarray | None = None

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
    n_fit: int | None = None,
) -> CandidateSpace:
    """Candidate phrases, occurrence statistics and vectors of ``comments`` (one list per item).

    n_fit: the first ``n_fit`` items are the ones the space is fitted on (phrase vectors, inverse
    document frequencies, PCA bases: :class:`SpaceFit`); the others get their candidates from
    those alone, exactly as :func:`transform_space` builds new items later (default: all items
    are fitted on). A harvester trained on the first items thus labels the others as it labels
    any new ones: pass the training items first and ``n_fit=len(train)``.
    """
    n_fit = len(comments) if n_fit is None else int(n_fit)
    if not 0 < n_fit <= len(comments):
        raise ValueError(f"n_fit must be between 1 and the {len(comments)} items, got {n_fit}")
    if lang == "auto":
        lang = detect_language(["\n".join(c) for c in comments[:n_fit][:2000]])
    max_words = max_words or (3 if lang == "en" else 2)
    gold = list(dict.fromkeys(gold_vocabulary))
    path = None
    if cache:
        encoder_key = getattr(encoder, "cache_id", None) or encoder.encoder_id  # trained vectors: their seed and texts too
        key = _space_key(f"{encoder_key}:context={context_dim}:bounds=1:candidates=3:own=1:batch={LABEL_BATCH}:n_fit={n_fit}", comments, gold, lang, max_words)
        path = default_cache_dir() / "spaces" / f"{key}.npz"
        if path.exists():
            return _load(path, lang)
    space = _fit_space(comments[:n_fit], gold, encoder, lang, max_words, context_dim)
    if n_fit < len(comments):
        space = stack_spaces(space, transform_space(space.fitted, comments[n_fit:], encoder))
    if path is not None:
        _save(path, space)
    return space


@dataclass
class Occurrences:
    """Every candidate occurrence of some items' comments, as parallel (n_occurrences,) arrays,
    and per item its normalised comments joined (``docs``) and comment shares."""

    item: np.ndarray
    phrase: np.ndarray
    start: np.ndarray
    end: np.ndarray
    left: np.ndarray
    right: np.ndarray
    whole: np.ndarray
    left_words: list
    right_words: list
    docs: list
    share_rows: list
    share_cols: np.ndarray
    share_vals: list

    def matrices(self, n_items: int, n_phrases: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(counts, comment_share), both (n_items, n_phrases) canonical CSR."""
        counts = sp.csr_matrix((np.ones(len(self.item), np.float32), (self.item, self.phrase)), shape=(n_items, n_phrases))
        counts.sum_duplicates()  # canonical: sorted indices, the order pair_context follows
        share = sp.csr_matrix((np.array(self.share_vals, np.float32), (self.share_rows, self.share_cols)), shape=(n_items, n_phrases))
        return counts, share

    def neighbours(self, index: dict[str, int]) -> np.ndarray:
        """(n_occurrences, 2) phrase indices of the words just before and after, or -1."""
        return np.array([[index.get(w, -1) for w in pair] for pair in zip(self.left_words, self.right_words)], dtype=np.int64).reshape(-1, 2)


def _occurrences(comments: Sequence[Sequence[str]], index: dict[str, int], lang: str, max_words: int) -> Occurrences:
    """Extract the candidates of ``comments``; phrases not in ``index`` are added to it."""
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
    return Occurrences(
        np.array(occ_item, dtype=np.int64), np.array(occ_phrase, dtype=np.int64), np.array(occ_start, dtype=np.int64),
        np.array(occ_end, dtype=np.int64), np.array(occ_left, np.int64), np.array(occ_right, np.int64), np.array(occ_whole, bool),
        left_words, right_words, docs, share_rows, np.array(share_cols, dtype=np.int64), share_vals,
    )


def _word_rows(phrases: Sequence[str], lang: str) -> np.ndarray:
    """(n_phrases,) bool: the phrases whose vectors the neighbour features use (English: single words)."""
    if lang != "en":
        return np.ones(len(phrases), bool)
    return np.array([" " not in p and len(p) > 0 for p in phrases], bool)


NEIGHBOUR_DIM = 8


def _fit_space(comments, gold: list[str], encoder, lang: str, max_words: int, context_dim: int) -> CandidateSpace:
    """The candidate space of ``comments`` with every transform fitted on them."""
    index: dict[str, int] = {g: i for i, g in enumerate(gold)}
    occ = _occurrences(comments, index, lang, max_words)
    n, p = len(comments), len(index)
    counts, share = occ.matrices(n, p)
    phrases = Vocabulary(index)
    pair_context, context = None, None
    if hasattr(encoder, "iter_token_batches"):
        if context_dim and counts.nnz and counts.nnz * encoder.dim * 4 > CONTEXT_MEMORY:
            item_vectors, sums, hits, context, pair_context = _contextual_projected(encoder, occ, counts, p, min(context_dim, encoder.dim))
        else:
            item_vectors, sums, hits, pair_sums, pair_hits = _contextual(encoder, occ, counts, p)
            if context_dim and counts.nnz:
                pair_sums /= np.maximum(pair_hits, 1)[:, None]
                context = PCABasis.fit(pair_sums, min(context_dim, encoder.dim), seen_rows=pair_hits > 0)
                pair_context = context.transform(pair_sums, pair_hits > 0)
            del pair_sums
        phrase_vectors = np.zeros((p, encoder.dim), dtype=np.float32)
        seen = hits > 0
        phrase_vectors[seen] = sums[seen] / hits[seen, None]
        unseen = np.flatnonzero(~seen)
        if len(unseen):
            phrase_vectors[unseen] = encoder.encode([phrases[j] for j in unseen])
    else:
        item_vectors = encoder.encode(occ.docs)
        phrase_vectors = encoder.encode(phrases.tokens)
    item_vectors, phrase_vectors = unit_rows(item_vectors), unit_rows(phrase_vectors)
    rows = _word_rows(phrases.tokens, lang)
    neighbours = PCABasis.fit(phrase_vectors, NEIGHBOUR_DIM, seen_rows=rows) if rows.sum() > NEIGHBOUR_DIM else None
    pair_bounds = boundary_features(counts, occ, occ.neighbours(index), phrase_vectors, neighbours, rows)
    idf = np.log(n / np.maximum(np.bincount(counts.indices, minlength=p), 1))
    fitted = SpaceFit(Vocabulary(phrases.tokens), len(gold), phrase_vectors, idf, n, lang, max_words, context_dim, context, neighbours,
                      encoder_identity(encoder))
    return CandidateSpace(phrases, len(gold), counts, share, item_vectors, phrase_vectors, lang, pair_context, pair_bounds,
                          idf=idf, fitted=fitted, n_fit=n)


def encoder_identity(encoder) -> str:
    """What tells encoders apart: trained word vectors' ``cache_id`` (settings, seed, texts), else
    the ``encoder_id`` (a transformer's name and pooling)."""
    return getattr(encoder, "cache_id", None) or getattr(encoder, "encoder_id", None) or str(encoder)


LABEL_BATCH = 256  # items built (and labelled) at once: a harvester's default batch


def transform_space(fitted: SpaceFit, comments: Sequence[Sequence[str]], encoder, *, batch_size: int = LABEL_BATCH) -> CandidateSpace:
    """The candidate space of new items, built from ``fitted`` alone: nothing here depends on any
    other new item, so an item gets the same candidates, features and vectors in any batch.

    Phrases known to ``fitted`` keep their columns and vectors; new phrases follow them in
    alphabetical order (so that ties rank alike in any batch), with the encoder's vector of the
    phrase on its own, and (transformer encoders) for each item where they occur the mean
    contextual vector of their occurrences there (``own_vectors``); the pair context and neighbour features use the fitted PCA bases; TF-IDF
    the fitted idf (a new phrase counts as held by one fitted item). More than ``batch_size``
    items are built ``batch_size`` at a time (the encoder's batches are then those of a harvester
    labelling them, so the numbers agree to the last bit) and joined.
    """
    encoder_id = encoder_identity(encoder)
    if encoder_id != fitted.encoder_id:
        raise ValueError(f"the space was fitted with encoder {fitted.encoder_id!r}, not {encoder_id!r}")
    if len(comments) > batch_size:  # built batch by batch, as a harvester labels them: the same numbers
        return _merge_new_spaces(fitted, [transform_space(fitted, comments[start : start + batch_size], encoder, batch_size=batch_size)
                                          for start in range(0, len(comments), batch_size)])
    index = dict(fitted.phrases.index)
    n_known = len(index)
    with section("extraction"):
        occ = _occurrences(comments, index, fitted.lang, fitted.max_words)
    new = sorted(list(index)[n_known:])
    remap = np.arange(len(index), dtype=np.int64)
    remap[[index[t] for t in new]] = np.arange(n_known, n_known + len(new))
    occ.phrase, occ.share_cols = remap[occ.phrase], remap[occ.share_cols]
    index = {**fitted.phrases.index, **{t: n_known + k for k, t in enumerate(new)}}
    phrases = Vocabulary([*fitted.phrases.tokens, *new])
    n, p = len(comments), len(phrases)
    counts, share = occ.matrices(n, p)
    dim = fitted.phrase_vectors.shape[1]
    with section("encoding"):
        new_vectors = unit_rows(encoder.encode(new)) if new else np.zeros((0, dim), np.float32)
        phrase_vectors = np.vstack([fitted.phrase_vectors, new_vectors]).astype(np.float32)
        pair_context, own_entries, own_vectors = None, None, None
        if hasattr(encoder, "iter_token_batches"):
            item_vectors, _, _, pair_sums, pair_hits = _contextual(encoder, occ, counts, p)
            pair_sums /= np.maximum(pair_hits, 1)[:, None]
            if fitted.context is not None:
                pair_context = fitted.context.transform(pair_sums, pair_hits > 0)
            own_entries = np.flatnonzero((counts.indices >= n_known) & (pair_hits > 0)).astype(np.int64)
            own_vectors = unit_rows(pair_sums[own_entries])
        else:
            item_vectors = encoder.encode(occ.docs)
        item_vectors = unit_rows(item_vectors)
    with section("features"):
        pair_bounds = boundary_features(counts, occ, occ.neighbours(index), phrase_vectors, fitted.neighbours, _word_rows(phrases.tokens, fitted.lang))
    return CandidateSpace(phrases, fitted.n_gold, counts, share, item_vectors, phrase_vectors, fitted.lang, pair_context, pair_bounds,
                          idf=fitted.new_idf(len(new)), fitted=fitted, n_fit=0, own_entries=own_entries, own_vectors=own_vectors)


def _merge_new_spaces(fitted: SpaceFit, parts: list[CandidateSpace]) -> CandidateSpace:
    """The spaces of consecutive batches of new items (:func:`transform_space`) as one: their new
    phrases united (alphabetically, so every part's columns keep their order and its entries,
    context rows and own vectors stay aligned)."""
    n_known = len(fitted.phrases)
    new = sorted(set().union(*(part.phrases.tokens[n_known:] for part in parts)))
    column = {t: n_known + k for k, t in enumerate(new)}
    width = n_known + len(new)
    vectors = np.zeros((len(new), fitted.phrase_vectors.shape[1]), np.float32)
    counts, shares, own_entries, offset = [], [], [], 0
    for part in reversed(parts):  # the first part holding a new phrase gives its vector
        tokens = part.phrases.tokens[n_known:]
        if tokens:
            vectors[[column[t] - n_known for t in tokens]] = part.phrase_vectors[n_known:]
    for part in parts:
        remap = np.arange(len(part.phrases), dtype=np.int64)
        remap[n_known:] = [column[t] for t in part.phrases.tokens[n_known:]]
        for m, out in ((part.counts, counts), (part.comment_share, shares)):
            out.append(sp.csr_matrix((m.data, remap[m.indices], m.indptr), shape=(m.shape[0], width)))
        if part.own_entries is not None:
            own_entries.append(part.own_entries + offset)
        offset += part.counts.nnz

    def joined(name):
        tables = [getattr(part, name) for part in parts]
        return None if any(t is None for t in tables) else np.vstack(tables)

    return CandidateSpace(
        Vocabulary([*fitted.phrases.tokens, *new]), fitted.n_gold, sp.vstack(counts).tocsr(), sp.vstack(shares).tocsr(),
        np.vstack([part.item_vectors for part in parts]), np.vstack([fitted.phrase_vectors, vectors]), fitted.lang,
        joined("pair_context"), joined("pair_bounds"), idf=fitted.new_idf(len(new)), fitted=fitted, n_fit=0,
        own_entries=np.concatenate(own_entries) if own_entries else None, own_vectors=joined("own_vectors"),
    )


def stack_spaces(fitted_space: CandidateSpace, new_space: CandidateSpace) -> CandidateSpace:
    """One space with the rows of ``fitted_space`` (fitted on its items) followed by those of
    ``new_space`` (built from that fit by :func:`transform_space`), whose phrases extend the
    fitted ones."""
    p0, p = len(fitted_space.phrases), len(new_space.phrases)
    if new_space.phrases.tokens[:p0] != fitted_space.phrases.tokens:
        raise ValueError("the new space's phrases do not extend the fitted space's")

    def widen(m: sp.csr_matrix) -> sp.csr_matrix:
        return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], p))

    def rows(a, b, width):
        if a is None and b is None:
            return None
        a = np.zeros((fitted_space.counts.nnz, width), np.float32) if a is None else a
        b = np.zeros((new_space.counts.nnz, width), np.float32) if b is None else b
        return np.vstack([a, b])

    width = next((t.shape[1] for t in (fitted_space.pair_context, new_space.pair_context) if t is not None), 0)
    return CandidateSpace(
        new_space.phrases, fitted_space.n_gold,
        sp.vstack([widen(fitted_space.counts), new_space.counts]).tocsr(),
        sp.vstack([widen(fitted_space.comment_share), new_space.comment_share]).tocsr(),
        np.vstack([fitted_space.item_vectors, new_space.item_vectors]), new_space.phrase_vectors, fitted_space.lang,
        rows(fitted_space.pair_context, new_space.pair_context, width),
        rows(fitted_space.pair_bounds, new_space.pair_bounds, BOUND_FEATURES),
        idf=new_space.idf, fitted=fitted_space.fitted, n_fit=fitted_space.n_items,
        own_entries=None if new_space.own_entries is None else new_space.own_entries + fitted_space.counts.nnz,
        own_vectors=new_space.own_vectors,
    )


CONTEXT_MEMORY = 1 << 30  # bytes: a fit whose (entries, dim) float32 pair means need more projects them as it goes
PCA_SAMPLE = 50_000  # entries a PCA basis is fitted on (a seeded sample when there are more)


def _contextual_projected(encoder, occ: Occurrences, counts: sp.csr_matrix, n_phrases: int, k: int):
    """:func:`_contextual` for fits too large to hold every entry's mean contextual vector: the
    pair-context PCA basis is fitted first on the entries of a seeded sample of items (about
    ``PCA_SAMPLE`` entries, encoded on their own), then one pass over all items adds each
    occurrence's projection to its entry (a mean of projections is the projection of the mean).
    Returns (item vectors (n_items, dim) float32, phrase sums (n_phrases, dim) float64, phrase hits
    (n_phrases,) int64, the basis, pair context (nnz, k) float32)."""
    per_item = np.diff(counts.indptr)
    order = np.random.default_rng(0).permutation(counts.shape[0])
    rows = np.sort(order[: int(np.searchsorted(np.cumsum(per_item[order]), PCA_SAMPLE)) + 1])
    keep = np.isin(occ.item, rows)
    renumber = np.full(counts.shape[0], -1, np.int64)
    renumber[rows] = np.arange(len(rows))
    # only the fields _contextual reads are narrowed to the sample (the others are not used there)
    sample = dataclasses.replace(occ, item=renumber[occ.item[keep]], phrase=occ.phrase[keep], start=occ.start[keep],
                                 end=occ.end[keep], docs=[occ.docs[r] for r in rows])
    _, _, _, pair_sums, pair_hits = _contextual(encoder, sample, counts[rows], n_phrases)
    pair_sums /= np.maximum(pair_hits, 1)[:, None]
    basis = PCABasis.fit(pair_sums, k, seen_rows=pair_hits > 0, sample=PCA_SAMPLE)
    del pair_sums
    item_vectors, sums, hits, projected, pair_hits = _contextual(encoder, occ, counts, n_phrases, project=basis.axes.T.astype(np.float64))
    seen = pair_hits > 0
    context = np.zeros((counts.nnz, basis.axes.shape[0]), np.float32)  # k, or fewer when the sample has fewer entries
    offset = np.asarray(basis.mean, np.float64) @ basis.axes.T.astype(np.float64)
    context[seen] = ((projected[seen] / pair_hits[seen, None] - offset) / basis.scale).astype(np.float32)
    return item_vectors, sums, hits, basis, context


def _contextual(encoder, occ: Occurrences, counts: sp.csr_matrix, n_phrases: int, *, project: np.ndarray | None = None):
    """One pass of the encoder over the items' docs: (pooled item vectors (n_items, dim), per
    phrase the sum (n_phrases, dim) float64 and number of its occurrences' mean contextual
    vectors, per entry of ``counts`` the same sum (nnz, dim) float32 and number). With
    ``project`` (dim, k), the entries' sums are of the projected vectors: (nnz, k) float64."""
    dim = encoder.dim
    docs = occ.docs
    item_vectors = np.zeros((len(docs), dim), dtype=np.float32)
    sums = np.zeros((n_phrases, dim), dtype=np.float64)
    hits = np.zeros(n_phrases, dtype=np.int64)
    # position of each occurrence's (item, phrase) entry in the canonical counts matrix
    entry_rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
    entry_keys = entry_rows * counts.shape[1] + counts.indices
    occ_entry = np.searchsorted(entry_keys, occ.item * counts.shape[1] + occ.phrase)
    pair_sums = np.zeros((counts.nnz, dim), dtype=np.float32) if project is None else np.zeros((counts.nnz, project.shape[1]))
    pair_hits = np.zeros(counts.nnz, dtype=np.int64)
    order = np.argsort(occ.item, kind="stable")
    bounds = np.searchsorted(occ.item[order], np.arange(len(docs) + 1))
    for rows, pooled, vectors, offsets in encoder.iter_token_batches(docs):
        item_vectors[rows] = pooled
        for r, vecs, spans in zip(rows, vectors, offsets):
            here = order[bounds[r] : bounds[r + 1]]
            if not len(here) or not len(vecs):
                continue
            lo = np.searchsorted(spans[:, 1], occ.start[here], side="right")
            hi = np.searchsorted(spans[:, 0], occ.end[here], side="left")
            ok = hi > lo  # occurrences cut off by truncation have no tokens
            cum = np.vstack([np.zeros((1, dim)), np.cumsum(vecs, axis=0, dtype=np.float64)])
            means = (cum[hi[ok]] - cum[lo[ok]]) / (hi[ok] - lo[ok])[:, None]
            np.add.at(sums, occ.phrase[here][ok], means)
            np.add.at(hits, occ.phrase[here][ok], 1)
            np.add.at(pair_sums, occ_entry[here][ok], means.astype(np.float32) if project is None else means @ project)
            np.add.at(pair_hits, occ_entry[here][ok], 1)
    return item_vectors, sums, hits, pair_sums, pair_hits


BOUND_FEATURES = len(LEFT_CONTEXTS) + len(RIGHT_CONTEXTS) + 1 + 2 * NEIGHBOUR_DIM


def boundary_features(
    counts: sp.csr_matrix, occ: Occurrences, neighbours: np.ndarray, phrase_vectors: np.ndarray, basis: PCABasis | None,
    word_rows: np.ndarray,
) -> np.ndarray:
    """(counts.nnz, 13 + 2k) float32 (BOUND_FEATURES for the default k = NEIGHBOUR_DIM; k: the
    basis' width): per (item, phrase) entry, the mean over its occurrences
    of: the left and right context classes (one-hot, LEFT_CONTEXTS / RIGHT_CONTEXTS), whether
    it is a whole list item, and the vectors of the content words just before and after it (the
    phrase vectors of those words projected on ``basis``, NEIGHBOUR_DIM wide; zeros where the
    neighbour is a stopword, punctuation, an end or not a word row, and everywhere when
    ``basis`` is None).

    These say whether a phrase stands alone in its comment ("..., mellow piano melody, ...") or
    is part of a longer phrase ("strong bass" holds "bass"), which the phrase's own vector cannot.
    neighbours: (n_occurrences, 2) phrase indices or -1; word_rows: (n_phrases,) bool, the
    phrases whose vectors count as words.
    """
    n_left, n_right = len(LEFT_CONTEXTS), len(RIGHT_CONTEXTS)
    k = NEIGHBOUR_DIM if basis is None else basis.axes.shape[0]
    out = np.zeros((counts.nnz, n_left + n_right + 1 + 2 * k), dtype=np.float32)
    if not counts.nnz or not len(occ.item):
        return out
    entry_rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
    entry = np.searchsorted(entry_rows * counts.shape[1] + counts.indices, occ.item * counts.shape[1] + occ.phrase)
    per_occ = np.zeros((len(occ.item), out.shape[1]), dtype=np.float32)
    per_occ[np.arange(len(occ.left)), occ.left] = 1.0
    per_occ[np.arange(len(occ.right)), n_left + occ.right] = 1.0
    per_occ[:, n_left + n_right] = occ.whole
    if basis is not None:
        used = np.unique(neighbours[neighbours >= 0])  # project only the words that are neighbours
        projected = np.zeros((len(phrase_vectors) + 1, k), np.float32)  # last row: no neighbour (-1)
        projected[used] = basis.transform(phrase_vectors[used], word_rows[used])
        base = n_left + n_right + 1
        per_occ[:, base : base + k] = projected[neighbours[:, 0]]
        per_occ[:, base + k :] = projected[neighbours[:, 1]]
    # the mean over each entry's occurrences, as one sparse (entries x occurrences) product
    n_occ = np.bincount(entry, minlength=counts.nnz)
    average = sp.csr_matrix((1.0 / n_occ[entry], (entry, np.arange(len(entry)))), shape=(counts.nnz, len(entry)), dtype=np.float32)
    out[:] = average @ per_occ
    return out


def _save(path: Path, space: CandidateSpace) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    fitted = space.fitted
    extra = {}
    if fitted is not None:
        extra = {f"fit_{k}": v for k, v in fitted.arrays().items() if k != "phrase_vectors"}
        extra["fit_settings"] = np.array(json.dumps(fitted.settings()))
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
        idf=space.idf if space.idf is not None else np.zeros(0), n_fit=-1 if space.n_fit is None else space.n_fit,
        own_entries=space.own_entries if space.own_entries is not None else np.zeros(0, np.int64),
        own_vectors=space.own_vectors if space.own_vectors is not None else np.zeros((0, 0), np.float32),
        **extra,
    )
    os.replace(tmp, path)


def _load(path: Path, lang: str) -> CandidateSpace:
    z = np.load(path, allow_pickle=False)
    shape = tuple(z["shape"])
    phrases = z["phrases"].tolist()
    fitted = None
    if "fit_settings" in z:
        settings = json.loads(str(z["fit_settings"]))
        n_known = settings["n_phrases"]
        arrays = {k.removeprefix("fit_"): z[k] for k in z.files if k.startswith("fit_") and k != "fit_settings"}
        arrays["phrase_vectors"] = z["phrase_vectors"][:n_known]
        fitted = SpaceFit.from_parts(phrases[:n_known], arrays, settings)
    return CandidateSpace(
        Vocabulary(phrases), int(z["n_gold"]),
        sp.csr_matrix((z["counts_data"], z["counts_indices"], z["counts_indptr"]), shape=shape),
        sp.csr_matrix((z["share_data"], z["share_indices"], z["share_indptr"]), shape=shape),
        z["item_vectors"], z["phrase_vectors"], lang,
        z["pair_context"] if z["pair_context"].size else None,
        z["pair_bounds"] if "pair_bounds" in z and z["pair_bounds"].size else None,
        idf=z["idf"] if "idf" in z and z["idf"].size else None, fitted=fitted,
        n_fit=int(z["n_fit"]) if "n_fit" in z and int(z["n_fit"]) >= 0 else None,
        own_entries=z["own_entries"] if "own_entries" in z and z["own_vectors"].size else None,
        own_vectors=z["own_vectors"] if "own_vectors" in z and z["own_vectors"].size else None,
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
