"""The demo: every label-harvesting method of the kit on one corpus folder, as a Table-2-style table.

The folder has the MusicCaps-protocol layout (``train.jsonl``, ``test_comments.jsonl``,
``test1.jsonl`` with gold labels, ``test2.jsonl`` with complete labels, ``gold_vocab.txt``).
"""

from __future__ import annotations

from pathlib import Path

from .baselines_simple import all_candidates, vocabulary_match
from .data import read_jsonl_corpus
from .data.textfile import iter_lines
from .metrics import evaluate_labels, format_table

GOLD_METHOD = "gold labels (test1)"
GOLD_COLUMNS = {"P": "precision", "R": "recall", "F1": "f1", "nDCG@5": "nDCG@5", "PSP@5": "PSP@5", "PSnDCG@5": "PSnDCG@5"}
COMPLETE_COLUMNS = {"P": "precision", "R": "recall", "F1": "f1", "SF1": "soft_f1", "coverage": "coverage"}


def harvest(folder: str | Path) -> dict[str, list[list[str]]]:
    """Each method's ranked labels for the test items of ``folder``, in test order."""
    folder = Path(folder)
    test = read_jsonl_corpus(folder / "test_comments.jsonl")
    gold_vocab = [line.strip() for _, line in iter_lines(folder / "gold_vocab.txt")]
    test1 = read_jsonl_corpus(folder / "test1.jsonl", require_labels=True)
    return {
        GOLD_METHOD: [list(test1[i].labels) for i in test.ids],
        "vocabulary match": vocabulary_match(test.comments, gold_vocab),
        "all candidate phrases": all_candidates(test.comments),
    }


def run_comparison(folder: str | Path) -> str:
    """Markdown tables comparing the methods on test1 (gold) and test2 (complete)."""
    folder = Path(folder)
    train = read_jsonl_corpus(folder / "train.jsonl", require_labels=True)
    test = read_jsonl_corpus(folder / "test_comments.jsonl")
    test1 = read_jsonl_corpus(folder / "test1.jsonl", require_labels=True)
    test2 = read_jsonl_corpus(folder / "test2.jsonl", require_labels=True)
    gold_rows, complete_rows = {}, {}
    for method, predicted in harvest(folder).items():
        on_gold = evaluate_labels(predicted, [test1[i].labels for i in test.ids], ks=(5,), train_lists=train.label_sets)
        on_complete = evaluate_labels(predicted, [test2[i].labels for i in test.ids], ks=(5,))
        if method != GOLD_METHOD:  # the gold labels are test1 itself
            gold_rows[method] = {name: on_gold[key] for name, key in GOLD_COLUMNS.items() if key in on_gold}
        complete_rows[method] = {name: on_complete[key] for name, key in COMPLETE_COLUMNS.items() if key in on_complete}
        complete_rows[method]["labels/item"] = sum(map(len, predicted)) / max(len(predicted), 1)
    return "\n".join(
        [
            f"Label harvesting on {folder} ({len(train)} training items, {len(test)} test items)",
            "",
            "On the gold labels (test1):",
            format_table(gold_rows),
            "",
            "On the complete label sets (test2):",
            format_table(complete_rows, digits=3),
        ]
    )
