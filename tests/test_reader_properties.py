"""Readers on random input (hypothesis): what a writer writes reads back unchanged, and any bytes
at all either parse or raise DataFormatError naming the file (never another exception)."""

import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.data import Corpus, Item, read_jsonl_corpus, read_predictions, write_jsonl_corpus
from labkit.data.diva_json import read_diva_json
from labkit.data.errors import DataFormatError
from labkit.data.jsonl import Prediction, write_predictions
from labkit.data.musiccaps import read_musiccaps_table
from labkit.data.playlists import read_aotm_json, read_yes_playlists, read_yes_songs, read_yes_tag_names, read_yes_tags
from labkit.data.tagging import read_assignments, read_magnatagatune

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
label = text.map(str.strip).filter(bool)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def scratch(name: str) -> Path:
    return Path(tempfile.mkdtemp()) / name


@SETTINGS
@given(st.lists(st.tuples(st.lists(text, max_size=4), st.one_of(st.none(), st.lists(label, max_size=4, unique=True))),
                min_size=1, max_size=6))
def test_corpus_round_trip(rows):
    corpus = Corpus([Item(f"id-{i}", tuple(comments), None if labels is None else tuple(labels)) for i, (comments, labels) in enumerate(rows)])
    path = scratch("c.jsonl")
    write_jsonl_corpus(corpus, path)
    again = read_jsonl_corpus(path)
    assert [(i.id, i.comments, i.labels) for i in again] == [(i.id, i.comments, i.labels) for i in corpus]


@SETTINGS
@given(st.lists(st.lists(st.tuples(label, st.floats(-1e6, 1e6, allow_nan=False)), max_size=5, unique_by=lambda t: t[0]),
                min_size=1, max_size=6))
def test_predictions_round_trip(rows):
    predictions = [Prediction(f"id-{i}", tuple(label for label, _ in row), tuple(s for _, s in row)) for i, row in enumerate(rows)]
    path = scratch("p.jsonl")
    write_predictions(predictions, path)
    again = read_predictions(path)
    assert [(p.id, p.labels) for p in again] == [(p.id, p.labels) for p in predictions]
    for a, b in zip(again, predictions):  # scores are written with 6 decimals
        assert all(abs(x - y) <= 5e-7 + 1e-12 * abs(y) for x, y in zip(a.scores, b.scores))


@SETTINGS
@given(st.lists(st.tuples(label, label), min_size=1, max_size=10))
def test_assignments_round_trip(pairs):
    pairs = [(i.replace("\t", " ").replace("\n", " ").replace("\r", " ").strip() or "x",
              t.replace("\t", " ").replace("\n", " ").replace("\r", " ").strip() or "y") for i, t in pairs]
    path = scratch("a.tsv")
    path.write_text("item\ttag\n" + "".join(f"{i}\t{t}\n" for i, t in pairs), encoding="utf-8")
    table = read_assignments(path)
    assert list(zip(table["item"], table["tag"])) == pairs


READERS = [(read_jsonl_corpus, "c.jsonl"), (read_predictions, "p.jsonl"), (read_assignments, "a.tsv"),
           (read_musiccaps_table, "m.csv"), (read_yes_playlists, "train.txt"), (read_yes_tags, "tags.txt"),
           (read_diva_json, "d.json"), (read_aotm_json, "aotm.json"), (read_magnatagatune, "annotations_final.csv"),
           (read_yes_tag_names, "tag_hash.txt"), (read_yes_songs, "song_hash.txt")]
# pieces of valid records, and the kinds of input that used to crash a reader (issue 14, case 7):
# deep nesting, numbers too long for int() or float(), odd digits, a stray carriage return, a long field
PIECES = ['{"id": "a"', '"comments": ["x"]}', '"labels": ["x"], "scores": [', "]}", "item\ttag", "1 2 3", "#",
          "ytid,start_s,end_s,caption,aspect_list", "a,0,1,b,\"['c']\"", '"{[]}"', "clip_id\trock\tmp3_path", "1\t0\tx.mp3",
          '[{"mix_id": 1, "playlist": [', '{"s": {"user_comments": ["x"]}}', "0, rock", "0\ta\tb",
          "\t", ",", "\n", "\r", "\xe9", "[" * 5000, '{"a": ' * 5000, "9" * 400, "7" * 5000, "NaN", "1e999",
          "\u0661\u0662", "\u00b2", "1_000", "+3", "-1", "x" * (130 * 1024)]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(READERS), st.one_of(st.binary(max_size=200), text.map(lambda s: s.encode("utf-8")),
                                           st.lists(st.sampled_from(PIECES), max_size=8).map(lambda p: "\n".join(p).encode("utf-8", "replace")),
                                           st.lists(st.sampled_from(PIECES), max_size=8).map(lambda p: " ".join(p).encode("utf-8", "replace"))))
def test_any_bytes_parse_or_raise_a_named_error(reader_and_name, content):
    reader, name = reader_and_name
    path = scratch(name)
    path.write_bytes(content)
    try:
        result = reader(path)
    except DataFormatError as err:
        assert str(path) in str(err)
    else:
        PROPERTIES[reader](result)


def _strings(values) -> bool:
    return all(isinstance(v, str) for v in values)


def _corpus_properties(corpus, *, round_trip: bool) -> None:
    """Items with unique non-empty string ids, string comments, labels None or unique strings;
    written with write_jsonl_corpus and read again, the same items."""
    assert isinstance(corpus, Corpus)
    ids = [item.id for item in corpus]
    assert len(set(ids)) == len(ids) and all(isinstance(i, str) and i for i in ids)
    for item in corpus:
        assert isinstance(item, Item) and isinstance(item.comments, tuple) and _strings(item.comments)
        assert item.labels is None or (isinstance(item.labels, tuple) and _strings(item.labels) and len(set(item.labels)) == len(item.labels))
    if round_trip:
        path = scratch("again.jsonl")
        write_jsonl_corpus(corpus, path)
        assert [(i.id, i.comments, i.labels) for i in read_jsonl_corpus(path)] == [(i.id, i.comments, i.labels) for i in corpus]


def _predictions_properties(predictions) -> None:
    """Predictions with unique ids, unique string labels, finite scores one per label; written
    and read again, the same ids and labels and the scores to 6 decimals."""
    assert isinstance(predictions, list) and all(isinstance(p, Prediction) for p in predictions)
    assert len({p.id for p in predictions}) == len(predictions)
    for p in predictions:
        assert isinstance(p.labels, tuple) and _strings(p.labels) and len(set(p.labels)) == len(p.labels)
        assert p.scores is None or (len(p.scores) == len(p.labels) and all(isinstance(x, float) and math.isfinite(x) for x in p.scores))
    path = scratch("again.jsonl")
    write_predictions(predictions, path)
    again = read_predictions(path)
    assert [(p.id, p.labels) for p in again] == [(p.id, p.labels) for p in predictions]
    for a, b in zip(again, predictions):
        if b.scores is not None:
            assert all(abs(x - y) <= 5e-7 + 1e-12 * abs(y) for x, y in zip(a.scores, b.scores))


def _diva_json_properties(corpus) -> None:
    _corpus_properties(corpus, round_trip=False)
    assert len(corpus) > 0


def _assignments_properties(table) -> None:
    assert list(table.columns) == ["item", "tag"]
    for value in (*table["item"], *table["tag"]):
        assert isinstance(value, str) and value and value == value.strip()


def _musiccaps_properties(table) -> None:
    assert len(table) > 0 and {"ytid", "start_s", "end_s", "aspect_list", "caption"} <= set(table.columns)
    assert table["ytid"].is_unique and all(isinstance(y, str) and y and y == y.strip() for y in table["ytid"])
    assert all(isinstance(a, list) and _strings(a) for a in table["aspect_list"])
    for column in ("start_s", "end_s"):
        assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in table[column])


def _playlist_properties(playlists) -> None:
    """indptr runs from 0 to len(songs) without going back; every song index names a song."""
    assert playlists.indptr[0] == 0 and playlists.indptr[-1] == len(playlists.songs) and (np.diff(playlists.indptr) >= 0).all()
    assert len(playlists.playlist_keys) == len(playlists) and _strings(playlists.song_keys)
    assert playlists.songs.dtype == np.int64 and ((playlists.songs >= 0) & (playlists.songs < playlists.n_songs)).all()


def _yes_playlists_properties(result) -> None:
    playlists, counts = result
    _playlist_properties(playlists)
    assert len(playlists) > 0 and len(counts) == playlists.n_songs and (counts >= 0).all()
    assert all(len(playlists[p]) > 0 for p in range(len(playlists)))  # blank lines are skipped, not empty playlists


def _aotm_properties(playlists) -> None:
    _playlist_properties(playlists)
    assert len(set(playlists.playlist_keys)) == len(playlists) and len(set(playlists.song_keys)) == playlists.n_songs


def _yes_tags_properties(tags) -> None:
    assert isinstance(tags, list) and len(tags) > 0
    assert all(isinstance(t, np.ndarray) and t.dtype == np.int64 and (t >= 0).all() for t in tags)


def _magnatagatune_properties(m) -> None:
    assert len(m.clip_ids) == len(m.paths) == m.labels.shape[0] > 0 and m.labels.shape[1] == len(m.tags)
    assert len(set(m.clip_ids)) == len(m.clip_ids) and _strings(m.clip_ids) and _strings(m.tags)
    assert set(np.unique(m.labels.toarray()).tolist()) <= {0.0, 1.0}


def _yes_tag_names_properties(names) -> None:
    assert isinstance(names, dict)
    assert all(isinstance(k, int) and k >= 0 and isinstance(v, str) and v == v.strip() for k, v in names.items())


def _yes_songs_properties(songs) -> None:
    assert list(songs.columns) == ["title", "artist"] and all(_strings(songs[c]) for c in songs.columns)
    assert list(songs.index) == list(range(len(songs)))


PROPERTIES = {
    read_jsonl_corpus: lambda c: _corpus_properties(c, round_trip=True),
    read_predictions: _predictions_properties,
    read_assignments: _assignments_properties,
    read_musiccaps_table: _musiccaps_properties,
    read_yes_playlists: _yes_playlists_properties,
    read_yes_tags: _yes_tags_properties,
    read_diva_json: _diva_json_properties,
    read_aotm_json: _aotm_properties,
    read_magnatagatune: _magnatagatune_properties,
    read_yes_tag_names: _yes_tag_names_properties,
    read_yes_songs: _yes_songs_properties,
}


VALID = {
    read_jsonl_corpus: ('{"id": "a", "comments": ["x", "y"], "labels": ["rock", "rock", "pop"]}\n{"id": "b", "comments": []}\n',
                        lambda c: [(i.id, i.comments, i.labels) for i in c] == [("a", ("x", "y"), ("rock", "pop")), ("b", (), None)]),
    read_predictions: ('{"id": "a", "labels": ["x", "y"], "scores": [0.9, 0.1]}\n{"id": "b", "labels": []}\n',
                       lambda p: p == [Prediction("a", ("x", "y"), (0.9, 0.1)), Prediction("b", (), None)]),
    read_assignments: ("item\ttag\n s1 \t rock \ns2\tpop\n", lambda t: t.values.tolist() == [["s1", "rock"], ["s2", "pop"]]),
    read_musiccaps_table: ("ytid,start_s,end_s,aspect_list,caption\nabc,30,40.5,\"['rock', 'loud']\",A loud song.\n",
                           lambda t: t[["ytid", "start_s", "end_s", "aspect_list", "caption"]].values.tolist()
                           == [["abc", 30.0, 40.5, ["rock", "loud"], "A loud song."]]),
    read_yes_playlists: ("s0 s1 s2\n5 0 3\n0 2\n\n1\n", lambda r: [r[0][p].tolist() for p in range(len(r[0]))] == [[0, 2], [1]]
                         and r[0].song_keys == ["s0", "s1", "s2"] and r[1].tolist() == [5, 0, 3]),
    read_yes_tags: ("0 3\n#\n\n2\n", lambda tags: [t.tolist() for t in tags] == [[0, 3], [], [], [2]]),
    read_diva_json: ('{"s1": {"user_comments": ["nice"], "song_labels": ["rock", "rock"]}, "s2": {"user_comments": []}}',
                     lambda c: [(i.id, i.comments, i.labels) for i in c] == [("s1", ("nice",), ("rock",)), ("s2", (), None)]),
    read_aotm_json: ('[{"mix_id": 1, "playlist": [[["A", "T"], "TR1"], [["B", "U"], null], [["A", "T"], "TR1"]]}, {"mix_id": "m2", "playlist": []}]',
                     lambda pl: pl.song_keys == ["TR1", "B - U"] and pl.playlist_keys == ["1", "m2"]
                     and [pl[p].tolist() for p in range(len(pl))] == [[0, 1, 0], []]),
    read_magnatagatune: ("clip_id\trock\tpop\tmp3_path\n2\t1\t0\tf/a.mp3\n6\t0\t1\tf/b.mp3\n",
                         lambda m: (m.clip_ids, m.paths, m.tags) == (["2", "6"], ["f/a.mp3", "f/b.mp3"], ["rock", "pop"])
                         and m.labels.toarray().tolist() == [[1, 0], [0, 1]]),
    read_yes_tag_names: ("0, rock\n3,pop music \n", lambda names: names == {0: "rock", 3: "pop music"}),
    read_yes_songs: ("0\tTitle\tArtist\n1\tB\tC\n", lambda s: s.values.tolist() == [["Title", "Artist"], ["B", "C"]]),
}


def test_every_reader_is_checked_on_a_valid_file_too():
    """The random bytes above rarely parse: here each reader reads one valid file, giving exactly
    the records written, and its result has the properties the random test checks."""
    assert set(VALID) == {reader for reader, _ in READERS} == set(PROPERTIES)
    for reader, name in READERS:
        content, expected = VALID[reader]
        path = scratch(name)
        path.write_text(content, encoding="utf-8")
        result = reader(path)
        assert expected(result), (reader.__name__, result)
        PROPERTIES[reader](result)
