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
from ..metrics import top_k_indices
from ..sparse import canonical_csr, lookup
from .baselines import eq2_scores, mlc_scores, nnpu_scores, nst_eq2_scores, nst_mlc_scores, tfidf_scores
from .config import DiVaConfig
from .iteration import DiVa
from .pairs import PairSpace

METHODS = ("diva", "diva-static", "diva-light", "eq2", "nst-eq2", "nst-mlc", "mlc", "nnpu", "tfidf")


@dataclass
class HarvestResult:
    """Ranked predictions for the items to label, seconds per stage, and the DiVa run if any."""

    predictions: list[Prediction]
    seconds: dict = field(default_factory=dict)
    rounds: int = 0
    run: DiVa | None = None


def gold_matrix(space: CandidateSpace, label_sets: Sequence[Sequence[str]], n_items: int) -> sp.csr_matrix:
    """(n_items, n_phrases) binary CSR: the first len(label_sets) rows hold those labels (labels
    that are not phrases of the space are left out), the other rows are empty."""
    labelled = space.phrases.label_matrix(label_sets)
    padding = sp.csr_matrix((n_items - labelled.shape[0], labelled.shape[1]))
    return sp.vstack([labelled, padding]).tocsr().astype(np.float64)


def suppress_nested(labels: Sequence[str], lang: str = "en") -> list[int]:
    """Positions of the labels to keep, best first: a label nested in (or holding) a better-ranked
    kept label ("piano" / "mellow piano melody") is dropped. English compares whole words,
    Chinese characters."""
    kept: list[int] = []
    padded = [f" {label} " if lang == "en" else label for label in labels]
    for i, label in enumerate(padded):
        if not any(label in padded[j] or padded[j] in label for j in kept):
            kept.append(i)
    return kept


def to_predictions(
    ids: Sequence[str], scores: sp.csr_matrix, space: CandidateSpace, *, threshold: float | None,
    top_k: int | None = None, nested: bool = False,
) -> list[Prediction]:
    """Ranked predictions from a score matrix whose rows match ``ids``: every candidate with a
    score >= threshold, best first (or the top_k best when ``threshold`` is None); with
    ``nested=True`` phrases nested in a better-scored predicted phrase are dropped."""
    scores = sp.csr_matrix(scores)
    if threshold is not None:
        kept = scores.copy()
        kept.data[kept.data < threshold] = 0.0
        kept.eliminate_zeros()
        width = int(np.diff(kept.indptr).max(initial=0)) or 1
    else:
        kept, width = scores, top_k or 5
    top = top_k_indices(kept, width)
    values = lookup(canonical_csr(kept), np.broadcast_to(np.arange(len(ids))[:, None], top.shape), top)
    out = []
    for i, item_id in enumerate(ids):
        valid = top[i] >= 0
        labels = [space.phrases[int(j)] for j in top[i][valid]]
        keep = suppress_nested(labels, space.lang) if nested else range(len(labels))
        out.append(Prediction(item_id, tuple(labels[k] for k in keep), tuple(float(values[i][valid][k]) for k in keep)))
    return out


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
    pairs = PairSpace.build(space, include_absent_vocabulary=config.include_absent_vocabulary, use_bounds=config.boundary_features)
    if method == "tfidf":
        scores, top_k = tfidf_scores(pairs, gold, train_rows, rows)
        return scores, None, top_k
    fn = {"eq2": eq2_scores, "nnpu": nnpu_scores, "nst-eq2": nst_eq2_scores, "mlc": mlc_scores, "nst-mlc": nst_mlc_scores}[method]
    return fn(pairs, gold, train_rows, rows, config, device), None, None


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

    encoder: an encoder object, a model name or path, or None for the default transformer.
    gold_vocabulary: the expert vocabulary (default: every label of ``train``).
    space: a ready candidate space over train + predict items (skips encoding).
    run_dir: for the DiVa variants, a run directory (:mod:`labkit.diva.rundir`): every finished
    round is saved there, and a run started again with the same data and settings resumes after
    the last complete round.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    config = dataclasses.replace(config) if config is not None else DiVaConfig()  # the caller's object stays as it was
    if method.startswith("diva"):
        config.variant = method
    seconds: dict[str, float] = {}
    vocab = list(gold_vocabulary) if gold_vocabulary is not None else train.label_vocabulary().tokens
    if space is None:
        start = time.perf_counter()
        if encoder is None or isinstance(encoder, str):
            encoder_lang = lang
            if lang == "auto":  # word vectors tokenise by language: decide it here, from the comments
                from ..text.language import detect_language

                encoder_lang = detect_language(c for item in (*train, *predict) for c in item.comments)
            encoder = get_encoder(encoder or DEFAULT_MODEL, device=config.device, progress=config.progress, lang=encoder_lang)
        space = build_candidate_space([*train.comments, *predict.comments], vocab, encoder, lang=lang)
        seconds["encode"] = time.perf_counter() - start
    n_train = len(train)
    train_rows = np.arange(n_train)
    rows = np.arange(n_train, n_train + len(predict))
    gold = gold_matrix(space, train.label_sets, space.n_items)
    start = time.perf_counter()
    result = HarvestResult([], seconds)
    if method.startswith("diva") and run_dir is not None:
        from .rundir import fingerprint, start_run

        settings = {k: v for k, v in config.to_dict().items() if k not in ("progress", "device")}
        data = fingerprint(train.ids, train.comments, train.label_sets, predict.ids, predict.comments, vocab, lang,
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
