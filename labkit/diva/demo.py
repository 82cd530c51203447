"""The demo: DiVa and every baseline on one corpus folder, as a Table-2-style comparison.

The folder has the MusicCaps-protocol layout (``train.jsonl``, ``test_comments.jsonl``,
``test1.jsonl`` with gold labels, ``test2.jsonl`` with complete labels, ``gold_vocab.txt``).
Soft precision/recall/F1 match labels by the encoder's phrase vectors. Coverage is scored twice:
the predictions alone (labelling from scratch, as for a platform's new songs) and the test items'
gold labels with the predictions added (Y^G ∪ Y+, what the paper's Eq. 1 and Table 2 score).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

from ..data.protocol import read_protocol
from ..embed import build_candidate_space, phrase_embedder
from ..metrics import evaluate_labels, format_table
from .config import DiVaConfig
from .harvest import VOCABULARY_METHODS, choose_encoder, comments_language, harvest, make_encoder, threshold_on_validation
from .string_match import vocabulary_match

GOLD_METHOD = "gold labels (test1)"
DEMO_METHODS = ("tfidf", "mlc", "eq2", "nnpu", "nst-mlc", "nst-eq2", "diva-static", "diva-light", "diva")
GOLD_COLUMNS = {"P": "precision", "R": "recall", "F1": "f1", "nDCG@5": "nDCG@5", "PSP@5": "PSP@5", "PSnDCG@5": "PSnDCG@5"}
COMPLETE_COLUMNS = {"P": "precision", "R": "recall", "F1": "f1", "SF1": "soft_f1", "coverage": "coverage"}


def added_right(predicted, gold, complete, vocabulary, *, top: int = 6) -> str:
    """One line: how many of the predicted labels are right (in the complete set) but missing from
    the item's gold labels, how many of those lie outside the gold vocabulary, and the commonest."""
    vocab = set(vocabulary)
    new = [label for p, g, c in zip(predicted, gold, complete) for label in p if label in set(c) and label not in set(g)]
    outside = Counter(label for label in new if label not in vocab)
    examples = ", ".join(f"{label} ({n})" for label, n in outside.most_common(top)) or "none"
    return f"{len(new)} right labels the gold labels lacked, {sum(outside.values())} outside the vocabulary: {examples}"


def standing(complete_rows: dict[str, dict[str, float]]) -> list[str]:
    """A plain line on where DiVa stands by coverage of the complete sets, when it was run."""
    if "diva" not in complete_rows:
        return []
    ranked = sorted((m for m in complete_rows if m != GOLD_METHOD), key=lambda m: -complete_rows[m]["coverage"])
    best, diva = ranked[0], complete_rows["diva"]["coverage"]
    if best == "diva":
        return ["", f"DiVa covers the most here ({diva:.3f})."]
    return ["", f"DiVa is not the best here: {best} covers {complete_rows[best]['coverage']:.3f}, DiVa {diva:.3f} "
            f"(rank {ranked.index('diva') + 1} of {len(ranked)}); the README's 'Where DiVa stands' says why."]


def run_comparison(folder: str | Path, *, methods=DEMO_METHODS, encoder: str = "auto", seed: int = 0, device: str = "auto") -> str:
    """Markdown tables comparing the methods on test1 (gold) and test2 (complete), and a line per
    method of what it added that the gold labels lacked."""
    folder = Path(folder)
    protocol = read_protocol(folder)
    train, test, gold, complete, vocab = protocol.train, protocol.test, protocol.gold, protocol.complete, protocol.vocabulary
    start = time.perf_counter()
    lang = comments_language(train, test)
    config = DiVaConfig.for_language(lang, seed=seed, device=device)
    encoder_name, why = choose_encoder(encoder, lang)
    texts = [*train.comments, *test.comments]
    enc = make_encoder(encoder_name, ["\n".join(c) for c in train.comments], lang=lang, config=config)
    space = build_candidate_space(texts, vocab, enc, lang=lang, n_fit=len(train))  # fitted on the training songs only
    embed = phrase_embedder(space, enc)
    predictions = {GOLD_METHOD: [list(g) for g in gold], "vocabulary match": vocabulary_match(test.comments, vocab, lang=lang)}
    tuned = []
    for method in methods:
        method_config = config
        if method in VOCABULARY_METHODS:  # "each baseline is optimized to gain its best performance"
            threshold, f1 = threshold_on_validation(method, space, train.label_sets, config)
            method_config = dataclasses.replace(config, predict_threshold=threshold)
            tuned.append(f"{method} {threshold:g} (validation F1 {f1:.3f})")
        result = harvest(train, test, method=method, gold_vocabulary=vocab, space=space, config=method_config, lang=lang)
        predictions[method] = [list(p.labels) for p in result.predictions]
    gold_rows, complete_rows, added = {}, {}, []
    for method, predicted in predictions.items():
        on_complete = evaluate_labels(predicted, complete, ks=(5,), label_embedder=embed)
        union = [list(dict.fromkeys((*g, *p))) for g, p in zip(gold, predicted)]
        union_coverage = evaluate_labels(union, complete, ks=(5,))["coverage"]
        if method != GOLD_METHOD:  # the gold labels are test1 itself
            on_gold = evaluate_labels(predicted, gold, ks=(5,), train_lists=train.label_sets)
            gold_rows[method] = {name: on_gold[key] for name, key in GOLD_COLUMNS.items()}
        complete_rows[method] = {name: on_complete[key] for name, key in COMPLETE_COLUMNS.items()}
        complete_rows[method]["cov gold ∪"] = union_coverage
        complete_rows[method]["labels/item"] = sum(map(len, predicted)) / max(len(predicted), 1)
        if method != GOLD_METHOD:
            added.append(f"- {method}: {added_right(predicted, gold, complete, vocab)}")
    seconds = time.perf_counter() - start
    return "\n".join(
        [
            f"Label harvesting on {folder} ({len(train)} training items, {len(test)} test items, {seconds:.0f} s)",
            f"Comments in {'Chinese' if lang == 'zh' else 'English'}; encoder {encoder_name} ({why}).",
            "coverage: the predictions alone; cov gold ∪: the test items' gold labels with the predictions added "
            "(Y^G ∪ Y+, the paper's measure).",
            *([f"Thresholds chosen on a validation fifth of the training items: {', '.join(tuned)}."] if tuned else []),
            "",
            "On the gold labels (test1):",
            format_table(gold_rows, digits=3),
            "",
            "On the complete label sets (test2):",
            format_table(complete_rows, digits=3),
            "",
            "What each method added that the gold labels lacked (right by test2):",
            *added,
            *standing(complete_rows),
        ]
    )
