"""Readers on random input (hypothesis): what a writer writes reads back unchanged, and any bytes
at all either parse or raise DataFormatError naming the file (never another exception)."""

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.data import Corpus, Item, read_jsonl_corpus, read_predictions, write_jsonl_corpus
from labkit.data.errors import DataFormatError
from labkit.data.jsonl import Prediction, write_predictions
from labkit.data.diva_json import read_diva_json
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
    predictions = [Prediction(f"id-{i}", tuple(l for l, _ in row), tuple(s for _, s in row)) for i, row in enumerate(rows)]
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
        assert result is not None
        if isinstance(result, pd.DataFrame):
            assert len(result) > 0
