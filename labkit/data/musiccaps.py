"""MusicCaps: the captions CSV (``musiccaps-public.csv``) as a table and as a corpus."""

from __future__ import annotations

import ast
import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..text.normalize import normalize_label
from ..text.sentences import split_sentences
from .corpus import Corpus, Item
from .errors import DataFormatError
from .textfile import csv_rows, read_text

MUSICCAPS_COLUMNS = ("ytid", "start_s", "end_s", "aspect_list", "caption")
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{0,9})?")


def parse_aspect_list(text: str) -> list[str]:
    """Parse an ``aspect_list`` cell, a Python list literal of strings, without evaluating code.

    Raises ``ValueError`` for anything but a list of strings.
    """
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # TypeError: {[]}
        raise ValueError(f"not a Python list literal: {text[:60]!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"not a list of strings: {text[:60]!r}")
    return [v.strip() for v in value if v.strip()]


def _seconds(text: str) -> float | None:
    """A clip time: a plain ASCII non-negative decimal number ("30", "30.5"), else None."""
    text = text.strip()
    return float(text) if _SECONDS.fullmatch(text) else None


def read_musiccaps_table(path: str | Path) -> pd.DataFrame:
    """The MusicCaps CSV as a DataFrame, ``aspect_list`` parsed to lists, one row per clip.

    Missing columns, unparsable aspect lists, bad times and duplicate ``ytid`` raise
    :class:`DataFormatError` with the CSV line.
    """
    path = Path(path)
    records = csv_rows(path, csv.reader(io.StringIO(read_text(path))))
    _, header = next(records, (1, []))
    missing = [c for c in MUSICCAPS_COLUMNS if c not in header]
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}", line=1)
    rows, seen = [], {}
    for line, fields in records:
        if not fields:
            continue
        if len(fields) != len(header):
            raise DataFormatError(path, "wrong number of fields", line=line)
        row = dict(zip(header, fields))
        ytid = row["ytid"].strip()
        if not ytid:
            raise DataFormatError(path, "empty ytid", line=line)
        if ytid in seen:
            raise DataFormatError(path, f"duplicate ytid {ytid!r} (first on line {seen[ytid]})", line=line)
        seen[ytid] = line
        try:
            aspects = parse_aspect_list(row["aspect_list"])
        except ValueError as err:
            raise DataFormatError(path, f"aspect_list: {err}", line=line, record=ytid) from None
        start, end = _seconds(row["start_s"]), _seconds(row["end_s"])
        if start is None or end is None:
            raise DataFormatError(
                path, "start_s and end_s must be numbers (plain non-negative decimals such as 30 or 30.5)",
                line=line, record=ytid,
            )
        rows.append({**row, "ytid": ytid, "start_s": start, "end_s": end, "aspect_list": aspects})
    if not rows:
        raise DataFormatError(path, "no rows after the header")
    return pd.DataFrame(rows)


def read_musiccaps(path: str | Path, *, comments: str = "sentences") -> Corpus:
    """MusicCaps as a corpus: labels are the aspects, comments the caption.

    ``comments="sentences"`` splits each caption into sentences (the kit's label-harvesting
    protocol treats them as user comments); ``"caption"`` keeps it whole.
    """
    if comments not in ("sentences", "caption"):
        raise ValueError("comments must be 'sentences' or 'caption'")
    table = read_musiccaps_table(path)
    items = []
    for row in table.itertuples(index=False):
        caption = str(row.caption).strip()
        texts = split_sentences(caption) if comments == "sentences" else [caption]
        items.append(Item(row.ytid, tuple(texts), tuple(dict.fromkeys(row.aspect_list))))
    return Corpus(items, name=Path(path).stem)


def musiccaps_assignments(path: str | Path) -> pd.DataFrame:
    """MusicCaps aspects as (item, tag) assignments: columns ``item`` (ytid) and ``tag`` (the
    aspect, lower-cased and stripped), one row per distinct (clip, aspect)."""
    table = read_musiccaps_table(path)
    frame = table[["ytid", "aspect_list"]].explode("aspect_list").dropna()
    frame = pd.DataFrame({"item": frame["ytid"], "tag": frame["aspect_list"].str.strip().str.lower()})
    return frame[frame["tag"] != ""].drop_duplicates().reset_index(drop=True)


def complete_label_set(aspects: Sequence[str], comments: Sequence[str], *, max_words: int = 3) -> list[str]:
    """The label-harvesting protocol's complete label set of one clip: every aspect of 1 to
    ``max_words`` words that appears verbatim, as whole words, in its caption (both lower-cased,
    punctuation stripped), sorted. ``comments``: the caption or its sentences.

    This is how ``../shared/data/musiccaps/diva/test2.jsonl`` was built; it lets a validation part
    of the training clips be scored on complete label sets too (never the test part).
    """
    text = f" {normalize_label(' '.join(comments))} "
    labels = {normalize_label(a) for a in aspects}
    return sorted(a for a in labels if a and len(a.split()) <= max_words and f" {a} " in text)
