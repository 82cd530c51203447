"""The JSONL corpus format used across the kit, and prediction files.

Corpus: one object per line, ``{"id": str, "comments": [str, ...], "labels": [str, ...]}``
(``labels`` optional). Predictions: ``{"id": str, "labels": [str, ...], "scores": [float, ...]}``,
labels ranked best first, ``scores`` optional.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..outputs import write_output_file
from .corpus import Corpus, Item
from .errors import DataFormatError
from .textfile import iter_lines, parse_json, stream_lines


def _parse_object(path: Path, number: int, line: str) -> dict:
    obj = parse_json(path, line, line=number)
    if not isinstance(obj, dict):
        raise DataFormatError(path, f"expected a JSON object, found {type(obj).__name__}", line=number)
    return obj


def _string_list(path: Path, number: int, obj: dict, key: str, *, required: bool) -> tuple[str, ...] | None:
    if key not in obj:
        if required:
            raise DataFormatError(path, f"missing field {key!r}", line=number)
        return None
    value = obj[key]
    if not isinstance(value, list):
        raise DataFormatError(path, f"field {key!r} must be a list of strings, found {type(value).__name__}", line=number)
    for k, entry in enumerate(value):
        if not isinstance(entry, str):
            raise DataFormatError(
                path, f"field {key!r}[{k}] must be a string, found {type(entry).__name__}", line=number
            )
    return tuple(value)


def _item_id(path: Path, number: int, obj: dict, seen: dict[str, int]) -> str:
    if "id" not in obj:
        raise DataFormatError(path, "missing field 'id'", line=number)
    item_id = obj["id"]
    if not isinstance(item_id, str) or not item_id:
        raise DataFormatError(path, f"field 'id' must be a non-empty string, found {item_id!r}", line=number)
    if item_id in seen:
        raise DataFormatError(path, f"duplicate id {item_id!r} (first on line {seen[item_id]})", line=number)
    seen[item_id] = number
    return item_id


def read_jsonl_corpus(path: str | Path, *, require_labels: bool = False) -> Corpus:
    """Read a JSONL corpus; every problem raises :class:`DataFormatError` with its line.

    Labels are de-duplicated keeping their first occurrence; an item without a ``labels`` field
    gets ``labels=None`` (unless ``require_labels``, which makes the field mandatory).
    """
    path = Path(path)
    seen: dict[str, int] = {}
    items = []
    for number, line in iter_lines(path):
        obj = _parse_object(path, number, line)
        item_id = _item_id(path, number, obj, seen)
        comments = _string_list(path, number, obj, "comments", required=True)
        labels = _string_list(path, number, obj, "labels", required=require_labels)
        if labels is not None:
            labels = tuple(dict.fromkeys(labels))
        items.append(Item(item_id, comments, labels))
    return Corpus(items, name=path.stem)


def stream_jsonl_items(path: str | Path) -> Iterator[Item]:
    """The items of a JSONL corpus read one line at a time (for labelling files larger than
    memory), checked as :func:`read_jsonl_corpus` checks them: a problem raises
    :class:`DataFormatError` with its line when the reader reaches it."""
    path = Path(path)
    seen: dict[str, int] = {}
    for number, line in stream_lines(path):
        obj = _parse_object(path, number, line)
        item_id = _item_id(path, number, obj, seen)
        comments = _string_list(path, number, obj, "comments", required=True)
        labels = _string_list(path, number, obj, "labels", required=False)
        yield Item(item_id, comments, None if labels is None else tuple(dict.fromkeys(labels)))


def item_from_line(path: str | Path, text: str, *, line: int | None = None) -> Item:
    """One JSONL corpus record as an item, checked as :func:`stream_jsonl_items` checks each
    (all but the ids' uniqueness, which needs the whole file): problems raise
    :class:`DataFormatError` naming ``path`` and ``line`` where given."""
    path = Path(path)
    obj = _parse_object(path, line, text)
    item_id = _item_id(path, line, obj, {})
    comments = _string_list(path, line, obj, "comments", required=True)
    labels = _string_list(path, line, obj, "labels", required=False)
    return Item(item_id, comments, None if labels is None else tuple(dict.fromkeys(labels)))


def prediction_line(p: Prediction) -> str:
    """One line of a prediction file (without the newline)."""
    obj: dict = {"id": p.id, "labels": list(p.labels)}
    if p.scores is not None:
        obj["scores"] = [round(float(s), 6) for s in p.scores]
    return json.dumps(obj, ensure_ascii=False)


def corpus_line(item: Item) -> str:
    """One line of a JSONL corpus (without the newline); an item without labels gets no ``labels`` field."""
    obj: dict = {"id": item.id, "comments": list(item.comments)}
    if item.labels is not None:
        obj["labels"] = list(item.labels)
    return json.dumps(obj, ensure_ascii=False)


def write_jsonl_corpus(corpus: Corpus | Iterable[Item], path: str | Path) -> None:
    """Write items as a JSONL corpus (atomically); items without labels get no ``labels`` field.
    An existing ``path`` is replaced only when it is a JSONL corpus (see :mod:`labkit.outputs`)."""
    lines = [corpus_line(item) for item in corpus]
    write_output_file(path, "\n".join(lines) + "\n", kind="jsonl-corpus", option="output")


@dataclass(frozen=True)
class Prediction:
    """An item's predicted labels, ranked best first, with optional scores of the same length."""

    id: str
    labels: tuple[str, ...]
    scores: tuple[float, ...] | None = None


def _score(path: Path, number: int, k: int, value: object) -> float:
    """``scores[k]`` as a finite float; NaN, infinity, a number beyond float range (a 400-digit
    integer) or a non-number raise :class:`DataFormatError` naming the line."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataFormatError(path, f"'scores'[{k}] must be a finite number, found {type(value).__name__}", line=number)
    try:
        score = float(value)
    except OverflowError:
        score = math.inf
    if not math.isfinite(score):
        shown = "an integer too large for a float" if isinstance(value, int) else repr(value)
        raise DataFormatError(path, f"'scores'[{k}] must be a finite number, found {shown}", line=number)
    return score


def read_predictions(path: str | Path) -> list[Prediction]:
    """Read a prediction file (JSONL: ``id``, ``labels`` ranked best first, optional ``scores``).

    A label listed twice, scores of the wrong length or non-finite scores raise
    :class:`DataFormatError` naming the line.
    """
    path = Path(path)
    seen: dict[str, int] = {}
    predictions = []
    for number, line in iter_lines(path):
        obj = _parse_object(path, number, line)
        item_id = _item_id(path, number, obj, seen)
        labels = _string_list(path, number, obj, "labels", required=True)
        if len(set(labels)) != len(labels):
            raise DataFormatError(path, "a label is listed twice in 'labels'", line=number)
        scores = obj.get("scores")
        if scores is not None:
            if not isinstance(scores, list):
                raise DataFormatError(path, "'scores' must be a list as long as 'labels'", line=number)
            if len(scores) != len(labels):
                raise DataFormatError(
                    path, f"'scores' must be a list as long as 'labels' ({len(scores)} scores, {len(labels)} labels)",
                    line=number,
                )
            scores = tuple(_score(path, number, k, s) for k, s in enumerate(scores))
        predictions.append(Prediction(item_id, labels, scores))
    return predictions


def write_predictions(predictions: Sequence[Prediction], path: str | Path) -> None:
    """Write predictions as JSONL (atomically), in the format :func:`read_predictions` reads.
    An existing ``path`` is replaced only when it is a prediction file (see :mod:`labkit.outputs`)."""
    lines = [prediction_line(p) for p in predictions]
    write_output_file(path, "\n".join(lines) + "\n", kind="predictions", option="output")
