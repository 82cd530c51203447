"""Interactive tuning of DiVa's pseudo-label decision: what passes the classifier threshold and the
joint score G (Eq. 3-6) for any τ, thresholds, K, m and choice of factors, recomputed in
milliseconds from cached parts.

Everything slow is done once in :class:`JointScoreTuner`: the classifier's probability of every
candidate pair of the viewed items, SI of every pair, each phrase's mean confidence (PV) and
coefficient of variation (DA), and SN per (K, m) (K-means runs, cached per setting). A new setting
is then a few array operations over the (item, candidate) entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .scoring import SCORE_PARTS, coefficient_of_variation, semantic_novelty
from ..sparse import binary_csr, canonical_csr, lookup
from .pairs import score_candidates


@dataclass(frozen=True)
class TunerSettings:
    """tau: PV / DA threshold; classifier_threshold: a candidate with this probability or more is a
    classifier pseudo-label; joint_threshold: G for a joint-score pseudo-label; n_clusters, runs:
    K and m of SN; use: factors of G; continuous: PV and DA as continuous factors; oov_only: G
    scores only phrases outside the gold vocabulary; pair_validity: G times the pair's probability;
    budget: cap each item's joint-score pseudo-labels at the run's per-item budget."""

    tau: float = 0.0025
    classifier_threshold: float = 0.95
    joint_threshold: float = 0.0025
    n_clusters: int = 15
    runs: int = 10
    use: tuple[str, ...] = SCORE_PARTS
    continuous: bool = False
    oov_only: bool = True
    pair_validity: bool = True
    budget: bool = True

    @classmethod
    def from_run(cls, run) -> "TunerSettings":
        c = run.config
        return cls(tau=c.tau, classifier_threshold=c.pseudo_threshold, joint_threshold=c.joint_threshold,
                   n_clusters=c.n_clusters, runs=c.kmeans_runs, use=tuple(c.scores), continuous=c.continuous,
                   oov_only=c.joint_candidates == "oov", pair_validity=c.joint_validity == "pair")


@dataclass
class TunerView:
    """The decision under one setting, per (item, candidate) entry of the tuner (arrays of length
    n_entries) and in summary. coverage / known_coverage: mean Jaccard of (known labels + what
    passes) and of the known labels alone against the complete labels (NaN without them)."""

    settings: TunerSettings
    g: np.ndarray
    by_classifier: np.ndarray
    by_joint: np.ndarray
    n_classifier: int
    n_joint: int
    coverage: float = float("nan")
    known_coverage: float = float("nan")
    factors: dict = field(default_factory=dict)


class JointScoreTuner:
    """Cached score parts of a trained :class:`~labkit.diva.DiVa` run.

    rows: the items to view (default: the run's training items); complete: optional complete
    label sets, one per row of ``rows`` (a list of label lists), for the coverage view.
    """

    def __init__(self, run, rows: Sequence[int] | None = None, complete: Sequence[Sequence[str]] | None = None) -> None:
        if run.model is None:
            raise ValueError("the DiVa run has no classifier yet: call run.train() first")
        self.run = run
        pairs = run.pairs
        self.phrases = pairs.space.phrases
        self.rows = np.asarray(run.fit_rows if rows is None else rows, dtype=np.int64)
        cand = pairs.candidates[self.rows]
        self.entry_item = np.repeat(self.rows, np.diff(cand.indptr))  # (n_entries,) space rows
        self.entry_row = np.repeat(np.arange(len(self.rows)), np.diff(cand.indptr))  # (n_entries,) positions in rows
        self.entry_phrase = cand.indices.astype(np.int64)
        probs = score_candidates(run.model, pairs, self.rows, device=run.device)
        self.prob = lookup(canonical_csr(probs), self.entry_item, self.entry_phrase)
        self.si = lookup(pairs.si, self.entry_item, self.entry_phrase)
        self.occurs = lookup(canonical_csr(pairs.space.counts), self.entry_item, self.entry_phrase) > 0
        known = canonical_csr((run.gold + run.pseudo) > 0)
        self.known = lookup(known, self.entry_item, self.entry_phrase) > 0
        self.known_matrix = canonical_csr(known[self.rows])
        self.mean_confidence = run.mean_confidence()
        self.cv = coefficient_of_variation(pairs.space.counts[run.fit_rows])
        self.label_cols = np.unique(known[run.fit_rows].indices)
        self.in_vocabulary = self.entry_phrase < pairs.space.n_gold
        self.budget = run.joint_budget()[self.rows]
        self._sn: dict[tuple[int, int], np.ndarray] = {}
        self.complete = None
        if complete is not None:
            if len(complete) != len(self.rows):
                raise ValueError(f"complete has {len(complete)} label sets for {len(self.rows)} rows")
            sizes = np.array([len(set(labels)) for labels in complete], dtype=np.float64)
            index = self.phrases.index
            r = [i for i, labels in enumerate(complete) for label in set(labels) if label in index]
            c = [index[label] for labels in complete for label in set(labels) if label in index]
            self.complete = binary_csr(r, c, (len(self.rows), len(self.phrases)))
            self.complete_sizes = sizes
            self.in_complete = lookup(self.complete, self.entry_row, self.entry_phrase) > 0

    @property
    def n_entries(self) -> int:
        return len(self.entry_phrase)

    def semantic_novelty(self, n_clusters: int, runs: int) -> np.ndarray:
        """(n_phrases,) SN for K = n_clusters and m = runs (computed once per pair of values)."""
        key = (int(n_clusters), int(runs))
        if key not in self._sn:
            vectors = self.run.pairs.space.phrase_vectors
            self._sn[key] = semantic_novelty(vectors, vectors[self.label_cols], n_clusters=key[0], runs=key[1], seed=self.run.config.seed)
        return self._sn[key]

    def factors(self, settings: TunerSettings) -> dict[str, np.ndarray]:
        """Per-phrase SN, PV, DA under ``settings`` ((n_phrases,) each)."""
        if settings.continuous:
            pv, da = self.mean_confidence, self.cv / (1.0 + self.cv)
        else:
            pv = (self.mean_confidence >= settings.tau).astype(np.float64)
            da = (self.cv >= settings.tau).astype(np.float64)
        return {"SN": self.semantic_novelty(settings.n_clusters, settings.runs), "PV": pv, "DA": da}

    def view(self, settings: TunerSettings | None = None, **changes) -> TunerView:
        """What passes under ``settings`` (default: the run's own), with ``changes`` applied."""
        settings = replace(settings or TunerSettings.from_run(self.run), **changes)
        unknown = set(settings.use) - set(SCORE_PARTS)
        if unknown:
            raise ValueError(f"unknown score parts {sorted(unknown)}: choose from {SCORE_PARTS}")
        parts = self.factors(settings)
        g = self.si.copy() if "SI" in settings.use else np.ones(self.n_entries)
        g[~self.occurs] = 0.0  # G scores occurring phrases only (SI of an absent phrase is 0)
        for name in ("SN", "PV", "DA"):
            if name in settings.use:
                g *= parts[name][self.entry_phrase]
        if settings.pair_validity:
            g *= self.prob
        by_classifier = (self.prob >= settings.classifier_threshold) & ~self.known
        joint = (g >= settings.joint_threshold) & (g > 0) & ~self.known & ~by_classifier
        if settings.oov_only:
            joint &= ~self.in_vocabulary
        if settings.budget:
            joint = self._within_budget(joint, g)
        out = TunerView(settings, g, by_classifier, joint, int(by_classifier.sum()), int(joint.sum()), factors=parts)
        if self.complete is not None:
            out.coverage = self._coverage(by_classifier | joint)
            out.known_coverage = self._coverage(np.zeros(self.n_entries, dtype=bool))
        return out

    def _within_budget(self, passing: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Keep each item's best-G passing entries, at most its budget (entries of an item are contiguous)."""
        idx = np.flatnonzero(passing)
        if not len(idx):
            return passing
        order = idx[np.lexsort((-g[idx], self.entry_row[idx]))]
        rows = self.entry_row[order]
        first = np.searchsorted(rows, rows, side="left")
        rank = np.arange(len(order)) - first
        keep = np.zeros_like(passing)
        keep[order[rank < self.budget[rows]]] = True
        return keep

    def _coverage(self, passing: np.ndarray) -> float:
        """Mean Jaccard of (known + passing) against the complete sets, over rows that have some."""
        added = binary_csr(self.entry_row[passing], self.entry_phrase[passing], self.known_matrix.shape)
        predicted = canonical_csr((self.known_matrix + added) > 0)
        inter = np.asarray(predicted.multiply(self.complete).sum(axis=1)).ravel()
        union = np.diff(predicted.indptr) + self.complete_sizes - inter
        has = self.complete_sizes > 0
        return float(np.mean(inter[has] / np.maximum(union[has], 1))) if has.any() else float("nan")

    def item_table(self, position: int, view: TunerView) -> pd.DataFrame:
        """One viewed item's candidates (``position`` in ``rows``) under ``view``, best G first:
        phrase, probability, SI, SN, PV, DA, G, known, passes (classifier / joint score / -)."""
        lo, hi = np.searchsorted(self.entry_row, [position, position + 1])
        cols = self.entry_phrase[lo:hi]
        passes = np.where(view.by_classifier[lo:hi], "classifier", np.where(view.by_joint[lo:hi], "joint score", ""))
        table = pd.DataFrame({
            "phrase": [self.phrases[int(j)] for j in cols], "probability": self.prob[lo:hi], "SI": self.si[lo:hi],
            "SN": view.factors["SN"][cols], "PV": view.factors["PV"][cols], "DA": view.factors["DA"][cols],
            "G": view.g[lo:hi], "known": self.known[lo:hi], "passes": passes,
        })
        if self.complete is not None:
            table["complete"] = self.in_complete[lo:hi]
        return table.sort_values(["G", "probability"], ascending=False, kind="stable").reset_index(drop=True)
