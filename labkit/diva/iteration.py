"""The DiVa iteration as explicit steps a notebook can call one at a time.

A round: ``train`` (round 0: from scratch on gold labels; later: fine-tune) -> ``infer``
(classifier pseudo-labels, confidence >= 0.95) -> ``joint_score`` (G on the remaining candidates)
-> ``select`` (accept the proposals, all or those a person kept) -> ``evaluate`` (validation
PSP/PSnDCG, history) -> next round. ``fit`` runs rounds until new pseudo-labels dwindle or the
validation score stops improving, and keeps the best round's classifier.

Variants: ``diva`` fine-tunes on gold + every pseudo-label so far; ``diva-light`` on the current
round's pseudo-labels only; ``diva-static`` takes the pseudo-labels of the first classifier and
the joint score once, then trains on them without further inference.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..embed.space import CandidateSpace
from ..embed.transformer import pick_device
from ..metrics import inverse_propensity, psndcg_at_k, psp_at_k, top_k_indices
from .scoring import discrimination_ability, joint_score, practical_value, semantic_novelty
from ..sparse import canonical_csr
from .config import DiVaConfig
from .pairs import PairSpace, mean_confidence, new_pair_classifier, restrict_rows, score_candidates, train_pair_classifier


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


class DiVa:
    """A DiVa run over a candidate space.

    space: the :class:`CandidateSpace` of the training items (and optionally more items);
    train_rows: rows of ``space`` that are training items; gold: (n_items, n_phrases) binary CSR
    of their gold labels (phrase columns).
    """

    def __init__(self, space: CandidateSpace, train_rows: np.ndarray, gold: sp.csr_matrix, config: DiVaConfig | None = None) -> None:
        self.config = config or DiVaConfig()
        self.device = pick_device(self.config.device)
        self.pairs = PairSpace.build(space, include_absent_vocabulary=self.config.include_absent_vocabulary, use_bounds=self.config.boundary_features)
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
        self._round_pseudo = sp.csr_matrix(self.gold.shape)
        self._best = None
        self._static_done = False
        self._scores_cache: sp.csr_matrix | None = None
        self._inv_prop = inverse_propensity(self.gold[self.fit_rows])

    # ------------------------------------------------------------------ steps
    @property
    def record(self) -> RoundRecord:
        if not self.history or self.history[-1].round != self.round:
            self.history.append(RoundRecord(self.round))
        return self.history[-1]

    def positives(self) -> sp.csr_matrix:
        """The labels the classifier is trained on this round (by variant)."""
        if self.round == 0:
            return self.gold
        if self.config.variant == "diva-light":
            return canonical_csr(self._round_pseudo > 0)
        return canonical_csr((self.gold + self.pseudo) > 0)

    def train(self) -> list[float]:
        """Round 0: train from scratch on gold labels; later rounds: fine-tune on ``positives()``."""
        start = time.perf_counter()
        c = self.config
        if self.model is None:
            self.model = new_pair_classifier(self.pairs, tower=c.tower, hidden=c.hidden, dropout=c.dropout, seed=c.seed)
        epochs = c.epochs if self.round == 0 else c.finetune_epochs
        if c.variant == "diva-static" and self.round > 0:
            epochs = c.finetune_epochs * max(c.rounds, 1)
        losses = train_pair_classifier(
            self.model, self.pairs, self.positives(), self.fit_rows, epochs=epochs,
            negatives_per_positive=c.negatives_per_positive, subsample=c.subsample, batch_size=c.batch_size,
            lr=c.lr, seed=c.seed + 1000 * self.round, device=self.device,
            min_steps=c.min_steps if self.round == 0 else c.min_steps // 4, unlabeled_weight=c.unlabeled_weight,
            desc=f"round {self.round}: training", progress=c.progress,
        )
        self._scores_cache = None
        self.record.seconds["train"] = time.perf_counter() - start
        return losses

    def candidate_scores(self) -> sp.csr_matrix:
        """(n_items, n_phrases) classifier probabilities on the training items' candidate pairs."""
        if self._scores_cache is None:
            self._scores_cache = score_candidates(self.model, self.pairs, self.fit_rows, device=self.device)
        return self._scores_cache

    def infer(self) -> sp.csr_matrix:
        """Pseudo-labels from the classifier: candidates (not yet labels) with probability >= 0.95."""
        start = time.perf_counter()
        scores = self.candidate_scores()
        known = canonical_csr((self.gold + self.pseudo) > 0)
        confident = scores.copy()
        confident.data = (confident.data >= self.config.pseudo_threshold).astype(np.float64)
        self.proposed_classifier = canonical_csr((confident - confident.multiply(known)) > 0)
        self.record.seconds["infer"] = time.perf_counter() - start
        return self.proposed_classifier

    def score_components(self) -> dict[str, np.ndarray | sp.csr_matrix]:
        """SI (pairs), SN, PV, DA (per phrase) and the mean confidence, on the training items."""
        c = self.config
        rows = self.fit_rows
        label_cols = np.unique(canonical_csr((self.gold + self.pseudo) > 0)[rows].indices)
        sn = semantic_novelty(
            self.pairs.space.phrase_vectors, self.pairs.space.phrase_vectors[label_cols],
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
        n_cand = np.diff(self.pairs.space.counts.indptr).astype(np.float64)
        n_gold = np.diff(self.gold.indptr).astype(np.float64)
        budget = np.minimum((c.joint_budget * n_cand + n_gold) / 2, c.joint_budget * n_cand)
        budget = np.floor(budget * c.joint_decay**self.round + 0.5)
        return np.minimum(budget, c.max_joint_per_item).astype(np.int64)

    def joint_score(self) -> sp.csr_matrix:
        """Pseudo-labels from G: occurring candidates (out of the gold vocabulary unless
        ``joint_candidates="all"``), not yet labels nor classifier proposals, with
        G >= joint_threshold, the best ``joint_budget()`` of each item."""
        start = time.perf_counter()
        c = self.config
        parts = self.score_components()
        g = joint_score(parts["SI"], parts["SN"], parts["PV"], parts["DA"], use=c.scores)
        if c.joint_validity == "pair":
            g = canonical_csr(g.multiply(self.candidate_scores()))
        taken = canonical_csr((self.gold + self.pseudo + self.proposed_classifier) > 0)
        g = canonical_csr(g - g.multiply(taken))
        if c.joint_candidates == "oov":
            g.data[g.indices < self.pairs.space.n_gold] = 0.0
        g.data[g.data < c.joint_threshold] = 0.0
        g.eliminate_zeros()
        budget = self.joint_budget()
        top = top_k_indices(g, max(int(budget.max(initial=0)), 1))
        top[np.arange(top.shape[1])[None, :] >= budget[:, None]] = -1
        rows = np.repeat(np.arange(g.shape[0]), top.shape[1])
        keep = top.ravel() >= 0
        self.proposed_joint = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], top.ravel()[keep])), shape=g.shape)
        self.record.seconds["joint_score"] = time.perf_counter() - start
        return self.proposed_joint

    def proposals(self) -> list[tuple[int, str, str]]:
        """The pending pseudo-labels as (row, phrase, source) triples, for review by hand."""
        out = []
        for source, m in (("classifier", self.proposed_classifier), ("joint score", self.proposed_joint)):
            coo = m.tocoo()
            out += [(int(r), self.pairs.space.phrases[int(j)], source) for r, j in zip(coo.row, coo.col)]
        return out

    def select(self, rejected: set[tuple[int, str]] | None = None) -> int:
        """Accept the proposals (minus ``rejected`` (row, phrase) pairs); returns how many are new."""
        proposed = canonical_csr((self.proposed_classifier + self.proposed_joint) > 0)
        if rejected:
            index, n_phrases = self.pairs.space.phrases.index, proposed.shape[1]
            rejected_keys = np.array([r * n_phrases + index[label] for r, label in rejected if label in index], dtype=np.int64)
            coo = proposed.tocoo()
            keep = ~np.isin(coo.row.astype(np.int64) * n_phrases + coo.col, rejected_keys)
            proposed = canonical_csr(sp.csr_matrix((coo.data * keep, (coo.row, coo.col)), shape=proposed.shape))
        record = self.record
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
        if not len(self.val_rows):
            return float("nan"), float("nan")
        scores = score_candidates(self.model, self.pairs, self.val_rows, device=self.device)[self.val_rows]
        truth = self.gold[self.val_rows]
        ranked = top_k_indices(scores, 5)
        psp, psndcg = psp_at_k(ranked, truth, self._inv_prop, 5), psndcg_at_k(ranked, truth, self._inv_prop, 5)
        self.record.val_psp5, self.record.val_psndcg5 = psp, psndcg
        return psp, psndcg

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict:
        """A deep copy of everything the steps change (round, labels, proposals, history, weights):
        ``restore(snapshot)`` goes back to this point, e.g. to redo a round by hand."""
        return copy.deepcopy({
            "round": self.round, "pseudo": self.pseudo, "round_pseudo": self._round_pseudo,
            "proposed_classifier": self.proposed_classifier, "proposed_joint": self.proposed_joint,
            "history": self.history, "static_done": self._static_done, "best": self._best,
            "model": None if self.model is None else self.model.state_dict(),
        })

    def restore(self, snapshot: dict) -> None:
        """Go back to a :meth:`snapshot` (the classifier is rebuilt if there was none since)."""
        snapshot = copy.deepcopy(snapshot)
        self.round, self.pseudo, self._round_pseudo = snapshot["round"], snapshot["pseudo"], snapshot["round_pseudo"]
        self.proposed_classifier, self.proposed_joint = snapshot["proposed_classifier"], snapshot["proposed_joint"]
        self.history, self._static_done, self._best = snapshot["history"], snapshot["static_done"], snapshot["best"]
        if snapshot["model"] is None:
            self.model = None
        else:
            if self.model is None:
                c = self.config
                self.model = new_pair_classifier(self.pairs, tower=c.tower, hidden=c.hidden, dropout=c.dropout, seed=c.seed)
            self.model.load_state_dict(snapshot["model"])
            self.model.to(self.device)
        self._scores_cache = None

    # ------------------------------------------------------------------ whole runs
    def run_round(self) -> RoundRecord:
        """One full round: train, evaluate, and (unless stopping) infer, joint-score, select."""
        self.train()
        self.evaluate()
        record = self.record
        if self.config.variant == "diva-static" and self._static_done:
            return record
        self.infer()
        self.joint_score()
        self.select()
        self._static_done = True
        return record

    def fit(self, run_dir=None) -> "DiVa":
        """Rounds 0..rounds (round 0 trains on gold only); keeps the best round's classifier.

        run_dir: a folder for a run directory (see :mod:`labkit.diva.rundir`): each finished round
        is saved there atomically, and a run that finds rounds there goes on after the last one,
        ending with the same predictions as a run never stopped."""
        from .rundir import latest_round, round_path, save_round

        c = self.config
        total_rounds = 1 if c.variant == "diva-static" else c.rounds
        resumed = run_dir is not None and latest_round(run_dir, self) is not None
        best_score = max((self._round_score(r) for r in self.history), default=-np.inf) if resumed else -np.inf
        while True:
            if resumed:
                record, resumed = self.history[-1], False
            else:
                record = self.run_round()
                score = self._round_score(record)
                if score > best_score:
                    best_score, self._best = score, (self.round, copy.deepcopy(self.model.state_dict()))
                if run_dir is not None:
                    save_round(self, round_path(run_dir, self.round))
            new = record.new_from_classifier + record.new_from_joint
            if self.round >= total_rounds or (self.round > 0 and new < c.min_new_fraction * self.gold.nnz):
                break
            self.round += 1
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
