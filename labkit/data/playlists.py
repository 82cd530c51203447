"""Playlists: the Yes.com format (Chen et al. 2012) and Art of the Mix 2011 JSON.

Playlists are held flat (``indptr`` and ``songs``, like a CSR matrix) so propagation code can work
on whole arrays; ``collection[p]`` gives playlist p as an array of song indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DataFormatError
from .textfile import parse_count, parse_json, read_text, require_folder


@dataclass
class PlaylistCollection:
    """Playlists over a song list.

    songs: (total,) int64, the song indices of all playlists one after another, in play order.
    indptr: (n_playlists + 1,) int64; playlist p is ``songs[indptr[p]:indptr[p + 1]]``.
    song_keys: one identifier per song (Yes.com id, MSD track id, ...).
    playlist_keys: one identifier per playlist.
    """

    songs: np.ndarray
    indptr: np.ndarray
    song_keys: list[str]
    playlist_keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.playlist_keys:
            self.playlist_keys = [str(p) for p in range(len(self))]

    @classmethod
    def from_lists(cls, playlists: list[list[int]], song_keys: list[str], playlist_keys: list[str] | None = None):
        lengths = np.array([len(p) for p in playlists], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        songs = np.array([s for p in playlists for s in p], dtype=np.int64)
        return cls(songs, indptr, list(song_keys), list(playlist_keys or []))

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __getitem__(self, p: int) -> np.ndarray:
        return self.songs[self.indptr[p] : self.indptr[p + 1]]

    @property
    def n_songs(self) -> int:
        return len(self.song_keys)

    @property
    def lengths(self) -> np.ndarray:
        """(n_playlists,) number of songs in each playlist."""
        return np.diff(self.indptr)

    def incidence(self) -> sp.csr_matrix:
        """(n_playlists, n_songs) CSR of how often each song occurs in each playlist."""
        rows = np.repeat(np.arange(len(self)), self.lengths)
        return sp.csr_matrix(
            (np.ones(len(self.songs), dtype=np.float32), (rows, self.songs)), shape=(len(self), self.n_songs)
        )


@dataclass
class YesDataset:
    """The Yes.com playlists with their Last.fm tags.

    song_tags: (n_songs, n_tags) binary CSR; column j is tag id ``tag_ids[j]`` named ``tag_names[j]``.
    songs: DataFrame with columns ``title`` and ``artist`` (empty where no song_hash.txt is given).
    """

    playlists: PlaylistCollection
    play_counts: np.ndarray
    song_tags: sp.csr_matrix
    tag_ids: np.ndarray
    tag_names: list[str]
    songs: pd.DataFrame


def _int_fields(path: Path, number: int, line: str) -> np.ndarray:
    """The space-separated plain non-negative integers of a line (see :func:`parse_count`); a sign,
    an underscore, a non-ASCII digit or a number of more than 18 digits names the line."""
    values = []
    for tok in line.split():
        value = parse_count(tok)
        if value is None:
            raise DataFormatError(
                path, f"expected integers (plain non-negative ASCII digits), found {tok[:40]!r}", line=number
            )
        values.append(value)
    return np.array(values, dtype=np.int64)


def read_yes_playlists(path: str | Path) -> tuple[PlaylistCollection, np.ndarray]:
    """Read a Yes.com ``train.txt``/``test.txt``: (playlists, play counts per song).

    Line 1 holds the Yes.com song ids, line 2 the play counts, then one playlist per line as
    space-separated 0-based song indices. Indices out of range raise :class:`DataFormatError`.
    """
    path = Path(path)
    lines = read_text(path).split("\n")
    if len(lines) < 2:
        raise DataFormatError(path, "expected a line of song ids and a line of play counts")
    song_ids = lines[0].split()
    counts = _int_fields(path, 2, lines[1])
    if len(counts) != len(song_ids):
        raise DataFormatError(path, f"{len(counts)} play counts for {len(song_ids)} song ids", line=2)
    rows, lengths, keys = [], [], []
    for number, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        songs = _int_fields(path, number, line)
        if songs.max() >= len(song_ids):
            raise DataFormatError(path, f"song index out of range 0..{len(song_ids) - 1}", line=number)
        rows.append(songs)
        lengths.append(len(songs))
        keys.append(f"line {number}")
    if not rows:
        raise DataFormatError(path, "no playlists after the two header lines")
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return PlaylistCollection(np.concatenate(rows), indptr, song_ids, keys), counts


def read_yes_tags(path: str | Path, n_songs: int | None = None) -> list[np.ndarray]:
    """Read a Yes.com ``tags.txt``: line i holds the tag ids of song i, ``#`` where it has none."""
    path = Path(path)
    lines = read_text(path).rstrip("\n").split("\n")
    if n_songs is not None and len(lines) != n_songs:
        raise DataFormatError(path, f"{len(lines)} lines of tags for {n_songs} songs")
    tags = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        tags.append(np.zeros(0, dtype=np.int64) if line in ("", "#") else _int_fields(path, number, line))
    return tags


def read_yes_tag_names(path: str | Path) -> dict[int, str]:
    """Read a Yes.com ``tag_hash.txt`` (``id, tag`` per line) into {id: tag}."""
    path = Path(path)
    names: dict[int, str] = {}
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        key, sep, name = line.partition(",")
        tag_id = parse_count(key.strip())
        if not sep or tag_id is None:
            raise DataFormatError(path, "expected 'id, tag' with a non-negative integer id", line=number)
        if tag_id in names:
            raise DataFormatError(path, f"duplicate tag id {tag_id}", line=number)
        names[tag_id] = name.strip()
    return names


def read_yes_songs(path: str | Path) -> pd.DataFrame:
    """Read a Yes.com ``song_hash.txt`` (``index<TAB>title<TAB>artist``) into a DataFrame."""
    path = Path(path)
    rows = []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        index = parse_count(parts[0].strip())
        if len(parts) != 3 or index is None:
            raise DataFormatError(path, "expected 'index<TAB>title<TAB>artist'", line=number)
        if index != len(rows):
            raise DataFormatError(path, f"expected index {len(rows)}, found {parts[0]}", line=number)
        rows.append((parts[1], parts[2]))
    return pd.DataFrame(rows, columns=["title", "artist"])


def read_yes_dataset(folder: str | Path, split: str = "train") -> YesDataset:
    """Read ``{split}.txt``, ``tags.txt``, ``tag_hash.txt`` and (if present) ``song_hash.txt``."""
    folder = require_folder(folder)
    playlists, counts = read_yes_playlists(folder / f"{split}.txt")
    per_song = read_yes_tags(folder / "tags.txt", playlists.n_songs)
    names = read_yes_tag_names(folder / "tag_hash.txt")
    tag_ids = np.array(sorted(names), dtype=np.int64)
    column = {t: j for j, t in enumerate(tag_ids)}
    rows, cols = [], []
    for song, tags in enumerate(per_song):
        for t in tags:
            if int(t) not in column:
                raise DataFormatError(folder / "tags.txt", f"tag id {t} is not in tag_hash.txt", line=song + 1)
            rows.append(song)
            cols.append(column[int(t)])
    song_tags = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(playlists.n_songs, len(tag_ids))
    )
    song_tags.sum_duplicates()
    song_tags.data[:] = 1.0
    songs_path = folder / "song_hash.txt"
    songs = read_yes_songs(songs_path) if songs_path.exists() else pd.DataFrame(columns=["title", "artist"])
    if len(songs) and len(songs) != playlists.n_songs:
        raise DataFormatError(songs_path, f"{len(songs)} songs listed, {playlists.n_songs} in {split}.txt")
    return YesDataset(playlists, counts, song_tags, tag_ids, [names[t] for t in tag_ids], songs)


def read_aotm_json(path: str | Path) -> PlaylistCollection:
    """Read Art of the Mix 2011 JSON: a list of mixes with ``mix_id`` and ``playlist``.

    Each playlist entry is ``[[artist, title], msd_track_id]``. A song is keyed by its MSD track id
    where it has one, else by ``"artist - title"``, so unmatched tracks are kept, not dropped.
    """
    path = Path(path)
    data = parse_json(path, read_text(path))
    if not isinstance(data, list):
        raise DataFormatError(path, "expected a JSON list of mixes")
    song_index: dict[str, int] = {}
    playlists, mix_keys = [], []
    seen_mix: set[str] = set()
    for position, mix in enumerate(data):
        if not isinstance(mix, dict) or "mix_id" not in mix or "playlist" not in mix:
            raise DataFormatError(path, "a mix needs 'mix_id' and 'playlist'", record=f"mix #{position}")
        if isinstance(mix["mix_id"], bool) or not isinstance(mix["mix_id"], (str, int)):
            raise DataFormatError(path, "'mix_id' must be a string or an integer", record=f"mix #{position}")
        mix_key = str(mix["mix_id"])
        if mix_key in seen_mix:
            raise DataFormatError(path, "duplicate mix_id", record=mix_key)
        seen_mix.add(mix_key)
        if not isinstance(mix["playlist"], list):
            raise DataFormatError(path, "'playlist' must be a list", record=mix_key)
        songs = []
        for k, entry in enumerate(mix["playlist"]):
            ok = (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], list)
                and len(entry[0]) == 2
                and all(isinstance(x, str) for x in entry[0])
                and (entry[1] is None or isinstance(entry[1], str))
            )
            if not ok:
                raise DataFormatError(
                    path, f"entry {k} must be [[artist, title], msd_track_id or null]", record=mix_key
                )
            (artist, title), msd = entry
            key = msd if msd else f"{artist} - {title}"
            songs.append(song_index.setdefault(key, len(song_index)))
        playlists.append(songs)
        mix_keys.append(mix_key)
    return PlaylistCollection.from_lists(playlists, list(song_index), mix_keys)
