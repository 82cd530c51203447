"""Playlist-based tag propagation (seed 001): songs pass their tags to songs near them in playlists.

The paper's walk: pick a playlist holding song s at random, a direction at random, step on with
probability r, stop otherwise; the song reached passes its tags to s. Its exact distribution is
P(s'|s, p) = r^d(s', s) / sum_{s''} r^d(s'', s) over the other songs s'' of p (Eq. 2; s itself,
at distance 0, would pass nothing new, so it is left out of the sum) and P(s'|s) is its mean
over the playlists holding s (Eq. 4). :func:`transition_matrix` builds P(s'|s) for all songs at
once as a sparse matrix: one array pass per playlist offset, no loop over playlists or songs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.playlists import PlaylistCollection
from ..sparse import binary_csr


def _first_occurrences(playlists: PlaylistCollection) -> tuple[np.ndarray, np.ndarray]:
    """(positions, playlist of each position) of the first occurrence of each song in each playlist."""
    owner = np.repeat(np.arange(len(playlists)), playlists.lengths)
    keys = owner.astype(np.int64) * playlists.n_songs + playlists.songs
    _, first = np.unique(keys, return_index=True)
    first.sort()
    return first, owner


def transition_matrix(playlists: PlaylistCollection, r: float = 0.4, *, tol: float = 1e-9) -> sp.csr_matrix:
    """(n_songs, n_songs) CSR: row s holds P(s'|s) (Eq. 2 and 4); rows of songs in no playlist
    with another song are empty, every other row sums to 1.

    tol: songs farther than d with r^d < tol get no weight (the normalisation stays exact over
    every song of the playlist); 1e-9 changes no probability by more than that.
    """
    if not 0 < r < 1:
        raise ValueError(f"the search range r must lie strictly between 0 and 1, got {r}")
    lengths = playlists.lengths
    first, owner = _first_occurrences(playlists)
    start = playlists.indptr[owner[first]]
    left = first - start  # songs before the source in its playlist
    right = lengths[owner[first]] - 1 - left  # songs after it
    # exact normaliser over the other songs: sum_{d=1..left} r^d + sum_{d=1..right} r^d
    norm = r * (1 - r ** left) / (1 - r) + r * (1 - r ** right) / (1 - r)
    ok = norm > 0
    first, left, right, norm = first[ok], left[ok], right[ok], norm[ok]
    source = playlists.songs[first]
    n_playlists_of = np.bincount(source, minlength=playlists.n_songs).astype(np.float64)
    max_d = int(min(max(lengths.max(initial=1) - 1, 1), np.ceil(np.log(tol) / np.log(r))))
    rows, cols, vals = [], [], []
    for d in range(1, max_d + 1):
        weight = r**d / norm / n_playlists_of[source]
        for reach, step in ((right, d), (left, -d)):
            m = reach >= d
            rows.append(source[m])
            cols.append(playlists.songs[first[m] + step])
            vals.append(weight[m])
    p = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(playlists.n_songs,) * 2)
    p.sum_duplicates()
    return p


def propagated_scores(transition: sp.csr_matrix, song_tags: sp.spmatrix, *, exclude_self: bool = True) -> sp.csr_matrix:
    """(n_songs, n_tags) CSR: the probability that a walk from s lands on a song holding tag t,
    sum_{s'} P(s'|s) y_{s',t}. With ``exclude_self`` a song reached again (it recurs in a
    playlist) passes nothing."""
    p = sp.csr_matrix(transition)
    if exclude_self:
        p = p - sp.diags(p.diagonal())
        p.eliminate_zeros()
    return sp.csr_matrix(p @ (sp.csr_matrix(song_tags) > 0).astype(np.float64))


def new_links(scores: sp.csr_matrix, song_tags: sp.spmatrix) -> sp.csr_matrix:
    """The propagated scores of song-tag pairs not already linked in ``song_tags`` (score > 0)."""
    known = (sp.csr_matrix(song_tags) > 0).astype(np.float64)
    out = sp.csr_matrix(scores - scores.multiply(known))
    out.eliminate_zeros()
    return out


def random_walk(playlists: PlaylistCollection, songs: np.ndarray, r: float, rng: np.random.Generator, *, max_tries: int = 100) -> np.ndarray:
    """The paper's algorithm for many songs at once: for each song, a random playlist holding it,
    its first position there, a random direction, one step and then another with probability r
    each time; a walk that leaves the playlist is drawn again in the same playlist. Returns the song reached (-1 for a
    song in no playlist with another song). Its distribution is :func:`transition_matrix`'s row."""
    songs = np.asarray(songs, dtype=np.int64)
    first, owner = _first_occurrences(playlists)
    lengths = playlists.lengths[owner[first]]
    usable = lengths > 1
    first = first[usable]
    by_song = np.argsort(playlists.songs[first], kind="stable")  # first occurrences grouped by song
    first = first[by_song]
    counts = np.bincount(playlists.songs[first], minlength=playlists.n_songs)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    out = np.full(len(songs), -1, dtype=np.int64)
    pending = np.flatnonzero(counts[songs] > 0)
    s = songs[pending]
    chosen = np.full(len(songs), -1, dtype=np.int64)
    chosen[pending] = first[offsets[s] + (rng.random(len(s)) * counts[s]).astype(np.int64)]
    for _ in range(max_tries):
        if not len(pending):
            break
        position = chosen[pending]
        playlist = owner[position]
        steps = rng.geometric(1 - r, size=len(pending))  # 1, 2, ... with P(k) = (1 - r) r^(k - 1)
        target = position + np.where(rng.random(len(pending)) < 0.5, steps, -steps)
        inside = (target >= playlists.indptr[playlist]) & (target < playlists.indptr[playlist + 1])
        out[pending[inside]] = playlists.songs[target[inside]]
        pending = pending[~inside]
    return out


def tag_matrix(per_song: list[np.ndarray]) -> tuple[sp.csr_matrix, np.ndarray]:
    """Yes.com-style tag lists (one int array of tag ids per song) -> (binary (n_songs, n_tags)
    CSR, the tag id of each column, sorted)."""
    rows = np.repeat(np.arange(len(per_song)), [len(t) for t in per_song])
    ids = np.concatenate(per_song).astype(np.int64) if per_song else np.zeros(0, dtype=np.int64)
    tag_ids, cols = np.unique(ids, return_inverse=True)
    return binary_csr(rows, cols, (len(per_song), len(tag_ids))), tag_ids


def links_table(new: sp.csr_matrix, song_names, tag_names):
    """A DataFrame with columns ``song``, ``tag``, ``score``: one row per stored entry of ``new``,
    songs in order, best score first within a song."""
    import pandas as pd

    coo = sp.csr_matrix(new).tocoo()
    order = np.lexsort((-coo.data, coo.row))
    return pd.DataFrame({
        "song": np.asarray(song_names)[coo.row[order]],
        "tag": np.asarray(tag_names)[coo.col[order]],
        "score": coo.data[order],
    })


def assignments_matrix(playlists: PlaylistCollection, assignments) -> tuple[sp.csr_matrix, list[str]]:
    """(n_songs, n_tags) binary CSR from an (item, tag) table whose items are the playlists' song
    keys (AotM: MSD track ids or "artist - title"), and the tag names in column order. Items
    that are in no playlist are left out; none matching raises ValueError."""
    from ..data.tagging import assignment_matrix

    index = {key: i for i, key in enumerate(playlists.song_keys)}
    known = assignments["item"].isin(index)
    if not known.any():
        raise ValueError("no item of the tag table is a song of the playlists")
    items, vocab, by_item = assignment_matrix(assignments[known])
    coo = by_item.tocoo()
    rows = np.array([index[i] for i in items], dtype=np.int64)
    return binary_csr(rows[coo.row], coo.col, (playlists.n_songs, by_item.shape[1])), list(vocab.tokens)
