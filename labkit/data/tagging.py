"""Social-tag assignments (HetRec 2011 Last.fm, any item/tag TSV) and MagnaTagATune annotations."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DataFormatError
from .textfile import read_text


def _read_tsv(path: Path, columns: tuple[str, ...], encoding: str) -> pd.DataFrame:
    """A tab-separated file with a header as strings; wrong field counts name the line."""
    reader = csv.reader(io.StringIO(read_text(path, encoding)), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)} in the header {header}", line=1)
    rows = []
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise DataFormatError(path, f"expected {len(header)} tab-separated fields, found {len(row)}", line=reader.line_num)
        rows.append(row)
    if not rows:
        raise DataFormatError(path, "no rows after the header")
    return pd.DataFrame(rows, columns=header)


def _integer_column(path: Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() | (values % 1 != 0).to_numpy())
    if len(bad):
        row = int(bad[0])
        raise DataFormatError(path, f"column {column!r} must hold integers, found {frame[column].iloc[row]!r}", line=row + 2)
    return values.to_numpy(dtype=np.int64)


def read_hetrec_lastfm(folder: str | Path, *, assignments: str | list[str] | None = None) -> pd.DataFrame:
    """HetRec 2011 Last.fm tag assignments with tag and artist names joined in.

    ``assignments`` names the assignment file(s) in ``folder``; by default every
    ``user_taggedartists*.dat`` but the ``-timestamps`` variant, concatenated in name order (the
    original file is sometimes split in parts).

    Returns one row per (user, artist, tag) assignment with columns ``user``, ``item`` (artist id),
    ``item_name``, ``tag_id``, ``tag`` (lower-cased, stripped). ``tags.dat`` and ``artists.dat`` are
    latin-1. A tag id missing from ``tags.dat`` raises :class:`DataFormatError` with its line.
    """
    folder = Path(folder)
    if assignments is None:
        names = sorted(p.name for p in folder.glob("user_taggedartists*.dat") if "timestamps" not in p.name)
        if not names:
            raise FileNotFoundError(f"no user_taggedartists*.dat in {folder}")
    else:
        names = [assignments] if isinstance(assignments, str) else list(assignments)
    parts = []
    for name in names:
        path = folder / name
        frame = _read_tsv(path, ("userID", "artistID", "tagID"), "utf-8")
        columns = {c: _integer_column(path, frame, c) for c in ("userID", "artistID", "tagID")}
        parts.append((path, columns))
    user = np.concatenate([c["userID"] for _, c in parts])
    artist = np.concatenate([c["artistID"] for _, c in parts])
    tag_id = np.concatenate([c["tagID"] for _, c in parts])
    tags_path = folder / "tags.dat"
    tags = _read_tsv(tags_path, ("tagID", "tagValue"), "latin-1")
    tag_name = dict(zip(_integer_column(tags_path, tags, "tagID"), tags["tagValue"].str.strip().str.lower()))
    known = np.fromiter(tag_name, dtype=np.int64)
    for path, columns in parts:
        unknown = np.flatnonzero(~np.isin(columns["tagID"], known))
        if len(unknown):
            bad = columns["tagID"][unknown[0]]
            raise DataFormatError(path, f"tag id {bad} is not in tags.dat", line=int(unknown[0]) + 2)
    artists_path = folder / "artists.dat"
    artist_name: dict[int, str] = {}
    if artists_path.exists():
        artists = _read_tsv(artists_path, ("id", "name"), "latin-1")
        artist_name = dict(zip(_integer_column(artists_path, artists, "id"), artists["name"]))
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
    frame = _read_tsv(path, (item_col, tag_col), encoding)
    out = pd.DataFrame({"item": frame[item_col].str.strip(), "tag": frame[tag_col].str.strip()})
    empty = np.flatnonzero(((out["item"] == "") | (out["tag"] == "")).to_numpy())
    if len(empty):
        raise DataFormatError(path, "empty item or tag", line=int(empty[0]) + 2)
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
    reader = csv.reader(io.StringIO(read_text(path)), delimiter="\t")
    header = next(reader)
    if len(header) < 3 or header[0] != "clip_id" or header[-1] != "mp3_path":
        raise DataFormatError(path, "expected a header 'clip_id', tag columns..., 'mp3_path'", line=1)
    tags = header[1:-1]
    clip_ids, paths, blocks = [], [], []
    seen: dict[str, int] = {}
    for row in reader:
        if not row:
            continue
        line = reader.line_num
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
