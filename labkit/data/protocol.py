"""The label-harvesting protocol folder: a training part with gold labels, test items given by
their comments, and the test items' gold (test1) and complete (test2) label sets.

Layout (as in ``../shared/data/musiccaps/diva`` and the bundled ``data/synthetic``):
``train.jsonl``, ``test_comments.jsonl``, ``test1.jsonl``, ``test2.jsonl``, ``gold_vocab.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .corpus import Corpus
from .errors import DataFormatError
from .jsonl import read_jsonl_corpus
from .textfile import iter_lines, require_folder


@dataclass
class HarvestingProtocol:
    """train: items with gold labels; test: items to label (comments only); gold and complete:
    the test items' label sets, in ``test`` order; vocabulary: the expert vocabulary."""

    train: Corpus
    test: Corpus
    gold: list[tuple[str, ...]]
    complete: list[tuple[str, ...]]
    vocabulary: list[str]


def read_protocol(folder: str | Path) -> HarvestingProtocol:
    """Read a protocol folder; a test item missing from test1 or test2 (or a file given for the
    folder) raises DataFormatError, a missing folder or file FileNotFoundError."""
    folder = require_folder(folder)
    train = read_jsonl_corpus(folder / "train.jsonl", require_labels=True)
    test = read_jsonl_corpus(folder / "test_comments.jsonl")
    parts = []
    for name in ("test1.jsonl", "test2.jsonl"):
        part = read_jsonl_corpus(folder / name, require_labels=True)
        missing = [i for i in test.ids if i not in part]
        if missing:
            raise DataFormatError(folder / name, "test item missing from this file", record=missing[0])
        parts.append([part[i].labels for i in test.ids])
    vocabulary = [line.strip() for _, line in iter_lines(folder / "gold_vocab.txt")]
    return HarvestingProtocol(train, test, parts[0], parts[1], vocabulary)
