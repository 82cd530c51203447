"""Social-tag assignments (HetRec 2011 Last.fm, any item/tag TSV) and MagnaTagATune annotations."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..sparse import binary_csr
from .errors import DataFormatError
from .textfile import csv_rows, parse_count, read_text, require_folder
from .vocab import Vocabulary


def _read_tsv(path: Path, columns: tuple[str, ...], encoding: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A tab-separated file with a header as strings, and the file line of each row; wrong field
    counts (and fields over 128 KiB) name the line."""
    reader = csv.reader(io.StringIO(read_text(path, encoding)), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows_in = csv_rows(path, reader)
    _, header = next(rows_in, (1, []))
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)} in the header {header}", line=1)
    rows, lines = [], []
    for line, row in rows_in:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise DataFormatError(path, f"expected {len(header)} tab-separated fields, found {len(row)}", line=line)
        rows.append(row)
        lines.append(line)
    if not rows:
        raise DataFormatError(path, "no rows after the header")
    return pd.DataFrame(rows, columns=header), np.array(lines, dtype=np.int64)


def _integer_column(path: Path, frame: pd.DataFrame, lines: np.ndarray, column: str) -> np.ndarray:
    """A column of plain non-negative integers (:func:`parse_count`, spaces around allowed);
    anything else (a sign, '1.0', a non-ASCII digit, more than 18 digits) names its line."""
    values = [parse_count(v.strip()) for v in frame[column]]
    for row, value in enumerate(values):
        if value is None:
            found = frame[column].iloc[row][:40]
            raise DataFormatError(
                path, f"column {column!r} must hold integers (plain non-negative ASCII digits), found {found!r}",
                line=int(lines[row]),
            )
    return np.array(values, dtype=np.int64)


def read_hetrec_lastfm(folder: str | Path, *, assignments: str | list[str] | None = None) -> pd.DataFrame:
    """HetRec 2011 Last.fm tag assignments with tag and artist names joined in.

    ``assignments`` names the assignment file(s) in ``folder``; by default every
    ``user_taggedartists*.dat`` but the ``-timestamps`` variant, concatenated in name order (the
    original file is sometimes split in parts).

    Returns one row per (user, artist, tag) assignment with columns ``user``, ``item`` (artist id),
    ``item_name``, ``tag_id``, ``tag`` (lower-cased, stripped). ``tags.dat`` and ``artists.dat`` are
    latin-1. A tag id missing from ``tags.dat`` raises :class:`DataFormatError` with its line.
    """
    folder = require_folder(folder)
    if assignments is None:
        names = sorted(p.name for p in folder.glob("user_taggedartists*.dat") if "timestamps" not in p.name)
        if not names:
            raise FileNotFoundError(f"no user_taggedartists*.dat in {folder}")
    else:
        names = [assignments] if isinstance(assignments, str) else list(assignments)
    parts = []
    for name in names:
        path = folder / name
        frame, lines = _read_tsv(path, ("userID", "artistID", "tagID"), "utf-8")
        columns = {c: _integer_column(path, frame, lines, c) for c in ("userID", "artistID", "tagID")}
        parts.append((path, lines, columns))
    user = np.concatenate([c["userID"] for _, _, c in parts])
    artist = np.concatenate([c["artistID"] for _, _, c in parts])
    tag_id = np.concatenate([c["tagID"] for _, _, c in parts])
    tags_path = folder / "tags.dat"
    tags, tag_lines = _read_tsv(tags_path, ("tagID", "tagValue"), "latin-1")
    tag_name = dict(zip(_integer_column(tags_path, tags, tag_lines, "tagID"), tags["tagValue"].str.strip().str.lower()))
    known = np.fromiter(tag_name, dtype=np.int64)
    for path, lines, columns in parts:
        unknown = np.flatnonzero(~np.isin(columns["tagID"], known))
        if len(unknown):
            bad = columns["tagID"][unknown[0]]
            raise DataFormatError(path, f"tag id {bad} is not in tags.dat", line=int(lines[unknown[0]]))
    artists_path = folder / "artists.dat"
    artist_name: dict[int, str] = {}
    if artists_path.exists():
        artists, artist_lines = _read_tsv(artists_path, ("id", "name"), "latin-1")
        artist_name = dict(zip(_integer_column(artists_path, artists, artist_lines, "id"), artists["name"]))
    return pd.DataFrame(
        {
            "user": user,
            "item": artist.astype(str),
            "item_name": [artist_name.get(a, "") for a in artist],
            "tag_id": tag_id,
            "tag": [tag_name[t] for t in tag_id],
        }
    )


def read_assignments(path: str | Path, *, item_col: str = "item", tag_col: str = "tag", encoding: str = "utf-8") -> pd.DataFrame:
    """A TSV of (item, tag) pairs with a header, as a DataFrame with columns ``item`` and ``tag``.

    Empty items or tags raise :class:`DataFormatError` with the line.
    """
    path = Path(path)
    frame, lines = _read_tsv(path, (item_col, tag_col), encoding)
    out = pd.DataFrame({"item": frame[item_col].str.strip(), "tag": frame[tag_col].str.strip()})
    empty = np.flatnonzero(((out["item"] == "") | (out["tag"] == "")).to_numpy())
    if len(empty):
        raise DataFormatError(path, "empty item or tag", line=int(lines[empty[0]]))
    return out


@dataclass
class TagMatrix:
    """Clips with binary tags: ``labels`` is (n_clips, n_tags) CSR, column j is ``tags[j]``."""

    clip_ids: list[str]
    paths: list[str]
    tags: list[str]
    labels: sp.csr_matrix


def read_magnatagatune(path: str | Path) -> TagMatrix:
    """MagnaTagATune ``annotations_final.csv``: tab-separated, quoted fields.

    Columns: ``clip_id``, 188 binary tag columns, ``mp3_path``. Values other than 0/1, a wrong field
    count or a duplicate clip id raise :class:`DataFormatError` with the line.
    """
    path = Path(path)
    rows = csv_rows(path, csv.reader(io.StringIO(read_text(path)), delimiter="\t"))
    _, header = next(rows, (1, []))
    if len(header) < 3 or header[0] != "clip_id" or header[-1] != "mp3_path":
        raise DataFormatError(path, "expected a header 'clip_id', tag columns..., 'mp3_path'", line=1)
    tags = header[1:-1]
    clip_ids, paths, blocks = [], [], []
    seen: dict[str, int] = {}
    for line, row in rows:
        if not row:
            continue
        if len(row) != len(header):
            raise DataFormatError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
        if row[0] in seen:
            raise DataFormatError(path, f"duplicate clip_id {row[0]!r} (first on line {seen[row[0]]})", line=line)
        seen[row[0]] = line
        values = row[1:-1]
        if any(v not in ("0", "1") for v in values):
            bad = next(k for k, v in enumerate(values) if v not in ("0", "1"))
            raise DataFormatError(path, f"tag {tags[bad]!r} must be 0 or 1, found {values[bad]!r}", line=line, record=row[0])
        clip_ids.append(row[0])
        paths.append(row[-1])
        blocks.append(np.frombuffer("".join(values).encode(), dtype=np.uint8) - ord("0"))
    if not clip_ids:
        raise DataFormatError(path, "no clips after the header")
    return TagMatrix(clip_ids, paths, tags, sp.csr_matrix(np.vstack(blocks).astype(np.float32)))


def assignment_matrix(assignments: pd.DataFrame, *, tags: Sequence[str] | None = None) -> tuple[list[str], Vocabulary, sp.csr_matrix]:
    """From a table with columns ``item`` and ``tag``: the item ids, the tag vocabulary (``tags``
    if given, else by first appearance) and the binary (n_items, n_tags) CSR (repeated pairs
    count once; tags outside ``tags`` are left out)."""
    items, item_idx = np.unique(assignments["item"].to_numpy(dtype=str), return_inverse=True)
    vocab = Vocabulary(dict.fromkeys(tags if tags is not None else assignments["tag"]))
    tag_idx = np.array([vocab.index.get(t, -1) for t in assignments["tag"]], dtype=np.int64)
    keep = tag_idx >= 0
    return list(items), vocab, binary_csr(item_idx[keep], tag_idx[keep], (len(items), len(vocab)))
