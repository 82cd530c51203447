"""(item, candidate) pairs over a candidate space: which pairs exist, their occurrence features,
how training pairs are sampled, and how a pair classifier is trained and run on all of them.

Nothing here loops over pairs in Python: pairs are index arrays, features are gathered from sparse
matrices in one binary search, and inference uses the decomposition of the pair classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from ..embed.space import CandidateSpace
from ..losses import bce
from ..sparse import EntryIndex, canonical_csr, lookup
from ..training import fit
from .classifier import PairClassifier
from .losses import nnpu
from .scoring import tfidf

N_OCCURRENCE_FEATURES = 4


@dataclass
class PairSpace:
    """A candidate space with everything pairs need, computed once.

    candidates: (n_items, n_phrases) binary CSR, item i's candidates: the phrases of its comments,
    plus the gold vocabulary when ``include_absent_vocabulary``.
    si: TF-IDF (Eq. 9) of every occurring pair; log_counts, share: the other occurrence features.
    use_bounds: add the space's boundary features (how each occurrence is bounded) to the pair
    features, where the space has them.
    vocabulary_features: add a one-hot of the phrase's gold-vocabulary entry (n_gold columns,
    zeros for other phrases and for pairs that do not occur): the classifier then learns how
    often each expert label that occurs in an item's comments is one of its labels, which shared
    phrase vectors alone learn poorly from a few hundred items. Never stored: built when features
    are gathered, (pairs, n_gold) float32 (in training, for one epoch's pairs at once).
    """

    space: CandidateSpace
    candidates: sp.csr_matrix
    si: sp.csr_matrix
    log_counts: sp.csr_matrix
    share: sp.csr_matrix
    use_bounds: bool = True
    vocabulary_features: bool = False
    _entries: _EntryTable | None = field(default=None, init=False, repr=False)

    @property
    def n_features(self) -> int:
        stored = N_OCCURRENCE_FEATURES + sum(m.shape[1] for m in self._extra_tables())
        return stored + (self.space.n_gold if self.vocabulary_features else 0)

    def _extra_tables(self) -> list[np.ndarray]:
        """The per-entry feature tables of the space that enter the pair features."""
        tables = [self.space.pair_context]
        if self.use_bounds:
            tables.append(self.space.pair_bounds)
        return [t for t in tables if t is not None]

    @classmethod
    def build(cls, space: CandidateSpace, *, include_absent_vocabulary: bool = True, use_bounds: bool = True,
              vocabulary_features: bool = False) -> PairSpace:
        occurring = canonical_csr(space.counts > 0)
        if include_absent_vocabulary and space.n_gold:
            gold = sp.csr_matrix(np.ones((space.n_items, space.n_gold)), shape=(space.n_items, space.n_gold))
            gold = sp.hstack([gold, sp.csr_matrix((space.n_items, len(space.phrases) - space.n_gold))]).tocsr()
            occurring = canonical_csr((occurring + gold) > 0)
        counts = canonical_csr(space.counts)
        if counts.nnz != space.counts.nnz:
            raise ValueError("the space's counts must be canonical (no zeros or duplicates)")
        log_counts = counts.copy()
        log_counts.data = np.log1p(log_counts.data)
        return cls(space, occurring, canonical_csr(tfidf(counts, space.idf)), log_counts, canonical_csr(space.comment_share), use_bounds,
                   vocabulary_features)

    def features(self, items: np.ndarray, phrases: np.ndarray) -> np.ndarray:
        """(B, n_features) float32: occurs (0/1), log(1 + count), share of comments holding it,
        TF-IDF, then the pair's context vector, its boundary features and (``vocabulary_features``)
        the one-hot of its gold-vocabulary entry; all zeros where the phrase does not occur.

        One binary search finds each pair's entry among the occurring pairs; every feature is a
        gather from an array aligned with those entries."""
        if self._entries is None:
            self._entries = _EntryTable(self)
        items, phrases = np.asarray(items, dtype=np.int64), np.asarray(phrases, dtype=np.int64)
        found = self._entries.index.positions(items, phrases)
        return self._with_vocabulary(self._entries.table[found], phrases, found >= 0)

    def occurring_features(self, items: np.ndarray, phrases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs that occur in the comments and their features: (positions (R,) into the
        given pairs, features (R, n_features)); every other pair's features are all zero."""
        if self._entries is None:
            self._entries = _EntryTable(self)
        found = self._entries.index.positions(np.asarray(items, dtype=np.int64), np.asarray(phrases, dtype=np.int64))
        rows = np.flatnonzero(found >= 0)
        return rows, self._with_vocabulary(self._entries.table[found[rows]], np.asarray(phrases, dtype=np.int64)[rows], None)

    def _with_vocabulary(self, stored: np.ndarray, phrases: np.ndarray, occurs: np.ndarray | None) -> np.ndarray:
        """The stored features with the vocabulary one-hot appended (``occurs``: (B,) bool, or
        None when every pair occurs)."""
        if not self.vocabulary_features:
            return stored
        n_gold = self.space.n_gold
        onehot = np.zeros((len(phrases), n_gold), np.float32)
        hit = phrases < n_gold if occurs is None else (phrases < n_gold) & occurs
        onehot[np.flatnonzero(hit), phrases[hit]] = 1.0
        return np.hstack([stored, onehot])

    def own_vector_rows(self, items: np.ndarray, phrases: np.ndarray) -> np.ndarray:
        """(B,) int64: for each pair, its row of ``space.own_vectors`` (the pair's own phrase
        vector: a phrase the space's fit never saw, seen in this item), or -1."""
        own = self.space.own_entries
        if own is None or not len(own):
            return np.full(len(items), -1, np.int64)
        if self._entries is None:
            self._entries = _EntryTable(self)
        of_entry = np.full(self.log_counts.nnz + 1, -1, np.int64)  # last: absent pairs (-1)
        of_entry[own] = np.arange(len(own))
        return of_entry[self._entries.index.positions(np.asarray(items, dtype=np.int64), np.asarray(phrases, dtype=np.int64))]

    def candidate_pairs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (item, phrase) candidate pairs of the items ``rows``: two int arrays."""
        sub = self.candidates[rows]
        items = np.repeat(np.asarray(rows), np.diff(sub.indptr))
        return items, sub.indices.astype(np.int64)


class _EntryTable:
    """The occurring (item, phrase) pairs, with one feature row per pair (last row: absent, which
    index -1 picks)."""

    def __init__(self, pairs: PairSpace) -> None:
        counts = pairs.log_counts
        self.index = EntryIndex(counts)
        rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
        columns = [np.ones(counts.nnz), counts.data]
        for m in (pairs.share, pairs.si):  # same entries as counts, possibly fewer stored values
            columns.append(lookup(m, rows, counts.indices))
        table = np.hstack([np.stack(columns, axis=1).astype(np.float32), *(t.astype(np.float32) for t in pairs._extra_tables())])
        self.table = np.vstack([table, np.zeros((1, table.shape[1]), np.float32)])



def restrict_rows(m: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """m with every row outside ``rows`` emptied (shape kept)."""
    mask = np.zeros(m.shape[0], dtype=np.float64)
    mask[np.asarray(rows, dtype=np.int64)] = 1.0
    return canonical_csr(sp.diags(mask) @ m)


def sample_training_pairs(
    pairs: PairSpace,
    positives: sp.csr_matrix,
    rows: np.ndarray,
    rng: np.random.Generator,
    *,
    negatives_per_positive: int = 5,
    subsample: float | None = 1e-3,
    not_negatives: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch of training pairs: (items, phrases, targets 0/1), shuffled.

    Positives are the entries of ``positives`` in ``rows``; frequent labels are kept with
    probability sqrt(t/f) + t/f (word2vec subsampling, f = the label's share of positive pairs).
    Each kept positive brings ``negatives_per_positive`` negatives drawn uniformly from the item's
    candidates that are not positives; with ``negatives_per_positive=0`` every such candidate of
    the items is a negative (each epoch sees every pair: the classifier then learns the true
    share of labels among candidates, not one inflated by sampling). ``not_negatives``: pairs
    never drawn as negatives although they are not positives here (diva-light fine-tunes on one
    round's pseudo-labels; the other known labels are not wrong).
    """
    pos = restrict_rows(positives, rows)
    pos_items = np.repeat(np.arange(pos.shape[0]), np.diff(pos.indptr))
    pos_phrases = pos.indices.astype(np.int64)
    if subsample:
        share = np.bincount(pos_phrases, minlength=pos.shape[1]) / max(len(pos_phrases), 1)
        f = share[pos_phrases]
        keep = rng.random(len(f)) < np.sqrt(subsample / f) + subsample / f
        pos_items, pos_phrases = pos_items[keep], pos_phrases[keep]
    excluded = pos if not_negatives is None else canonical_csr((pos + not_negatives) > 0)
    pool = canonical_csr(restrict_rows(pairs.candidates, rows) - pairs.candidates.multiply(excluded) > 0)
    pool_sizes = np.diff(pool.indptr)
    if negatives_per_positive <= 0:  # every other candidate of the items is a negative
        neg_items = np.repeat(np.arange(pool.shape[0]), pool_sizes)
        neg_phrases = pool.indices.astype(np.int64)
    else:
        neg_items = np.repeat(pos_items, negatives_per_positive)
        neg_items = neg_items[pool_sizes[neg_items] > 0]
        pick = (rng.random(len(neg_items)) * pool_sizes[neg_items]).astype(np.int64)
        neg_phrases = pool.indices[pool.indptr[neg_items] + pick].astype(np.int64)
    items = np.concatenate([pos_items, neg_items])
    phrases = np.concatenate([pos_phrases, neg_phrases])
    targets = np.concatenate([np.ones(len(pos_items)), np.zeros(len(neg_items))]).astype(np.float32)
    order = rng.permutation(len(items))
    return items[order], phrases[order], targets[order]


def new_pair_classifier(pairs: PairSpace, *, tower: int = 256, hidden: int = 256, dropout: float = 0.1, seed: int = 0) -> PairClassifier:
    torch.manual_seed(seed)
    dim_items, dim_phrases = pairs.space.item_vectors.shape[1], pairs.space.phrase_vectors.shape[1]
    return PairClassifier(dim_items, dim_phrases, pairs.n_features, tower=tower, hidden=hidden, dropout=dropout)


def pair_weights(targets: np.ndarray, phrases: np.ndarray, labelled: np.ndarray, unlabeled_weight: float) -> np.ndarray:
    """(B,) float32 loss weights of training pairs: ``unlabeled_weight`` for a negative (target 0)
    whose phrase is not ``labelled`` ((n_phrases,) bool: somebody's label), 1 for the rest."""
    return np.where((np.asarray(targets) == 0) & ~labelled[np.asarray(phrases)], unlabeled_weight, 1.0).astype(np.float32)


def train_pair_classifier(
    model: PairClassifier,
    pairs: PairSpace,
    positives: sp.csr_matrix,
    rows: np.ndarray,
    *,
    epochs: int = 8,
    negatives_per_positive: int = 5,
    subsample: float | None = 1e-3,
    batch_size: int = 128,
    lr: float = 1e-3,
    loss: str = "bce",
    prior: float | None = None,
    seed: int = 0,
    device: str = "cpu",
    desc: str = "training",
    progress: bool = True,
    min_steps: int = 0,
    unlabeled_weight: float = 1.0,
    nnpu_ascent: bool = False,
    experts_labels: sp.csr_matrix | None = None,
    not_negatives: sp.csr_matrix | None = None,
) -> list[float]:
    """Train (or fine-tune) ``model`` in place; returns the mean loss of each epoch.

    Small corpora get more epochs: at least ``min_steps`` optimiser steps are taken in all.

    unlabeled_weight: the loss weight of sampled negatives whose phrase is nobody's label in
    ``experts_labels`` (default ``positives``; a phrase outside the label vocabulary is
    unlabelled, not known to be wrong: experts only ever used their vocabulary); negatives of
    labelled phrases weigh 1. Pass the gold labels when ``positives`` adds pseudo-labels: a phrase
    pseudo-labelled on a few items is still unlabelled on the others (pseudo-labels are few by
    design), and weighing its other occurrences as sure negatives teaches the classifier that the
    phrases it has just harvested are mostly wrong. not_negatives: pairs never drawn as negatives
    (see :func:`sample_training_pairs`).

    loss: ``"bce"`` (Eq. 11) or ``"nnpu"`` (Eq. 12, needs ``prior``, the share of positives among
    candidate pairs; ``nnpu_ascent``: with Kiryo et al.'s gradient ascent). The same seed gives the
    same model.
    """
    rng = np.random.default_rng(seed)
    items_t = torch.from_numpy(pairs.space.item_vectors).to(device)
    phrases_t = torch.from_numpy(pairs.space.phrase_vectors).to(device)
    labelled = np.zeros(positives.shape[1], dtype=bool)
    labelled[np.unique(restrict_rows(positives if experts_labels is None else experts_labels, rows).indices)] = True

    def batches(epoch: int) -> list[tuple]:
        """A fresh sample of training pairs, moved to ``device`` at once, cut into batches of
        (item indices, phrase indices, features, targets, weights or None)."""
        items, phrases, targets = sample_training_pairs(pairs, positives, rows, rng, negatives_per_positive=negatives_per_positive,
                                                        subsample=subsample, not_negatives=not_negatives)
        feats = torch.from_numpy(pairs.features(items, phrases)).to(device)
        items_idx, phrases_idx = torch.from_numpy(items).to(device), torch.from_numpy(phrases).to(device)
        y = torch.from_numpy(targets).to(device)
        w = None if unlabeled_weight == 1.0 else torch.from_numpy(pair_weights(targets, phrases, labelled, unlabeled_weight)).to(device)
        slices = [slice(start, start + batch_size) for start in range(0, len(items), batch_size)]
        return [(items_idx[sl], phrases_idx[sl], feats[sl], y[sl], None if w is None else w[sl]) for sl in slices]

    def batch_loss(model: PairClassifier, items_idx, phrases_idx, feats, y, w) -> torch.Tensor:
        logits = model(items_t[items_idx], phrases_t[phrases_idx], feats)
        return bce(logits, y, w) if loss == "bce" else nnpu(logits, y > 0, prior, ascent=nnpu_ascent)

    return fit(model, batches, batch_loss, epochs=epochs, min_steps=min_steps, lr=lr, seed=seed, device=device, progress=progress,
               desc=desc)


@torch.inference_mode()
def score_pairs(
    model: PairClassifier, pairs: PairSpace, items: np.ndarray, phrases: np.ndarray, *, device: str = "cpu", chunk: int = 4096
) -> np.ndarray:
    """(B,) probabilities of the pairs, by the decomposition: one tower pass per distinct item and
    phrase, then a gather, an add and a dot product per pair (plus the feature product for pairs
    that occur in the comments), in chunks that stay in cache."""
    model.to(device).eval()
    uniq_items, item_pos = np.unique(items, return_inverse=True)
    uniq_phrases, phrase_pos = np.unique(phrases, return_inverse=True)
    u = model.item_part(torch.from_numpy(pairs.space.item_vectors[uniq_items]).to(device))
    v = model.label_part(torch.from_numpy(pairs.space.phrase_vectors[uniq_phrases]).to(device))
    own = pairs.own_vector_rows(items, phrases)
    if (own >= 0).any():  # pairs of phrases new to the fit: the phrase's vector in this item
        mine = own >= 0
        uniq_own, own_pos = np.unique(own[mine], return_inverse=True)
        v = torch.cat([v, model.label_part(torch.from_numpy(pairs.space.own_vectors[uniq_own]).to(device))])
        phrase_pos = phrase_pos.copy()
        phrase_pos[mine] = len(uniq_phrases) + own_pos
    out = np.empty(len(items), dtype=np.float32)
    for start in range(0, len(items), chunk):
        sl = slice(start, start + chunk)
        feature_rows, f = pairs.occurring_features(items[sl], phrases[sl])
        ip = torch.from_numpy(item_pos[sl]).to(device)
        pp = torch.from_numpy(phrase_pos[sl]).to(device)
        f, feature_rows = torch.from_numpy(f).to(device), torch.from_numpy(feature_rows).to(device)
        out[sl] = torch.sigmoid(model.score_indexed(u, v, ip, pp, f, feature_rows)).cpu().numpy()
    return out


def score_candidates(model: PairClassifier, pairs: PairSpace, rows: np.ndarray, *, device: str = "cpu") -> sp.csr_matrix:
    """(n_items, n_phrases) CSR of probabilities on the candidate pairs of ``rows``."""
    items, phrases = pairs.candidate_pairs(np.asarray(rows))
    probs = score_pairs(model, pairs, items, phrases, device=device)
    m = sp.csr_matrix((probs.astype(np.float64), (items, phrases)), shape=pairs.candidates.shape)
    m.sum_duplicates()
    return m


@torch.inference_mode()
def mean_confidence(model: PairClassifier, pairs: PairSpace, rows: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """(n_phrases,) mean probability of every phrase over the items ``rows``, occurring or not.

    Per item, all phrases at once: the pairs without occurrence features need only
    ReLU(u_i + v) (P, hidden); the item's occurring phrases are then rescored with their features.
    """
    model.to(device).eval()
    v = model.label_part(torch.from_numpy(pairs.space.phrase_vectors).to(device))
    u = model.item_part(torch.from_numpy(pairs.space.item_vectors[np.asarray(rows)]).to(device))
    total = torch.zeros(v.shape[0], dtype=torch.float64, device=device)
    counts = pairs.log_counts
    zero = torch.zeros(1, pairs.n_features, device=device)
    for k, row in enumerate(np.asarray(rows)):
        probs = torch.sigmoid(model.pair_logits(u[k : k + 1], v, zero))
        occ = counts.indices[counts.indptr[row] : counts.indptr[row + 1]].astype(np.int64)
        if len(occ):
            f = torch.from_numpy(pairs.features(np.full(len(occ), row), occ)).to(device)
            idx = torch.from_numpy(occ).to(device)
            probs[idx] = torch.sigmoid(model.pair_logits(u[k : k + 1].expand(len(occ), -1), v[idx], f))
        total += probs.double()
    return (total / max(len(rows), 1)).cpu().numpy()
