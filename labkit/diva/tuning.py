"""Interactive tuning of DiVa's pseudo-label decision: what passes the classifier threshold and the
joint score G (Eq. 3-6) for any τ, thresholds, K, m and choice of factors, recomputed in
milliseconds from cached parts.

Everything slow is done once in :class:`JointScoreTuner`: the classifier's probability of every
candidate pair of the viewed items, SI of every pair, each phrase's mean confidence (PV) and
coefficient of variation (DA), and SN per (K, m) (K-means runs, cached per setting). A new setting
is then a few array operations over the (item, candidate) entries.

The decision itself is made by the functions DiVa's steps call (:mod:`labkit.diva.scoring`: PV,
DA, G, classifier pseudo-labels, the per-item joint budget and the joint-score selection), so at
a run's own settings the tuner takes exactly the pseudo-labels ``run.infer()`` and
``run.joint_score()`` take; the defaults of :class:`TunerSettings` are :class:`DiVaConfig`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..sparse import EntryIndex, binary_csr, canonical_csr, lookup
from .config import DiVaConfig
from .pairs import score_candidates
from .scoring import (
    SCORE_PARTS,
    classifier_pseudo_labels,
    coefficient_of_variation,
    discrimination_from_cv,
    joint_pseudo_labels,
    joint_score,
    practical_value,
    semantic_novelty,
)

_DEFAULTS = DiVaConfig()


@dataclass(frozen=True)
class TunerSettings:
    """tau: PV / DA threshold; classifier_threshold: a candidate with this probability or more is a
    classifier pseudo-label; joint_threshold: G for a joint-score pseudo-label; n_clusters, runs:
    K and m of SN; use: factors of G; continuous: PV and DA as continuous factors; oov_only: G
    scores only phrases outside the gold vocabulary; pair_validity: G times the pair's probability;
    budget: cap each item's joint-score pseudo-labels at the run's per-item budget.
    Defaults: those of :class:`DiVaConfig` (``TunerSettings() == TunerSettings.from_config(DiVaConfig())``)."""

    tau: float = _DEFAULTS.tau
    classifier_threshold: float = _DEFAULTS.pseudo_threshold
    joint_threshold: float = _DEFAULTS.joint_threshold
    n_clusters: int = _DEFAULTS.n_clusters
    runs: int = _DEFAULTS.kmeans_runs
    use: tuple[str, ...] = tuple(_DEFAULTS.scores)
    continuous: bool = _DEFAULTS.continuous
    oov_only: bool = _DEFAULTS.joint_candidates == "oov"
    pair_validity: bool = _DEFAULTS.joint_validity == "pair"
    budget: bool = True

    @classmethod
    def from_config(cls, c: DiVaConfig) -> TunerSettings:
        """The settings a DiVa run with config ``c`` decides with."""
        return cls(tau=c.tau, classifier_threshold=c.pseudo_threshold, joint_threshold=c.joint_threshold,
                   n_clusters=c.n_clusters, runs=c.kmeans_runs, use=tuple(c.scores), continuous=c.continuous,
                   oov_only=c.joint_candidates == "oov", pair_validity=c.joint_validity == "pair")

    @classmethod
    def from_run(cls, run) -> TunerSettings:
        """The settings of ``run`` (:meth:`from_config` of its config)."""
        return cls.from_config(run.config)


@dataclass
class TunerView:
    """The decision under one setting, per (item, candidate) entry of the tuner (arrays of length
    n_entries) and in summary. coverage / known_coverage: mean Jaccard of (known labels + what
    passes) and of the known labels alone against the complete labels; precision: the share of
    what passes that is in the complete labels (NaN without them, or when nothing passes)."""

    settings: TunerSettings
    g: np.ndarray
    by_classifier: np.ndarray
    by_joint: np.ndarray
    n_classifier: int
    n_joint: int
    coverage: float = float("nan")
    known_coverage: float = float("nan")
    factors: dict = field(default_factory=dict)
    precision: float = float("nan")

    @property
    def passes(self) -> np.ndarray:
        """(n_entries,) bool: the entries taken as pseudo-labels, by the classifier or the joint score."""
        return self.by_classifier | self.by_joint


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
        cand = canonical_csr(pairs.candidates[self.rows])
        self._indptr = cand.indptr  # entries of an item are contiguous: row-major, by phrase column
        self.entry_item = np.repeat(self.rows, np.diff(cand.indptr))  # (n_entries,) space rows
        self.entry_row = np.repeat(np.arange(len(self.rows)), np.diff(cand.indptr))  # (n_entries,) positions in rows
        self.entry_phrase = cand.indices.astype(np.int64)
        self._entry_keys = self.entry_row * len(pairs.space.phrases) + self.entry_phrase  # increasing
        probs = score_candidates(run.model, pairs, self.rows, device=run.device)
        self.prob = lookup(canonical_csr(probs), self.entry_item, self.entry_phrase)
        self._prob_matrix = self._matrix(self.prob)
        self.si = lookup(pairs.si, self.entry_item, self.entry_phrase)
        # SI with the stored entries DiVa's joint score sees, one row per viewed position, and where each entry sits in it
        self._si_matrix = canonical_csr(pairs.si)[self.rows]
        self._si_position = EntryIndex(self._si_matrix).positions(self.entry_row, self.entry_phrase)
        self.occurs = lookup(canonical_csr(pairs.space.counts), self.entry_item, self.entry_phrase) > 0
        known = run.known_labels()
        self.known = lookup(known, self.entry_item, self.entry_phrase) > 0
        self.known_matrix = canonical_csr(known[self.rows])
        self.mean_confidence = run.mean_confidence()
        self.cv = coefficient_of_variation(pairs.space.counts[run.fit_rows])
        self.label_cols = run.label_columns()
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
        """Per-phrase SN, PV, DA under ``settings`` ((n_phrases,) each), as DiVa computes them."""
        pv = practical_value(self.mean_confidence, settings.tau, continuous=settings.continuous)
        da = discrimination_from_cv(self.cv, settings.tau, continuous=settings.continuous)
        return {"SN": self.semantic_novelty(settings.n_clusters, settings.runs), "PV": pv, "DA": da}

    def _matrix(self, values: np.ndarray, nonzero: bool = False) -> sp.csr_matrix:
        """(len(rows), n_phrases) CSR holding ``values`` (one per entry) at the entries: all of
        them (zeros kept), or with ``nonzero`` only those whose value is not 0."""
        values = np.asarray(values, dtype=np.float64)
        indices, indptr = self.entry_phrase, self._indptr
        if nonzero:
            keep = values != 0
            values, indices = values[keep], indices[keep]
            indptr = np.concatenate([[0], np.cumsum(np.bincount(self.entry_row[keep], minlength=len(self.rows)))])
        return sp.csr_matrix((values, indices, indptr), shape=(len(self.rows), len(self.phrases)))

    def _at_entries(self, m: sp.csr_matrix) -> np.ndarray:
        """(n_entries,) bool: the entries where ``m`` (rows: positions in rows, computed from
        :meth:`_matrix` matrices, so its stored entries are entries) holds a nonzero."""
        m = sp.csr_matrix(m)
        nonzero = m.data != 0
        keys = (np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr)) * m.shape[1] + m.indices)[nonzero]
        out = np.zeros(self.n_entries, dtype=bool)
        if self.n_entries and len(keys):
            pos = np.minimum(np.searchsorted(self._entry_keys, keys), self.n_entries - 1)
            out[pos[self._entry_keys[pos] == keys]] = True
        return out

    def view(self, settings: TunerSettings | None = None, **changes) -> TunerView:
        """What passes under ``settings`` (default: the run's own), with ``changes`` applied."""
        settings = replace(settings or TunerSettings.from_run(self.run), **changes)
        unknown = set(settings.use) - set(SCORE_PARTS)
        if unknown:
            raise ValueError(f"unknown score parts {sorted(unknown)}: choose from {SCORE_PARTS}")
        parts = self.factors(settings)
        # the functions DiVa's infer and joint_score call, on the viewed rows
        g_matrix = joint_score(self._si_matrix, parts["SN"], parts["PV"], parts["DA"], use=settings.use)
        pos = self._si_position
        g = np.where(pos >= 0, g_matrix.data[np.maximum(pos, 0)] if g_matrix.nnz else 0.0, 0.0)  # G: SI's (occurring) entries only
        if settings.pair_validity:
            g = g * self.prob
        by_classifier = self._at_entries(classifier_pseudo_labels(self._prob_matrix, self.known_matrix, settings.classifier_threshold))
        taken = self._matrix(self.known | by_classifier, nonzero=True)
        # G = 0 never passes: such entries are left out of the matrix early
        chosen = joint_pseudo_labels(self._matrix(g, nonzero=True), taken, threshold=settings.joint_threshold,
                                     n_gold=self.run.pairs.space.n_gold if settings.oov_only else None,
                                     budget=self.budget if settings.budget else None)
        joint = self._at_entries(chosen)
        out = TunerView(settings, g, by_classifier, joint, int(by_classifier.sum()), int(joint.sum()), factors=parts)
        if self.complete is not None:
            out.coverage = self._coverage(by_classifier | joint)
            out.known_coverage = self._coverage(np.zeros(self.n_entries, dtype=bool))
            passing = out.passes
            out.precision = float(self.in_complete[passing].mean()) if passing.any() else float("nan")
        return out

    def sweep(self, settings: TunerSettings, name: str, values: Sequence[float]) -> pd.DataFrame:
        """One setting (``name``, e.g. ``"joint_threshold"``) swept over ``values``, the others
        as in ``settings``: a row per value with the classifier, joint-score and total
        pseudo-labels, coverage and precision (NaN without complete labels)."""
        rows = []
        for value in values:
            v = self.view(settings, **{name: value})
            rows.append({name: value, "classifier": v.n_classifier, "joint score": v.n_joint, "pseudo-labels": v.n_classifier + v.n_joint,
                         "coverage": v.coverage, "precision": v.precision})
        return pd.DataFrame(rows)

    def items_changed(self, before: TunerView, after: TunerView) -> np.ndarray:
        """(len(rows),) int: per viewed item, how many of its candidates pass under one view and
        not the other (what a change of setting did to it)."""
        return np.bincount(self.entry_row[before.passes != after.passes], minlength=len(self.rows))

    def items_passing(self, view: TunerView) -> np.ndarray:
        """(len(rows),) int: per viewed item, how many candidates pass under ``view``."""
        return np.bincount(self.entry_row[view.passes], minlength=len(self.rows))

    def constant_factors(self, view: TunerView) -> dict[str, float]:
        """The factors of G that take one value over every viewed candidate under ``view``
        (switching such a factor off changes no decision): name -> that value."""
        out = {}
        if self.n_entries:
            si = self.si[self.occurs]
            values = {"SI": si, **{n: f[self.entry_phrase[self.occurs]] for n, f in view.factors.items()}}
            out = {n: float(v[0]) for n, v in values.items() if len(v) and np.ptp(v) == 0}
        return out

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
