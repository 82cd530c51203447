"""The DiVa authors' corpus format: one JSON object keyed by song id.

``{"<song id>": {"user_comments": [str, ...], "song_labels": [str, ...]}, ...}``
"""

from __future__ import annotations

from pathlib import Path

from .corpus import Corpus, Item
from .errors import DataFormatError
from .textfile import parse_json, read_text


def _strings(path: Path, song_id: str, entry: dict, key: str, required: bool) -> tuple[str, ...] | None:
    if key not in entry:
        if required:
            raise DataFormatError(path, f"missing field {key!r}", record=song_id)
        return None
    value = entry[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataFormatError(path, f"field {key!r} must be a list of strings", record=song_id)
    return tuple(value)


def read_diva_json(path: str | Path) -> Corpus:
    """Read the DiVa JSON; ``song_labels`` may be absent (unlabelled songs).

    Duplicate song ids (which ``json`` would silently merge) raise :class:`DataFormatError`.
    """
    path = Path(path)
    text = read_text(path)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise DataFormatError(path, "duplicate key", record=dup)
        return dict(pairs)

    data = parse_json(path, text, object_pairs_hook=no_duplicates)
    if not isinstance(data, dict):
        raise DataFormatError(path, f"expected a JSON object keyed by song id, found {type(data).__name__}")
    items = []
    for song_id, entry in data.items():
        if not isinstance(entry, dict):
            raise DataFormatError(path, "each song must be a JSON object", record=song_id)
        comments = _strings(path, song_id, entry, "user_comments", required=True)
        labels = _strings(path, song_id, entry, "song_labels", required=False)
        items.append(Item(song_id, comments, None if labels is None else tuple(dict.fromkeys(labels))))
    if not items:
        raise DataFormatError(path, "no songs in the file")
    return Corpus(items, name=path.stem)
