"""Settings of a DiVa run (and of the baselines that share its pair classifier)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

VARIANTS = ("diva", "diva-static", "diva-light")


@dataclass
class DiVaConfig:
    """Defaults follow the paper and the authors' code where they say; the rest were chosen on a
    validation fifth of MusicCaps' training clips scored on complete label sets
    (``bench/diva_validation.py``; the test part is never used to choose): one round (a second
    changed coverage by +0.001, within the seeds' spread, for 1.5 times the time), at most one
    joint-score label per item with G >= 0.05 (three with the authors' 0.0025: -0.028), no held-out
    validation part (tail PSP on gold labels always preferred round 0), unlabelled negatives
    weighing 0.1, boundary features on.

    min_steps: small corpora train for more epochs, so that round 0 takes at least this many
    optimiser steps (fine-tuning: a quarter of it).
    pseudo_threshold: classifier confidence for a pseudo-label (authors: 0.95).
    joint_threshold: G for a pseudo-label from the joint score (authors: 0.0025 on their corpus,
    whose comments are ~40 times longer than MusicCaps captions, so TF-IDF values run smaller).
    joint_candidates: ``"oov"`` scores only phrases outside the gold vocabulary with G (the
    classifier's inference covers missed in-vocabulary labels), ``"all"`` every occurring phrase.
    joint_validity: ``"paper"`` uses G as defined; ``"pair"`` also multiplies it by the
    classifier's probability of the (item, candidate) pair.
    joint_budget, joint_decay, max_joint_per_item: per item and round, at most
    min((b n + g) / 2, b n) * decay^round joint-score pseudo-labels (best G first), n its candidates,
    g its gold labels, b the budget (the authors' code: 0.05 and 0.5), and never more than the cap.
    tau: the PV and DA threshold (authors: 0.0025). continuous: PV and DA as continuous factors.
    scores: which of SI, SN, PV, DA enter G (Figure 4 ablation).
    unlabeled_weight: loss weight of sampled negatives whose phrase is no expert's label (outside
    the gold labels of the training items; with ``experts_weigh_negatives=False``, outside the
    pseudo-labels too): such a phrase is unlabelled rather than wrong.
    experts_weigh_negatives: a phrase pseudo-labelled on a few items stays unlabelled on the others
    (pseudo-labels are few by design); False weighs its other occurrences as sure negatives, as
    the kit did before (which taught the fine-tuned classifier that what it had just harvested is
    mostly wrong).
    boundary_features: give the pair classifier how each occurrence is bounded (context classes
    of the neighbouring tokens, whole list item, neighbouring words' vectors).
    negatives_per_positive: sampled negatives per kept positive; 0: every other candidate of the
    training items is a negative.
    vocabulary_features: the pair features include a one-hot of the phrase's gold-vocabulary entry
    (see :class:`labkit.diva.pairs.PairSpace`).
    nnpu_ascent: the nnPU loss (Eq. 12) takes Kiryo et al.'s gradient ascent step on the negative
    risk when it falls below zero, instead of only clamping it at zero (as Eq. 12 is written).
    Settings added after runs were first saved are in :data:`LEGACY_SETTINGS` with the value that
    reproduces how runs behaved before them.
    predict_threshold: a candidate with this probability or more is predicted.
    suppress_nested: of predicted phrases nested in one another ("piano" in "mellow piano
    melody"), keep only the best scored (1.6% of MusicCaps' complete labels are nested).
    min_new_fraction: stop when a round adds fewer new pseudo-labels than this share of gold labels.
    validation_fraction: training items held out to score each round by tail PSP@5 + PSnDCG@5
    (0: none; then ``fit`` keeps the last round).
    select_round: ``"best"`` keeps the classifier of the round with the best validation score,
    ``"last"`` the last one.
    """

    variant: str = "diva"
    rounds: int = 1
    epochs: int = 10
    finetune_epochs: int = 3
    min_steps: int = 400
    negatives_per_positive: int = 5
    subsample: float | None = 1e-2
    tower: int = 256
    hidden: int = 256
    dropout: float = 0.1
    lr: float = 1e-3
    batch_size: int = 128
    pseudo_threshold: float = 0.95
    joint_threshold: float = 0.05
    joint_candidates: str = "oov"
    joint_validity: str = "pair"
    joint_budget: float = 0.05
    joint_decay: float = 0.5
    max_joint_per_item: int = 1
    tau: float = 0.0025
    continuous: bool = False
    scores: tuple[str, ...] = ("SI", "SN", "PV", "DA")
    n_clusters: int = 15
    kmeans_runs: int = 10
    pv_sample: int = 128
    unlabeled_weight: float = 0.1
    experts_weigh_negatives: bool = True
    boundary_features: bool = True
    vocabulary_features: bool = False
    nnpu_ascent: bool = False
    predict_threshold: float = 0.5
    suppress_nested: bool = True
    include_absent_vocabulary: bool = True
    min_new_fraction: float = 0.01
    validation_fraction: float = 0.0
    select_round: str = "best"
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown DiVa variant {self.variant!r}: choose from {VARIANTS}")
        self.scores = tuple(self.scores)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def for_language(cls, lang: str, **settings) -> DiVaConfig:
        """The defaults for comments in ``lang`` (``"en"`` or ``"zh"``), then ``settings``.

        English keeps the class defaults. Chinese uses :data:`CHINESE_DEFAULTS`, chosen on a
        validation fifth of the MuChin protocol's training songs, scored on complete label sets
        rebuilt from ``muchin_dev.jsonl`` (``bench/diva_muchin.py``; never on the test songs).
        """
        if lang not in ("en", "zh"):
            raise ValueError(f"unknown language {lang!r}: use 'en' or 'zh'")
        base = dict(CHINESE_DEFAULTS) if lang == "zh" else {}
        base.update(settings)
        return cls(**base)


# Settings added after run folders were first saved (main d2a9804), with the value that reproduces
# how runs behaved before them: a saved run or state lacking one was made with that value.
LEGACY_SETTINGS: dict = {"vocabulary_features": False, "nnpu_ascent": False, "experts_weigh_negatives": False}

# Chinese comments (MuChin): with the English defaults the classifier called 15-20 of an item's
# ~60 candidates labels. Sampled negatives weighing 0.1 and five per positive made the model see
# labels as a sixth of all candidates (the truth: 1 in 27), and 97% of candidates lie outside the
# vocabulary, so the light weight lifted every one of them. Here: every candidate is a negative at
# full weight, no subsampling of frequent labels, a one-hot of the vocabulary entry (how often
# each expert label that occurs is a label), no absent vocabulary entries, and the threshold
# chosen on validation for the calibrated probabilities.
CHINESE_DEFAULTS: dict = {
    "negatives_per_positive": 0,
    "unlabeled_weight": 1.0,
    "subsample": None,
    "vocabulary_features": True,
    "include_absent_vocabulary": False,
    "predict_threshold": 0.1,
}
