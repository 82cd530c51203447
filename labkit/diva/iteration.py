"""The DiVa iteration as explicit steps a notebook can call one at a time.

A round: ``train`` (round 0: from scratch on gold labels; later: fine-tune) -> ``infer``
(classifier pseudo-labels, confidence >= 0.95) -> ``joint_score`` (G on the remaining candidates)
-> ``select`` (accept the proposals, all or those a person kept) -> ``evaluate`` (validation
PSP/PSnDCG, history) -> ``next_round`` (refused when the stop rule says stop). ``fit`` runs rounds
until new pseudo-labels dwindle or the rounds are done, and keeps the best round's classifier.

Variants: ``diva`` fine-tunes on gold + every pseudo-label so far; ``diva-light`` on the current
round's pseudo-labels only; ``diva-static`` takes the pseudo-labels of the first classifier and
the joint score once, then trains on them without further inference.

A run's state is :meth:`DiVa.to_state` / :meth:`DiVa.load_state` (plain values, CSR matrices and
state dicts). Saving it to disk (:mod:`labkit.diva.state`) and run directories that resume
(:mod:`labkit.diva.rundir`) build on those and on ``fit(on_round=...)``; this module knows
neither.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..embed.space import CandidateSpace
from ..embed.transformer import pick_device
from ..metrics import inverse_propensity, psndcg_at_k, psp_at_k, top_k_indices
from ..sparse import canonical_csr, lookup
from . import scoring
from .config import DiVaConfig
from .pairs import PairSpace, mean_confidence, new_pair_classifier, restrict_rows, score_candidates, train_pair_classifier
from .scoring import discrimination_ability, joint_score, practical_value, semantic_novelty


@dataclass
class RoundRecord:
    """What one round did: new pseudo-labels (from the classifier, from G), validation scores, seconds."""

    round: int
    new_from_classifier: int = 0
    new_from_joint: int = 0
    total_pseudo: int = 0
    val_psp5: float = float("nan")
    val_psndcg5: float = float("nan")
    seconds: dict = field(default_factory=dict)
    examples: list = field(default_factory=list)


def _copy_weights(weights: dict | None) -> dict | None:
    return None if weights is None else copy.deepcopy(weights)


class DiVa:
    """A DiVa run over a candidate space.

    space: the :class:`CandidateSpace` of the training items (and optionally more items);
    train_rows: rows of ``space`` that are training items; gold: (n_items, n_phrases) binary CSR
    of their gold labels (phrase columns).
    """

    def __init__(self, space: CandidateSpace, train_rows: np.ndarray, gold: sp.csr_matrix, config: DiVaConfig | None = None) -> None:
        self.config = config or DiVaConfig()
        self.device = pick_device(self.config.device)
        self.pairs = PairSpace.build(space, include_absent_vocabulary=self.config.include_absent_vocabulary, use_bounds=self.config.boundary_features,
                                     vocabulary_features=self.config.vocabulary_features)
        rng = np.random.default_rng(self.config.seed)
        train_rows = np.asarray(train_rows, dtype=np.int64)
        n_val = int(round(len(train_rows) * self.config.validation_fraction))
        shuffled = rng.permutation(train_rows)
        self.val_rows = np.sort(shuffled[:n_val])
        self.fit_rows = np.sort(shuffled[n_val:])
        self.gold = canonical_csr(gold > 0)
        self.pseudo = sp.csr_matrix(self.gold.shape, dtype=np.float64)
        self.round = 0
        self.model = None
        self.history: list[RoundRecord] = []
        self.proposed_classifier = sp.csr_matrix(self.gold.shape)
        self.proposed_joint = sp.csr_matrix(self.gold.shape)
        self.joint_g: sp.csr_matrix | None = None  # G of the last joint-score step (shown with proposals; not part of the state)
        self.best_round: int | None = None  # set by fit: the round whose classifier the run keeps
        self._round_pseudo = sp.csr_matrix(self.gold.shape)
        self._best = None  # (round, weights) of the best validation score so far, kept by fit
        self._static_done = False
        self._scores_cache: sp.csr_matrix | None = None
        self._inv_prop = inverse_propensity(self.gold[self.fit_rows])

    # ------------------------------------------------------------------ records
    @property
    def record(self) -> RoundRecord | None:
        """The current round's record, or None before any step of the round (reading never adds one)."""
        if self.history and self.history[-1].round == self.round:
            return self.history[-1]
        return None

    def current_record(self) -> RoundRecord:
        """The current round's record, started (appended to ``history``) if the round has none:
        every step calls this when it starts."""
        if not self.history or self.history[-1].round != self.round:
            self.history.append(RoundRecord(self.round))
        return self.history[-1]

    # ------------------------------------------------------------------ steps
    def known_labels(self) -> sp.csr_matrix:
        """(n_items, n_phrases) binary CSR: gold labels and every accepted pseudo-label."""
        return canonical_csr((self.gold + self.pseudo) > 0)

    def label_columns(self) -> np.ndarray:
        """Phrase columns that are a label (gold or pseudo) of some training item: SN's label set."""
        return np.unique(self.known_labels()[self.fit_rows].indices)

    def positives(self) -> sp.csr_matrix:
        """The labels the classifier is trained on this round (by variant)."""
        if self.round == 0:
            return self.gold
        if self.config.variant == "diva-light":
            return canonical_csr(self._round_pseudo > 0)
        return self.known_labels()

    def new_model(self):
        """A fresh, untrained pair classifier of this run's settings."""
        c = self.config
        return new_pair_classifier(self.pairs, tower=c.tower, hidden=c.hidden, dropout=c.dropout, seed=c.seed)

    def train(self) -> list[float]:
        """Round 0: train from scratch on gold labels; later rounds: fine-tune on ``positives()``."""
        start = time.perf_counter()
        record = self.current_record()
        c = self.config
        if self.model is None:
            self.model = self.new_model()
        epochs = c.epochs if self.round == 0 else c.finetune_epochs
        if c.variant == "diva-static" and self.round > 0:
            epochs = c.finetune_epochs * max(c.rounds, 1)
        losses = train_pair_classifier(
            self.model, self.pairs, self.positives(), self.fit_rows, epochs=epochs,
            negatives_per_positive=c.negatives_per_positive, subsample=c.subsample, batch_size=c.batch_size,
            lr=c.lr, seed=c.seed + 1000 * self.round, device=self.device,
            min_steps=c.min_steps if self.round == 0 else c.min_steps // 4, unlabeled_weight=c.unlabeled_weight,
            experts_labels=self.gold if c.experts_weigh_negatives else None,
            not_negatives=self.known_labels() if c.variant == "diva-light" and self.round > 0 else None,
            desc=f"round {self.round}: training", progress=c.progress,
        )
        self._scores_cache = None
        record.seconds["train"] = time.perf_counter() - start
        return losses

    def candidate_scores(self) -> sp.csr_matrix:
        """(n_items, n_phrases) classifier probabilities on the training items' candidate pairs."""
        if self._scores_cache is None:
            self._scores_cache = score_candidates(self.model, self.pairs, self.fit_rows, device=self.device)
        return self._scores_cache

    def infer(self) -> sp.csr_matrix:
        """Pseudo-labels from the classifier: candidates (not yet labels) with probability >= 0.95."""
        start = time.perf_counter()
        record = self.current_record()
        self.proposed_classifier = scoring.classifier_pseudo_labels(self.candidate_scores(), self.known_labels(), self.config.pseudo_threshold)
        record.seconds["infer"] = time.perf_counter() - start
        return self.proposed_classifier

    def score_components(self) -> dict[str, np.ndarray | sp.csr_matrix]:
        """SI (pairs), SN, PV, DA (per phrase) and the mean confidence, on the training items."""
        c = self.config
        rows = self.fit_rows
        sn = semantic_novelty(
            self.pairs.space.phrase_vectors, self.pairs.space.phrase_vectors[self.label_columns()],
            n_clusters=c.n_clusters, runs=c.kmeans_runs, seed=c.seed,
        )
        mean_conf = self.mean_confidence()
        counts = self.pairs.space.counts[rows]
        return {
            "SI": restrict_rows(self.pairs.si, rows),
            "SN": sn,
            "PV": practical_value(mean_conf, c.tau, continuous=c.continuous),
            "DA": discrimination_ability(counts, c.tau, continuous=c.continuous),
            "mean_confidence": mean_conf,
        }

    def mean_confidence(self) -> np.ndarray:
        """(n_phrases,) mean classifier confidence of each phrase over the training items (Eq. 4).

        Exact over a sample of ``pv_sample`` items (all of them when there are fewer): every
        (item, phrase) pair of the sample is scored, occurring or not.
        """
        c = self.config
        rng = np.random.default_rng(c.seed + 7)
        rows = self.fit_rows
        if len(rows) > c.pv_sample:
            rows = np.sort(rng.choice(rows, c.pv_sample, replace=False))
        return mean_confidence(self.model, self.pairs, rows, device=self.device)

    def joint_budget(self) -> np.ndarray:
        """(n_items,) how many joint-score pseudo-labels each item may take this round."""
        c = self.config
        return scoring.joint_budget(np.diff(self.pairs.space.counts.indptr), np.diff(self.gold.indptr), budget=c.joint_budget,
                                    decay=c.joint_decay, round_=self.round, cap=c.max_joint_per_item)

    def joint_score(self) -> sp.csr_matrix:
        """Pseudo-labels from G: occurring candidates (out of the gold vocabulary unless
        ``joint_candidates="all"``), not yet labels nor classifier proposals, with
        G >= joint_threshold, the best ``joint_budget()`` of each item."""
        start = time.perf_counter()
        record = self.current_record()
        c = self.config
        parts = self.score_components()
        g = joint_score(parts["SI"], parts["SN"], parts["PV"], parts["DA"], use=c.scores)
        if c.joint_validity == "pair":
            g = canonical_csr(g.multiply(self.candidate_scores()))
        taken = canonical_csr((self.gold + self.pseudo + self.proposed_classifier) > 0)
        self.joint_g = canonical_csr(g)
        self.proposed_joint = scoring.joint_pseudo_labels(
            g, taken, threshold=c.joint_threshold, n_gold=self.pairs.space.n_gold if c.joint_candidates == "oov" else None,
            budget=self.joint_budget(),
        )
        record.seconds["joint_score"] = time.perf_counter() - start
        return self.proposed_joint

    def proposals(self) -> list[tuple[int, str, str]]:
        """The pending pseudo-labels as (row, phrase, source) triples, for review by hand."""
        out = []
        for source, m in (("classifier", self.proposed_classifier), ("joint score", self.proposed_joint)):
            coo = m.tocoo()
            out += [(int(r), self.pairs.space.phrases[int(j)], source) for r, j in zip(coo.row, coo.col)]
        return out

    def proposal_table(self) -> pd.DataFrame:
        """The pending pseudo-labels with their scores, for review: a DataFrame with row, phrase,
        source ("classifier" / "joint score"), probability (the classifier's) and G (the joint
        score of the last joint-score step; NaN where none was computed), in :meth:`proposals` order."""
        triples = self.proposals()
        rows = np.array([r for r, _, _ in triples], dtype=np.int64)
        index = self.pairs.space.phrases.index
        cols = np.array([index[p] for _, p, _ in triples], dtype=np.int64)
        probability = lookup(canonical_csr(self.candidate_scores()), rows, cols) if self.model is not None and len(rows) else np.full(len(rows), np.nan)
        g = lookup(self.joint_g, rows, cols, default=np.nan) if self.joint_g is not None and len(rows) else np.full(len(rows), np.nan)
        return pd.DataFrame({"row": rows, "phrase": [p for _, p, _ in triples], "source": [s for _, _, s in triples],
                             "probability": probability, "G": g})

    def select(self, rejected: set[tuple[int, str]] | None = None) -> int:
        """Accept the proposals (minus ``rejected`` (row, phrase) pairs); returns how many are new."""
        record = self.current_record()
        proposed = canonical_csr((self.proposed_classifier + self.proposed_joint) > 0)
        if rejected:
            index, n_phrases = self.pairs.space.phrases.index, proposed.shape[1]
            rejected_keys = np.array([r * n_phrases + index[label] for r, label in rejected if label in index], dtype=np.int64)
            coo = proposed.tocoo()
            keep = ~np.isin(coo.row.astype(np.int64) * n_phrases + coo.col, rejected_keys)
            proposed = canonical_csr(sp.csr_matrix((coo.data * keep, (coo.row, coo.col)), shape=proposed.shape))
        record.new_from_classifier = int(self.proposed_classifier.multiply(proposed).nnz)
        record.new_from_joint = int(proposed.nnz - record.new_from_classifier)
        self._round_pseudo = proposed
        self.pseudo = canonical_csr((self.pseudo + proposed) > 0)
        record.total_pseudo = int(self.pseudo.nnz)
        coo = proposed.tocoo()
        record.examples = [self.pairs.space.phrases[int(j)] for j in coo.col[:20]]
        self.proposed_classifier = sp.csr_matrix(self.gold.shape)
        self.proposed_joint = sp.csr_matrix(self.gold.shape)
        return int(proposed.nnz)

    def evaluate(self) -> tuple[float, float]:
        """Validation PSP@5 and PSnDCG@5 against the held-out items' gold labels."""
        record = self.current_record()
        if not len(self.val_rows):
            return float("nan"), float("nan")
        scores = score_candidates(self.model, self.pairs, self.val_rows, device=self.device)[self.val_rows]
        truth = self.gold[self.val_rows]
        ranked = top_k_indices(scores, 5)
        psp, psndcg = psp_at_k(ranked, truth, self._inv_prop, 5), psndcg_at_k(ranked, truth, self._inv_prop, 5)
        record.val_psp5, record.val_psndcg5 = psp, psndcg
        return psp, psndcg

    # ------------------------------------------------------------------ rounds
    @property
    def total_rounds(self) -> int:
        """The last round ``fit`` may run (diva-static: 1; else ``config.rounds``)."""
        return 1 if self.config.variant == "diva-static" else self.config.rounds

    def stop_reason(self) -> str | None:
        """Why the run may not go on to a next round (``fit``'s stop rule), or None if it may:
        the last round is reached, the current round has not started, or (after round 0) it
        added fewer new pseudo-labels than ``min_new_fraction`` of the gold labels."""
        if self.round >= self.total_rounds:
            return f"round {self.round} is the last one (rounds={self.total_rounds})"
        record = self.record
        if record is None:
            return f"round {self.round} has not started"
        new = record.new_from_classifier + record.new_from_joint
        if self.round > 0 and new < self.config.min_new_fraction * self.gold.nnz:
            return (f"round {self.round} added {new} new pseudo-labels, fewer than min_new_fraction "
                    f"({self.config.min_new_fraction:g}) of the {self.gold.nnz} gold labels")
        return None

    def next_round(self) -> bool:
        """Start the next round (its training fine-tunes) if the stop rule allows: True if it did,
        False (and nothing changed) if :meth:`stop_reason` says stop."""
        if self.stop_reason() is not None:
            return False
        self.round += 1
        return True

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict:
        """A copy of everything the steps change, as plain values: ``round`` (int),
        ``static_done`` (bool), ``pseudo`` / ``round_pseudo`` (all accepted pseudo-labels / the last
        round's, binary CSR), ``proposed_classifier`` / ``proposed_joint`` (pending proposals, CSR),
        ``history`` (a list of :class:`RoundRecord` fields as dicts), ``model`` (the classifier's
        state dict, None before training), ``best_round`` / ``best`` (the round with the best
        validation score so far and its state dict, kept by ``fit``; None if none). Nothing of it shares memory
        with the run; :meth:`load_state` puts it back."""
        return {
            "round": int(self.round), "static_done": bool(self._static_done),
            "pseudo": self.pseudo.copy(), "round_pseudo": self._round_pseudo.copy(),
            "proposed_classifier": self.proposed_classifier.copy(), "proposed_joint": self.proposed_joint.copy(),
            "history": [dataclasses.asdict(r) for r in self.history],
            "model": None if self.model is None else _copy_weights(self.model.state_dict()),
            "best_round": None if self._best is None else self._best[0],
            "best": None if self._best is None else _copy_weights(self._best[1]),
        }

    def load_state(self, state: dict) -> DiVa:
        """Put a :meth:`to_state` dict (copied) into this run, built over the same candidate space
        with the same settings; the classifier is built if the run has none. ``proposed_*``,
        ``static_done``, ``best_round`` and ``best`` may be left out (none, False). Raises
        ``ValueError`` for matrices of another shape, ``RuntimeError`` for weights that do not fit."""
        missing = [key for key in ("round", "pseudo", "round_pseudo", "history", "model") if key not in state]
        if missing:
            raise ValueError(f"not a DiVa state: no {', '.join(missing)}")
        shape = self.gold.shape
        matrices = {}
        for key in ("pseudo", "round_pseudo", "proposed_classifier", "proposed_joint"):
            m = state.get(key)
            m = sp.csr_matrix(shape) if m is None else sp.csr_matrix(m, dtype=np.float64, copy=True)
            if m.shape != shape:
                raise ValueError(f"state {key!r} is {m.shape[0]} x {m.shape[1]}, this run's labels {shape[0]} x {shape[1]}")
            matrices[key] = m
        fields = {f.name for f in dataclasses.fields(RoundRecord)}
        history = [copy.deepcopy(r) if isinstance(r, RoundRecord) else RoundRecord(**{k: copy.deepcopy(v) for k, v in r.items() if k in fields})
                   for r in state["history"]]
        weights = state["model"]
        if weights is not None:
            model = self.model if self.model is not None else self.new_model()
            model.load_state_dict(weights)  # copies into the model's own tensors (RuntimeError if they do not fit)
            model.to(self.device)
        best = state.get("best")
        self.round = int(state["round"])
        self.pseudo, self._round_pseudo = matrices["pseudo"], matrices["round_pseudo"]
        self.proposed_classifier, self.proposed_joint = matrices["proposed_classifier"], matrices["proposed_joint"]
        self.history = history
        self._static_done = bool(state.get("static_done", False))
        self._best = None if best is None else (state.get("best_round"), _copy_weights(best))
        self.model = None if weights is None else model
        self._scores_cache = None
        self.joint_g = None
        return self

    def snapshot(self) -> dict:
        """:meth:`to_state`: ``restore(snapshot)`` goes back to this point, e.g. to redo a round by hand."""
        return self.to_state()

    def restore(self, snapshot: dict) -> None:
        """:meth:`load_state` of a :meth:`snapshot` (which stays as it was, to restore again)."""
        self.load_state(snapshot)

    # ------------------------------------------------------------------ whole runs
    def run_round(self) -> RoundRecord:
        """One full round: train, evaluate, and (unless stopping) infer, joint-score, select."""
        self.train()
        self.evaluate()
        record = self.current_record()
        if self.config.variant == "diva-static" and self._static_done:
            return record
        self.infer()
        self.joint_score()
        self.select()
        self._static_done = True
        return record

    def fit(self, *, on_round: Callable[[DiVa], object] | None = None, resume: bool = False) -> DiVa:
        """Rounds 0..rounds (round 0 trains on gold only) while :meth:`next_round` allows; keeps the
        best round's classifier (``best_round``).

        on_round: called with the run after each finished round (e.g. to save it: see
        :func:`labkit.diva.rundir.fit_in_run_dir`). resume: the run holds the state of a finished
        round (loaded with :meth:`load_state`): go on after it, ending with the same predictions
        as a run never stopped."""
        c = self.config
        best_score = max((self._round_score(r) for r in self.history), default=-np.inf) if resume else -np.inf
        if not resume or self.next_round():
            while True:
                record = self.run_round()
                score = self._round_score(record)
                if score > best_score:
                    best_score, self._best = score, (self.round, copy.deepcopy(self.model.state_dict()))
                if on_round is not None:
                    on_round(self)
                if not self.next_round():
                    break
        if self._best is not None and c.validation_fraction > 0 and c.select_round == "best":
            self.best_round = self._best[0]
            self.model.load_state_dict(self._best[1])
        else:
            self.best_round = self.round
        return self

    @staticmethod
    def _round_score(record: RoundRecord) -> float:
        return float(np.nansum([record.val_psp5, record.val_psndcg5]))

    def predict(self, rows: np.ndarray) -> sp.csr_matrix:
        """(n_items, n_phrases) probabilities on the candidate pairs of ``rows``."""
        return score_candidates(self.model, self.pairs, np.asarray(rows), device=self.device)
