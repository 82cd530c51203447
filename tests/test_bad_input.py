"""Bad input, everywhere: one test per row of the README's bad-input table. Every reader either
handles a case as documented or raises one DataFormatError naming the file and line (or record);
commands print that message and exit with status 2, leaving earlier output files untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.cli import main
from labkit.data import Corpus, Item, read_jsonl_corpus, read_predictions
from labkit.data.diva_json import read_diva_json
from labkit.data.errors import DataFormatError
from labkit.data.musiccaps import read_musiccaps_table
from labkit.data.playlists import read_aotm_json, read_yes_playlists, read_yes_tags
from labkit.data.tagging import read_assignments, read_hetrec_lastfm, read_magnatagatune
from labkit.metrics import evaluate_labels
from labkit.tagclusters import SphericalKMeans, cluster_tags

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
    from labkit.tagclusters import assignment_matrix

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
    out.write_text("tag\tcluster\tcount\tsilhouette\nrock\t0\t12\t0.5\n")  # an earlier output of the command
    code = main(["clusters", "--assignments", str(tsv), "--method", "embed", "--cooccurrence", "--k", "50", "--min-count", "1", "--out", str(out)])
    assert code == 2 and "k = 50" in capsys.readouterr().err
    assert out.read_text() == "tag\tcluster\tcount\tsilhouette\nrock\t0\t12\t0.5\n"  # nothing already written is lost


def test_commands_name_the_record_and_keep_earlier_output(write, tmp_path, capsys):
    truth = write("t.jsonl", '{"id": "a", "comments": ["x"], "labels": ["rock"]}\n')
    pred = write("p.jsonl", '{"id": "a", "labels": ["rock"], "scores": [0.9]}\n{"id": "b", "labels": ["x"], "scores": "high"}\n')
    assert main(["eval", "--pred", str(pred), "--truth", str(truth)]) == 2
    err = capsys.readouterr().err
    assert f"{pred}:2:" in err and "scores" in err
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "labels": ["kept"]}\n')  # an earlier prediction file
    bad_train = write("bad.jsonl", '{"id": "a", "comments": ["x"]}\n')  # no labels
    assert main(["diva", "--train", str(bad_train), "--predict", str(truth), "--out", str(out), "--method", "tfidf"]) == 2
    assert f"{bad_train}:1: missing field 'labels'" in capsys.readouterr().err
    assert out.read_text() == '{"id": "a", "labels": ["kept"]}\n'


# --- issue 14, case 6: a directory where a file is expected (and a file where a folder is) -----

def _read_lines(path):
    from labkit.data.textfile import iter_lines

    return list(iter_lines(path))


def _read_vectors(path):
    from labkit.embed import StaticEncoder

    return StaticEncoder.from_word2vec_text(path)


FILE_READERS = {name: reader for name, (reader, _) in READERS.items()} | {
    "text lines (--gold-vocab, --core)": _read_lines,
    "word2vec text": _read_vectors,
}


@pytest.mark.parametrize("name", FILE_READERS)
def test_row_directory_given_for_a_file(name, tmp_path):
    folder = tmp_path / "input.txt"
    folder.mkdir()
    with pytest.raises(DataFormatError, match="is a directory, not a file") as err:
        FILE_READERS[name](folder)
    assert str(err.value).startswith(f"{folder}:")
    missing = tmp_path / "absent.txt"
    with pytest.raises(FileNotFoundError, match="absent.txt"):  # a missing file stays FileNotFoundError
        FILE_READERS[name](missing)


def _hetrec_files(folder):
    (folder / "tags.dat").write_text("tagID\ttagValue\n1\trock\n")
    (folder / "user_taggedartists.dat").write_text("userID\tartistID\ttagID\n2\t52\t1\n")


def _yes_files(folder):
    (folder / "train.txt").write_text("# ids\n1 1\n0 1\n")
    (folder / "tags.txt").write_text("0\n#\n")
    (folder / "tag_hash.txt").write_text("0, rock\n")


def _protocol_files(folder):
    row = '{"id": "a", "comments": ["x"], "labels": ["rock"]}\n'
    for name in ("train.jsonl", "test_comments.jsonl", "test1.jsonl", "test2.jsonl"):
        (folder / name).write_text(row)
    (folder / "gold_vocab.txt").write_text("rock\n")


def _folder_readers():
    from labkit.data import read_yes_dataset
    from labkit.data.protocol import read_protocol

    return {
        "HetRec Last.fm": (read_hetrec_lastfm, _hetrec_files, "tags.dat"),
        "Yes.com dataset": (read_yes_dataset, _yes_files, "tags.txt"),
        "protocol folder": (read_protocol, _protocol_files, "gold_vocab.txt"),
    }


@pytest.mark.parametrize("name", ["HetRec Last.fm", "Yes.com dataset", "protocol folder"])
def test_row_file_given_for_a_folder(name, tmp_path):
    reader, make_files, needed = _folder_readers()[name]
    folder = tmp_path / "data"
    folder.mkdir()
    make_files(folder)
    assert reader(folder) is not None  # the folder as it should be reads
    file = folder / needed
    with pytest.raises(DataFormatError, match="is a file, not a folder") as err:
        reader(file)
    assert str(err.value).startswith(f"{file}:")
    with pytest.raises(FileNotFoundError, match="absent"):
        reader(tmp_path / "absent")
    file.unlink()  # a folder lacking one of its files: FileNotFoundError naming it
    with pytest.raises(FileNotFoundError, match=needed):
        reader(folder)


# --- issue 14, case 7: input that used to crash a reader with another exception -----------------

@pytest.mark.parametrize("score, fragment", [
    ("9" * 400, "'scores'[0] must be a finite number, found an integer too large for a float"),
    ("-" + "9" * 400, "'scores'[0] must be a finite number"),
    ("1e999", "'scores'[0] must be a finite number, found inf"),
    ("NaN", "'scores'[0] must be a finite number, found nan"),
    ("Infinity", "'scores'[0] must be a finite number, found inf"),
    ("-Infinity", "'scores'[0] must be a finite number, found -inf"),
    ("9" * 5000, "not valid JSON (a number with too many digits)"),
], ids=["400-digits", "minus-400-digits", "1e999", "NaN", "Infinity", "-Infinity", "5000-digits"])
def test_row_score_that_is_no_finite_number(score, fragment, write):
    path = write("p.jsonl", '{"id": "a", "labels": ["x"], "scores": [1]}\n'
                            f'{{"id": "b", "labels": ["x"], "scores": [{score}]}}\n')
    with pytest.raises(DataFormatError) as err:
        read_predictions(path)
    assert f"{path}:2: {fragment}" in str(err.value)


def test_row_scores_not_as_long_as_labels(write):
    path = write("p.jsonl", '{"id": "a", "labels": ["x", "y"], "scores": [0.5]}\n')
    with pytest.raises(DataFormatError, match=r":1: 'scores' must be a list as long as 'labels' \(1 scores, 2 labels\)"):
        read_predictions(path)


JSON_READERS = ["jsonl corpus", "predictions", "DiVa JSON", "AotM JSON"]


@pytest.mark.parametrize("name", JSON_READERS)
@pytest.mark.parametrize("content, fragment", [
    ("[" * 100_000, "not valid JSON (nested too deeply)"),
    ('{"a": ' * 100_000, "not valid JSON (nested too deeply)"),
    ('{"id": ' + "7" * 5000 + "}", "not valid JSON (a number with too many digits)"),
], ids=["deep-lists", "deep-objects", "5000-digit-number"])
def test_row_json_nested_too_deep_or_a_number_too_long(name, content, fragment, write):
    reader, filename = READERS[name]
    path = write(filename, content + "\n")
    with pytest.raises(DataFormatError) as err:
        reader(path)
    where = f"{path}:1:" if filename.endswith(".jsonl") else f"{path}:"
    assert f"{where} {fragment}" in str(err.value)


LONG = "x" * (200 * 1024)  # over csv's default field_size_limit (128 KiB)


@pytest.mark.parametrize("name, filename, content, where", [
    ("item/tag TSV", "a.tsv", f"item\ttag\nx\trock\ny\t{LONG}\n", ":3:"),
    ("MusicCaps CSV", "m.csv", MC_HEADER + f"abc,0,10,\"{LONG}\",\"['rock']\"\n", ":2:"),
    ("MagnaTagATune", "annotations_final.csv", f"clip_id\trock\tmp3_path\n1\t0\t{LONG}\n", ":2:"),
    ("MusicCaps CSV", "m.csv", MC_HEADER + "abc,0,10,a song,\"['rock']\"\nb\rc,0,10,x,\"[]\"\n", ":3:"),
], ids=["tsv-long-field", "musiccaps-long-caption", "magnatagatune-long-path", "musiccaps-stray-CR"])
def test_row_csv_field_over_128_kib_or_a_stray_line_break(name, filename, content, where, write):
    path = write(filename, content)
    with pytest.raises(DataFormatError, match="not valid CSV") as err:
        READERS[name][0](path)
    assert f"{path}{where}" in str(err.value)


@pytest.mark.parametrize("cell", ["{[]}", "{1: 2}", "[[1]]", "{{}}", "{[]: 1}", "[1, 'a']", "'rock'", "[" * 1000],
                         ids=["set-of-list", "dict", "nested-list", "set-of-dict", "dict-list-key", "list-with-int", "string", "deep"])
def test_row_musiccaps_aspect_list_not_a_list_of_strings(cell, write):
    path = write("m.csv", MC_HEADER + f"abc,0,10,a song,\"{cell}\"\n")
    with pytest.raises(DataFormatError, match="aspect_list") as err:
        read_musiccaps_table(path)
    assert f"{path}:2: record 'abc'" in str(err.value)


@pytest.mark.parametrize("start", ["nan", "inf", "-1", "1_0", "١٢", "1e3", "+3"],
                         ids=["nan", "inf", "minus", "underscore", "arabic-digits", "exponent", "plus"])
def test_row_musiccaps_times_not_plain_numbers(start, write):
    path = write("m.csv", MC_HEADER + f"abc,{start},10,a song,\"['rock']\"\n")
    with pytest.raises(DataFormatError, match="start_s and end_s must be numbers") as err:
        read_musiccaps_table(path)
    assert f"{path}:2:" in str(err.value)


ODD_INTEGERS = ["١٢", "²", "1_000", "+3", "-1", "9" * 30, "1.0", "0x1"]
ODD_IDS = ["arabic-digits", "superscript-2", "underscore", "plus", "minus", "30-digits", "1.0", "hex"]


@pytest.mark.parametrize("token", ODD_INTEGERS, ids=ODD_IDS)
@pytest.mark.parametrize("filename, template, where", [
    ("train.txt", "# ids\n0 {}\n0 1\n", ":2:"),  # a play count
    ("train.txt", "# ids\n1 1\n0 {}\n", ":3:"),  # a song index
    ("tags.txt", "0\n{} 1\n", ":2:"),
    ("tag_hash.txt", "0, rock\n{}, pop\n", ":2:"),
    ("song_hash.txt", "0\ta\tb\n{}\tc\td\n", ":2:"),
], ids=["play-count", "song-index", "tags", "tag_hash", "song_hash"])
def test_row_yes_numbers_that_are_not_plain_integers(token, filename, template, where, write):
    from labkit.data import read_yes_songs, read_yes_tag_names

    reader = {"train.txt": read_yes_playlists, "tags.txt": read_yes_tags,
              "tag_hash.txt": read_yes_tag_names, "song_hash.txt": read_yes_songs}[filename]
    assert reader(write(filename, template.format("1"))) is not None  # plain digits read
    path = write(filename, template.format(token))
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert f"{path}{where}" in str(err.value)


@pytest.mark.parametrize("token", ODD_INTEGERS, ids=ODD_IDS)
def test_row_hetrec_ids_that_are_not_plain_integers(token, tmp_path):
    folder = tmp_path / "hetrec"
    folder.mkdir()
    _hetrec_files(folder)
    (folder / "user_taggedartists.dat").write_text(f"userID\tartistID\ttagID\n2\t52\t1\n\n2\t{token}\t1\n")
    with pytest.raises(DataFormatError, match="column 'artistID' must hold integers") as err:
        read_hetrec_lastfm(folder)
    assert "user_taggedartists.dat:4:" in str(err.value)  # the file line, blank lines counted


def test_row_aotm_mix_id_that_is_no_string_or_integer(write):
    path = write("aotm.json", '[{"mix_id": [1], "playlist": []}]')
    with pytest.raises(DataFormatError, match="record 'mix #0': 'mix_id' must be a string or an integer"):
        read_aotm_json(path)


@pytest.mark.parametrize("content, fragment", [
    ("3 2\nsad 1 0\n", ":1: not a word2vec text file: 3 vectors of 2 numbers cannot fit"),
    ("3 2\nsad 1 0\nhappyhappyhappyhappy 0 1\n", "not a word2vec text file: unexpected end of input"),
    ("1000000000000 2\nsad 1 0\n", ":1: not a word2vec text file"),
    ("1 1000000000000\nsad 1 0\n", ":2: not a word2vec text file: expected a word and 1000000000000 numbers"),
    ("+1 2\nsad 1 0\n", ":1: not a word2vec text file: line 1 must be 'count dim'"),
    ("1 2\nsad nan 0\n", "record 'sad': the vector holds NaN or infinity"),
    ("1 2\nsad " + "9" * 400 + " 0\n", "record 'sad': the vector holds NaN or infinity"),
], ids=["count-too-big", "count-one-too-many", "count-10**12", "dim-10**12", "plus-sign", "nan", "400-digits"])
def test_row_word2vec_header_that_does_not_fit_the_file(content, fragment, write):
    path = write("v.txt", content)
    with pytest.raises(DataFormatError) as err:
        _read_vectors(path)
    assert (f"{path}{fragment}" if fragment.startswith(":") else f"{path}: {fragment}") in str(err.value)


# --- issue 14, case 8: a huge k sizes no array by k ------------------------------------------

def test_row_huge_k_in_evaluation():
    pred = [["a", "b", "c"], ["b"], []]
    truth = [["a", "c"], ["b", "d", "e"], ["a"]]
    train = [["a"], ["b", "c"], ["a", "d"]]
    huge = evaluate_labels(pred, truth, ks=(10**12,), train_lists=train)
    ordinary = evaluate_labels(pred, truth, ks=(5,), train_lists=train)  # 5 > every list's length
    assert huge["P@1000000000000"] == pytest.approx(ordinary["P@5"] * 5 / 10**12)  # P@k divides by k
    assert huge["P@1000000000000"] * 10**12 == pytest.approx(3 / 3)  # 3 hits over 3 items
    assert ordinary["R@5"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    for metric in ("R", "nDCG", "PSP", "PSnDCG"):
        assert huge[f"{metric}@1000000000000"] == pytest.approx(ordinary[f"{metric}@5"])
    for metric in ("precision", "recall", "f1", "coverage"):
        assert huge[metric] == ordinary[metric]
