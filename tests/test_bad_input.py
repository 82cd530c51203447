"""Bad input, everywhere: one test per row of the README's bad-input table. Every reader either
handles a case as documented or raises one DataFormatError naming the file and line (or record);
commands print that message and exit with status 2, leaving earlier output files untouched."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from labkit.cli import main
from labkit.cluster import SphericalKMeans, cluster_tags
from labkit.data import Corpus, Item, read_jsonl_corpus, read_predictions
from labkit.data.diva_json import read_diva_json
from labkit.data.errors import DataFormatError
from labkit.data.musiccaps import read_musiccaps_table
from labkit.data.playlists import read_aotm_json, read_yes_playlists, read_yes_tags
from labkit.data.tagging import read_assignments, read_hetrec_lastfm, read_magnatagatune
from labkit.metrics import evaluate_labels

MC_HEADER = "ytid,start_s,end_s,caption,aspect_list\n"

# (reader, file name, a valid first line or header when the format has one)
READERS = {
    "jsonl corpus": (read_jsonl_corpus, "c.jsonl"),
    "predictions": (read_predictions, "p.jsonl"),
    "item/tag TSV": (read_assignments, "a.tsv"),
    "DiVa JSON": (read_diva_json, "d.json"),
    "MusicCaps CSV": (read_musiccaps_table, "m.csv"),
    "Yes.com playlists": (read_yes_playlists, "train.txt"),
    "Yes.com tags": (read_yes_tags, "tags.txt"),
    "AotM JSON": (read_aotm_json, "aotm.json"),
    "MagnaTagATune": (read_magnatagatune, "annotations_final.csv"),
}


@pytest.mark.parametrize("name", READERS)
def test_row_empty_file(name, write):
    reader, filename = READERS[name]
    path = write(filename, "")
    with pytest.raises(DataFormatError, match="empty") as err:
        reader(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name, filename, content, where", [
    ("jsonl corpus", "c.jsonl", '{"id": "a", "comments": ["x"]}\n{"id": "b", "comments": [\n', ":2:"),
    ("predictions", "p.jsonl", '{"id": "a", "labels": ["x"], "scores": [0.5]}\nnot json\n', ":2:"),
    ("item/tag TSV", "a.tsv", "item\ttag\nx\trock\ny\n", ":3:"),
    ("DiVa JSON", "d.json", '{"a": {"user_comments": ["x"]}, ', ":1:"),
    ("MusicCaps CSV", "m.csv", MC_HEADER + "abc,0,10,a song,\"['rock'\"\n", ":2:"),
    ("Yes.com playlists", "train.txt", "# header\n1 2 3\n4 x 6\n", ":2:"),
    ("Yes.com tags", "tags.txt", "1 2\n#\n3 y\n", ":3:"),
    ("AotM JSON", "aotm.json", '[{"playlist": [1, 2', ":1:"),
])
def test_row_malformed_line(name, filename, content, where, write):
    reader = READERS[name][0]
    path = write(filename, content)
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert f"{path}{where}" in str(err.value)


@pytest.mark.parametrize("name, filename, content, fragment", [
    ("jsonl corpus", "c.jsonl", '{"comments": ["x"]}\n', ":1: missing field 'id'"),
    ("predictions", "p.jsonl", '{"id": "a", "scores": [0.5]}\n', ":1: missing field 'labels'"),
    ("item/tag TSV", "a.tsv", "item\tother\nx\ty\n", "missing column(s) tag"),
    ("DiVa JSON", "d.json", '{"a": {"labels": ["x"]}}', "record 'a': missing field 'user_comments'"),
    ("MusicCaps CSV", "m.csv", "ytid,caption\nabc,a song\n", "missing column(s) start_s, end_s, aspect_list"),
])
def test_row_missing_field(name, filename, content, fragment, write):
    path = write(filename, content)
    with pytest.raises(DataFormatError, match="missing") as err:
        READERS[name][0](path)
    assert fragment in str(err.value)


def test_row_missing_labels_when_training(write):
    path = write("c.jsonl", '{"id": "a", "comments": ["x"], "labels": ["rock"]}\n{"id": "b", "comments": ["y"]}\n')
    assert len(read_jsonl_corpus(path)) == 2  # labels are optional for items to label
    with pytest.raises(DataFormatError, match=":2: missing field 'labels'"):
        read_jsonl_corpus(path, require_labels=True)


@pytest.mark.parametrize("name, filename, content, fragment", [
    ("jsonl corpus", "c.jsonl", '{"id": "a", "comments": ["x"]}\n{"id": "a", "comments": ["y"]}\n', ":2: duplicate id 'a' (first on line 1)"),
    ("predictions", "p.jsonl", '{"id": "a", "labels": [], "scores": []}\n{"id": "a", "labels": [], "scores": []}\n', ":2: duplicate id 'a'"),
    ("DiVa JSON", "d.json", '{"a": {"user_comments": ["x"]}, "a": {"user_comments": ["y"]}}', "record 'a': duplicate key"),
    ("MusicCaps CSV", "m.csv", MC_HEADER + "abc,0,10,a,\"['rock']\"\nabc,0,10,b,\"['pop']\"\n", ":3: duplicate ytid 'abc' (first on line 2)"),
])
def test_row_duplicate_ids(name, filename, content, fragment, write):
    path = write(filename, content)
    with pytest.raises(DataFormatError, match="duplicate") as err:
        READERS[name][0](path)
    assert fragment in str(err.value)


def test_row_duplicate_tag_assignments_count_once(write):
    from labkit.cluster import assignment_matrix

    table = read_assignments(write("a.tsv", "item\ttag\nx\trock\nx\trock\ny\trock\n"))
    assert len(table) == 3  # read as written ...
    _, vocab, matrix = assignment_matrix(table)
    assert matrix.toarray().tolist() == [[1.0], [1.0]]  # ... and counted once per item


@pytest.mark.parametrize("name, filename, content", [
    ("jsonl corpus", "c.jsonl", b'{"id": "a", "comments": ["caf\xe9"]}\n'),
    ("predictions", "p.jsonl", b'{"id": "caf\xe9", "labels": [], "scores": []}\n'),
    ("item/tag TSV", "a.tsv", b"item\ttag\nx\tcaf\xe9\n"),
    ("MusicCaps CSV", "m.csv", MC_HEADER.encode() + b"abc,0,10,caf\xe9,\"['rock']\"\n"),
])
def test_row_unknown_encoding(name, filename, content, write):
    path = write(filename, content)
    with pytest.raises(DataFormatError, match="not valid utf-8") as err:
        READERS[name][0](path)
    assert str(path) in str(err.value) and "0xe9" in str(err.value)


def test_row_unknown_encoding_can_be_named(write):
    path = write("a.tsv", "item\ttag\nx\tcafé\n".encode("latin-1"))
    assert read_assignments(path, encoding="latin-1")["tag"].tolist() == ["café"]


def test_row_hetrec_is_read_as_latin1(write, tmp_path):
    folder = tmp_path / "hetrec"
    folder.mkdir()
    (folder / "tags.dat").write_bytes("tagID\ttagValue\n1\tcafé\n".encode("latin-1"))
    (folder / "user_taggedartists.dat").write_bytes(b"userID\tartistID\ttagID\tday\tmonth\tyear\n2\t52\t1\t1\t4\t2009\n")
    table = read_hetrec_lastfm(folder)
    assert table["tag"].tolist() == ["café"]


def test_row_empty_comments_are_kept_and_labelled(write, tmp_path):
    path = write("c.jsonl", '{"id": "a", "comments": []}\n{"id": "b", "comments": ["", "  "]}\n{"id": "c", "comments": ["mellow piano"]}\n')
    corpus = read_jsonl_corpus(path)
    assert corpus.ids == ["a", "b", "c"]
    from labkit.diva import DiVaConfig, harvest
    from labkit.embed import StaticEncoder

    train = Corpus([Item(f"t{i}", (f"mellow piano song {i}", "a calm piano"), ("piano",)) for i in range(12)])
    encoder = StaticEncoder.train([c for item in train for c in item.comments], dim=8, epochs=2, seed=0)
    result = harvest(train, corpus, method="tfidf", encoder=encoder, config=DiVaConfig(progress=False))
    predictions = {p.id: p.labels for p in result.predictions}
    assert set(predictions) == {"a", "b", "c"}  # every item gets a prediction row, possibly empty


def test_row_items_with_no_candidates_get_empty_predictions(tmp_path):
    from labkit.diva import DiVaConfig, harvest
    from labkit.embed import StaticEncoder

    train = Corpus([Item(f"t{i}", (f"mellow piano song {i}",), ("piano",)) for i in range(12)])
    predict = Corpus([Item("silent", ("the the of",)), Item("piano", ("mellow piano",))])
    encoder = StaticEncoder.train([c for item in train for c in item.comments], dim=8, epochs=2, seed=0)
    config = DiVaConfig(progress=False, include_absent_vocabulary=False, epochs=2, min_steps=20, tower=8, hidden=8)
    result = harvest(train, predict, method="eq2", encoder=encoder, config=config)
    by_id = {p.id: p for p in result.predictions}
    assert by_id["silent"].labels == () and by_id["silent"].scores == ()  # stopwords only: no candidate phrase


def test_row_labels_absent_from_the_vocabulary():
    from labkit.diva.harvest import gold_matrix
    from labkit.embed import StaticEncoder, build_candidate_space

    comments = [["mellow piano tune"], ["loud guitar riff"]]
    encoder = StaticEncoder.train([c for cs in comments for c in cs], dim=8, epochs=2, seed=0)
    space = build_candidate_space(comments, ["piano", "guitar"], encoder, lang="en")
    gold = gold_matrix(space, [["piano", "no such label"], ["guitar"]], 2)
    assert gold.sum() == 2  # a gold label that is no phrase of the space is left out of training
    # in evaluation, a true label never seen in training gets the largest propensity weight, and a
    # predicted label outside the truth simply counts as wrong
    scores = evaluate_labels([["unseen", "piano"]], [["unseen"]], ks=(1,), train_lists=[["piano"]])
    assert scores["P@1"] == 1.0 and scores["precision"] == 0.5


@pytest.mark.parametrize("vectors, fragment", [
    (np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 1.0]]), "point 1 holds NaN"),
    (np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), "point 1 is a zero vector"),
    (np.zeros((3, 0)), "zero-length"),
])
def test_row_nan_or_zero_length_embeddings(vectors, fragment):
    with pytest.raises(ValueError, match=fragment):
        SphericalKMeans(n_clusters=2).fit(vectors)


def test_row_tags_without_vectors_are_left_out_and_listed():
    from labkit.embed import StaticEncoder

    encoder = StaticEncoder.train(["rock guitar loud", "piano calm soft", "rock drums"] * 5, dim=8, epochs=2, seed=0)
    table = pd.DataFrame([(f"i{i}", t) for i in range(12) for t in ("rock", "piano", "guitar", "zzzunknown")], columns=["item", "tag"])
    result = cluster_tags(table, encoder=encoder, k=2, min_count=1, progress=False)
    assert result.unknown == ["zzzunknown"] and "zzzunknown" not in set(result.table["tag"])


def test_row_k_larger_than_the_number_of_points(write, tmp_path, capsys):
    with pytest.raises(ValueError, match="k = 5 clusters need 1 <= k <= the number of points \\(3\\)"):
        SphericalKMeans(n_clusters=5).fit(np.eye(3))
    rows = "".join(f"i{i}\t{t}\n" for i in range(12) for t in ("rock", "pop", "jazz", "blues"))
    tsv = write("a.tsv", "item\ttag\n" + rows)
    out = tmp_path / "clusters.tsv"
    out.write_text("earlier output\n")
    code = main(["clusters", "--assignments", str(tsv), "--method", "embed", "--cooccurrence", "--k", "50", "--min-count", "1", "--out", str(out)])
    assert code == 2 and "k = 50" in capsys.readouterr().err
    assert out.read_text() == "earlier output\n"  # nothing already written is lost


def test_commands_name_the_record_and_keep_earlier_output(write, tmp_path, capsys):
    truth = write("t.jsonl", '{"id": "a", "comments": ["x"], "labels": ["rock"]}\n')
    pred = write("p.jsonl", '{"id": "a", "labels": ["rock"], "scores": [0.9]}\n{"id": "b", "labels": ["x"], "scores": "high"}\n')
    assert main(["eval", "--pred", str(pred), "--truth", str(truth)]) == 2
    err = capsys.readouterr().err
    assert f"{pred}:2:" in err and "scores" in err
    out = tmp_path / "out.jsonl"
    out.write_text("kept\n")
    bad_train = write("bad.jsonl", '{"id": "a", "comments": ["x"]}\n')  # no labels
    assert main(["diva", "--train", str(bad_train), "--predict", str(truth), "--out", str(out), "--method", "tfidf"]) == 2
    assert f"{bad_train}:1: missing field 'labels'" in capsys.readouterr().err
    assert out.read_text() == "kept\n"
