"""All the metrics of a label-set prediction at once, from label strings (what ``labkit eval`` prints)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..data.vocab import Vocabulary
from .ranking import inverse_propensity, ndcg_at_k, precision_at_k, psndcg_at_k, psp_at_k, recall_at_k
from .sets import set_scores
from .soft import soft_scores

LabelEmbedder = Callable[[list[str]], np.ndarray] | Mapping[str, np.ndarray]


def ranked_matrix(pred_lists: Sequence[Sequence[str]], vocab: Vocabulary, width: int) -> np.ndarray:
    """(n_items, width) label columns of each ranked list, padded with -1."""
    out = np.full((len(pred_lists), width), -1, dtype=np.int64)
    for i, labels in enumerate(pred_lists):
        idx = vocab.encode(list(labels)[:width])
        out[i, : len(idx)] = idx
    return out


def _embed(labels: list[str], embedder: LabelEmbedder) -> np.ndarray:
    if isinstance(embedder, Mapping):
        dim = len(next(iter(embedder.values())))
        return np.stack([np.asarray(embedder.get(label, np.zeros(dim)), dtype=np.float64) for label in labels])
    return np.asarray(embedder(labels), dtype=np.float64)


def evaluate_labels(
    pred_lists: Sequence[Sequence[str]],
    truth_lists: Sequence[Sequence[str]],
    *,
    ks: Sequence[int] = (1, 3, 5),
    train_lists: Sequence[Sequence[str]] | None = None,
    label_embedder: LabelEmbedder | None = None,
) -> dict[str, float]:
    """Set, ranking, propensity and (optionally) soft metrics of ranked predicted label lists.

    pred_lists[i] ranks item i's predicted labels best first; the whole list is its predicted set.
    train_lists gives the training label sets for PSP@k/PSnDCG@k propensities.
    label_embedder maps labels to vectors (a dict, or a function of a list of labels returning an
    (n, dim) array) for soft precision/recall/F1.
    Returns keys ``precision, recall, f1, coverage``, ``P@k, R@k, nDCG@k`` for each k, ``PSP@k,
    PSnDCG@k`` with ``train_lists``, ``soft_precision, soft_recall, soft_f1`` with an embedder.
    """
    if len(pred_lists) != len(truth_lists):
        raise ValueError(f"{len(pred_lists)} predictions for {len(truth_lists)} items")
    vocab = Vocabulary.from_label_sets(truth_lists)
    vocab = vocab.union(label for labels in pred_lists for label in labels)
    if train_lists is not None:
        vocab = vocab.union(label for labels in train_lists for label in labels)
    truth = vocab.label_matrix(truth_lists)
    pred = vocab.label_matrix(pred_lists)
    result = set_scores(pred, truth)
    width = min(max(ks), max((len(p) for p in pred_lists), default=0))  # not max(ks): --k 10**12
    ranked = ranked_matrix(pred_lists, vocab, width)
    inv_prop = inverse_propensity(vocab.label_matrix(train_lists)) if train_lists is not None else None
    for k in ks:
        result[f"P@{k}"] = precision_at_k(ranked, truth, k)
        result[f"R@{k}"] = recall_at_k(ranked, truth, k)
        result[f"nDCG@{k}"] = ndcg_at_k(ranked, truth, k)
        if inv_prop is not None:
            result[f"PSP@{k}"] = psp_at_k(ranked, truth, inv_prop, k)
            result[f"PSnDCG@{k}"] = psndcg_at_k(ranked, truth, inv_prop, k)
    if label_embedder is not None:
        result.update(soft_scores(pred, truth, _embed(list(vocab), label_embedder)))
    return result


def format_table(results: Mapping[str, Mapping[str, float]], *, digits: int = 4) -> str:
    """A Markdown table: one row per method (key of ``results``), one column per metric."""
    columns: list[str] = []
    for metrics in results.values():
        columns.extend(c for c in metrics if c not in columns)
    head = "| method | " + " | ".join(columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rows = [
        f"| {name} | " + " | ".join(
            f"{metrics[c]:.{digits}f}" if isinstance(metrics.get(c), float) else str(metrics.get(c, ""))
            for c in columns
        ) + " |"
        for name, metrics in results.items()
    ]
    return "\n".join([head, rule, *rows])
