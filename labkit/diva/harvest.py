"""Harvest labels for new items with any method: the one call behind ``labkit diva``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..data.corpus import Corpus
from ..data.jsonl import Prediction
from ..embed import DEFAULT_MODEL, build_candidate_space, get_encoder, pick_device
from ..embed.space import CandidateSpace
from .baselines import eq2_scores, mlc_scores, nnpu_scores, nst_eq2_scores, nst_mlc_scores, tfidf_scores
from .config import DiVaConfig
from .iteration import DiVa
from .pairs import PairSpace
from .predictions import to_predictions

METHODS = ("diva", "diva-static", "diva-light", "eq2", "nst-eq2", "nst-mlc", "mlc", "nnpu", "tfidf")


@dataclass
class HarvestResult:
    """Ranked predictions for the items to label, seconds per stage, and the DiVa run if any."""

    predictions: list[Prediction]
    seconds: dict = field(default_factory=dict)
    rounds: int = 0
    run: DiVa | None = None
    encoder: object | None = None

    def harvester(self):
        """The :class:`~labkit.diva.harvester.Harvester` of the DiVa run (to save and label new items)."""
        from .harvester import Harvester

        if self.run is None or self.encoder is None:
            raise ValueError("only a DiVa run with its encoder makes a harvester (method diva, diva-static or diva-light)")
        return Harvester.from_run(self.run, self.encoder)


def gold_matrix(space: CandidateSpace, label_sets: Sequence[Sequence[str]], n_items: int) -> sp.csr_matrix:
    """(n_items, n_phrases) binary CSR: the first len(label_sets) rows hold those labels (labels
    that are not phrases of the space are left out), the other rows are empty."""
    labelled = space.phrases.label_matrix(label_sets)
    padding = sp.csr_matrix((n_items - labelled.shape[0], labelled.shape[1]))
    return sp.vstack([labelled, padding]).tocsr().astype(np.float64)


def method_scores(
    method: str, space: CandidateSpace, gold: sp.csr_matrix, train_rows: np.ndarray, rows: np.ndarray,
    config: DiVaConfig, *, run_dir=None,
) -> tuple[sp.csr_matrix, DiVa | None, int | None]:
    """Train ``method`` on the gold labels of ``train_rows`` and score the candidates of ``rows``.

    Returns the (n_items, n_phrases) score matrix, the DiVa run (DiVa variants) and, for TF-IDF,
    the number of labels to keep per item (other methods keep scores >= config.predict_threshold).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    device = pick_device(config.device)
    if method.startswith("diva"):
        config = dataclasses.replace(config, variant=method)
        run = DiVa(space, train_rows, gold, config)
        if run_dir is None:
            run.fit()
        else:
            from .rundir import fit_in_run_dir

            fit_in_run_dir(run, run_dir)
        return run.predict(rows), run, None
    pairs = PairSpace.build(space, include_absent_vocabulary=config.include_absent_vocabulary, use_bounds=config.boundary_features,
                            vocabulary_features=config.vocabulary_features)
    if method == "tfidf":
        scores, top_k = tfidf_scores(pairs, gold, train_rows, rows)
        return scores, None, top_k
    fn = {"eq2": eq2_scores, "nnpu": nnpu_scores, "nst-eq2": nst_eq2_scores, "mlc": mlc_scores, "nst-mlc": nst_mlc_scores}[method]
    return fn(pairs, gold, train_rows, rows, config, device), None, None


CORPUS_ENCODERS = ("fasttext", "word2vec")


def choose_encoder(name: str | None, lang: str) -> tuple[str, str]:
    """(encoder name, why) for ``name`` (None or ``"auto"``: by language) and comments in ``lang``.

    English: the bundled sentence transformer. Chinese: FastText vectors trained on the comments
    themselves (character n-grams suit Chinese words), as no Chinese transformer is bundled and
    downloads may be off; give ``--encoder hfl/chinese-xlnet-base`` (or any model) to use one.
    """
    if name not in (None, "auto"):
        return name, "as asked"
    if lang == "zh":
        return "fasttext", ("Chinese comments: FastText vectors trained on the comments (no Chinese sentence encoder is "
                            "bundled; pass --encoder NAME for a Hugging Face one)")
    return DEFAULT_MODEL, "English comments: the bundled sentence encoder"


def make_encoder(name: str, texts: Sequence[str], *, lang: str, config: DiVaConfig):
    """An encoder object: ``"fasttext"`` / ``"word2vec"`` are trained on ``texts`` (one string
    per training item, seeded by ``config.seed``: never on the items to label); anything else is
    loaded by :func:`get_encoder`."""
    if name in CORPUS_ENCODERS:
        from ..embed.static import StaticEncoder

        return StaticEncoder.train(texts, lang=lang, fasttext=name == "fasttext", seed=config.seed)
    return get_encoder(name, device=config.device, progress=config.progress, lang=lang)


def comments_language(*corpora: Corpus) -> str:
    """``"zh"`` or ``"en"``, detected from the comments of the corpora."""
    from ..text.language import detect_language

    return detect_language(c for corpus in corpora for item in corpus for c in item.comments)


def keep_gold(predictions: Sequence[Prediction], gold: Sequence[Sequence[str]]) -> list[Prediction]:
    """Each item's gold labels (score 1.0) followed by its harvested labels that are new: Y^G ∪ Y+,
    the label set DiVa's Eq. 1 scores."""
    out = []
    for p, labels in zip(predictions, gold, strict=True):
        known = list(dict.fromkeys(labels))
        scores = p.scores or tuple(float("nan") for _ in p.labels)
        added = [(label, score) for label, score in zip(p.labels, scores) if label not in set(labels)]
        out.append(Prediction(p.id, (*known, *(a for a, _ in added)), (*(1.0 for _ in known), *(b for _, b in added))))
    return out


VOCABULARY_METHODS = ("mlc", "nst-mlc")  # label only the gold vocabulary
THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def threshold_on_validation(
    method: str, space: CandidateSpace, train_labels: Sequence[Sequence[str]], config: DiVaConfig, *,
    fraction: float = 0.2, thresholds: Sequence[float] = THRESHOLDS,
) -> tuple[float, float]:
    """(threshold, its validation F1) for a method that labels only the gold vocabulary: it trains
    on the gold labels of 1 - ``fraction`` of the training items (rows 0..len(train_labels)-1 of
    ``space``), scores the rest, and keeps the threshold of best mean F1 against their gold labels.

    Gold labels are all in the vocabulary, so for these methods they are a fair validation target;
    a pair classifier's labels outside it would count as wrong, so the DiVa variants and EQ. 2 keep
    thresholds chosen on complete label sets (``bench/diva_validation.py``, ``bench/diva_muchin.py``).
    """
    from ..metrics import evaluate_labels

    if method not in VOCABULARY_METHODS:
        raise ValueError(f"threshold_on_validation tunes {', '.join(VOCABULARY_METHODS)}, not {method!r}")
    order = np.random.default_rng(config.seed).permutation(len(train_labels))
    n_val = max(1, int(round(len(order) * fraction)))
    val_rows, fit_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    fitting = set(fit_rows.tolist())
    gold = gold_matrix(space, [labels if i in fitting else () for i, labels in enumerate(train_labels)], space.n_items)
    scores, _, _ = method_scores(method, space, gold, fit_rows, val_rows, config)
    ids = [str(i) for i in val_rows]
    truth = [list(train_labels[i]) for i in val_rows]
    f1 = {}
    for t in thresholds:
        predicted = [list(p.labels) for p in to_predictions(ids, sp.csr_matrix(scores)[val_rows], space, threshold=t,
                                                             nested=config.suppress_nested)]
        f1[t] = evaluate_labels(predicted, truth, ks=(1,))["f1"]
    best = max(f1, key=f1.get)
    return float(best), float(f1[best])


def harvest(
    train: Corpus,
    predict: Corpus,
    *,
    method: str = "diva",
    encoder=None,
    gold_vocabulary: Sequence[str] | None = None,
    config: DiVaConfig | None = None,
    lang: str = "auto",
    space: CandidateSpace | None = None,
    run_dir=None,
) -> HarvestResult:
    """Train on ``train`` (gold labels) and return ranked label predictions for ``predict``.

    encoder: an encoder object, a model name or path, ``"fasttext"`` / ``"word2vec"`` (trained on
    the comments), or None / ``"auto"`` to choose by language (:func:`choose_encoder`).
    config: the settings; None: :meth:`DiVaConfig.for_language` of the comments' language.
    gold_vocabulary: the expert vocabulary (default: every label of ``train``).
    space: a ready candidate space of the train items then the predict items, fitted on the train
    items alone (``build_candidate_space(..., n_fit=len(train))``; skips encoding). Training never
    sees the items it labels: they get candidates, vectors and features as new items would.
    run_dir: for the DiVa variants, a run directory (:mod:`labkit.diva.rundir`): every finished
    round is saved there, and a run started again with the same data and settings resumes after
    the last complete round.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    lang_given = lang  # a run directory's fingerprint records the option as given
    if lang == "auto":  # tokenisers, word vectors and the defaults go by language: decide it here
        lang = space.lang if space is not None else comments_language(train, predict)
    # the caller's object stays as it was
    config = dataclasses.replace(config) if config is not None else DiVaConfig.for_language(lang)
    if method.startswith("diva"):
        config.variant = method
    seconds: dict[str, float] = {}
    vocab = list(gold_vocabulary) if gold_vocabulary is not None else train.label_vocabulary().tokens
    if space is None:
        start = time.perf_counter()
        if encoder is None or isinstance(encoder, str):
            name, _ = choose_encoder(encoder, lang)
            encoder = make_encoder(name, ["\n".join(c) for c in train.comments], lang=lang, config=config)
        space = build_candidate_space([*train.comments, *predict.comments], vocab, encoder, lang=lang, n_fit=len(train))
        seconds["encode"] = time.perf_counter() - start
    elif space.n_fit != len(train) or space.n_items != len(train) + len(predict):
        raise ValueError(f"the space must hold the {len(train)} training items (fitted on) then the {len(predict)} items to label: "
                         f"build it with build_candidate_space([*train.comments, *predict.comments], ..., n_fit=len(train)) "
                         f"(it has {space.n_items} items, fitted on {space.n_fit})")
    n_train = len(train)
    train_rows = np.arange(n_train)
    rows = np.arange(n_train, n_train + len(predict))
    gold = gold_matrix(space, train.label_sets, space.n_items)
    start = time.perf_counter()
    result = HarvestResult([], seconds, encoder=encoder if not isinstance(encoder, str) else None)
    if method.startswith("diva") and run_dir is not None:
        from .rundir import fingerprint, start_run

        settings = {k: v for k, v in config.to_dict().items() if k not in ("progress", "device")}
        data = fingerprint(train.ids, train.comments, train.label_sets, predict.ids, predict.comments, vocab, lang_given,
                           getattr(encoder, "encoder_id", None) or str(encoder))
        start_run(run_dir, {"method": method, "settings": settings, "data": data, "n_train": len(train), "n_predict": len(predict)})
    scores, run, top_k = method_scores(method, space, gold, train_rows, rows, config, run_dir=run_dir)
    threshold = None if top_k else config.predict_threshold
    if run is not None:
        result.run, result.rounds = run, run.best_round
        for record in run.history:
            for stage, s in record.seconds.items():
                seconds[stage] = seconds.get(stage, 0.0) + s
    seconds["train+infer"] = time.perf_counter() - start
    result.predictions = to_predictions(
        predict.ids, sp.csr_matrix(scores)[rows], space, threshold=threshold, top_k=top_k,
        nested=config.suppress_nested and method != "tfidf",
    )
    return result
