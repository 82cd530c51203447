"""The demo: DiVa and every baseline on one corpus folder, as a Table-2-style comparison.

The folder has the MusicCaps-protocol layout (``train.jsonl``, ``test_comments.jsonl``,
``test1.jsonl`` with gold labels, ``test2.jsonl`` with complete labels, ``gold_vocab.txt``).
Soft precision/recall/F1 match labels by the encoder's phrase vectors.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..data.protocol import read_protocol
from ..embed import DEFAULT_MODEL, build_candidate_space, get_encoder, phrase_embedder
from ..metrics import evaluate_labels, format_table
from .config import DiVaConfig
from .harvest import harvest
from .string_match import vocabulary_match

GOLD_METHOD = "gold labels (test1)"
DEMO_METHODS = ("tfidf", "mlc", "eq2", "nnpu", "nst-mlc", "nst-eq2", "diva-static", "diva-light", "diva")
GOLD_COLUMNS = {"P": "precision", "R": "recall", "F1": "f1", "nDCG@5": "nDCG@5", "PSP@5": "PSP@5", "PSnDCG@5": "PSnDCG@5"}
COMPLETE_COLUMNS = {"P": "precision", "R": "recall", "F1": "f1", "SF1": "soft_f1", "coverage": "coverage"}


def run_comparison(folder: str | Path, *, methods=DEMO_METHODS, encoder: str = DEFAULT_MODEL, seed: int = 0, device: str = "auto") -> str:
    """Markdown tables comparing the methods on test1 (gold) and test2 (complete)."""
    folder = Path(folder)
    protocol = read_protocol(folder)
    train, test, gold, complete, vocab = protocol.train, protocol.test, protocol.gold, protocol.complete, protocol.vocabulary
    start = time.perf_counter()
    enc = get_encoder(encoder)
    space = build_candidate_space([*train.comments, *test.comments], vocab, enc)
    embed = phrase_embedder(space, enc)
    predictions = {GOLD_METHOD: [list(g) for g in gold], "vocabulary match": vocabulary_match(test.comments, vocab)}
    for method in methods:
        result = harvest(train, test, method=method, gold_vocabulary=vocab, space=space, config=DiVaConfig(seed=seed, device=device))
        predictions[method] = [list(p.labels) for p in result.predictions]
    gold_rows, complete_rows = {}, {}
    for method, predicted in predictions.items():
        on_complete = evaluate_labels(predicted, complete, ks=(5,), label_embedder=embed)
        if method != GOLD_METHOD:  # the gold labels are test1 itself
            on_gold = evaluate_labels(predicted, gold, ks=(5,), train_lists=train.label_sets)
            gold_rows[method] = {name: on_gold[key] for name, key in GOLD_COLUMNS.items()}
        complete_rows[method] = {name: on_complete[key] for name, key in COMPLETE_COLUMNS.items()}
        complete_rows[method]["labels/item"] = sum(map(len, predicted)) / max(len(predicted), 1)
    seconds = time.perf_counter() - start
    return "\n".join(
        [
            f"Label harvesting on {folder} ({len(train)} training items, {len(test)} test items, {seconds:.0f} s)",
            "",
            "On the gold labels (test1):",
            format_table(gold_rows, digits=3),
            "",
            "On the complete label sets (test2):",
            format_table(complete_rows, digits=3),
        ]
    )
