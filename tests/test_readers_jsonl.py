import json

import pytest

from labkit.data import DataFormatError, Prediction, read_jsonl_corpus, read_predictions, write_jsonl_corpus, write_predictions


def lines(*objs):
    return "\n".join(o if isinstance(o, str) else json.dumps(o, ensure_ascii=False) for o in objs) + "\n"


def test_reads_items_labels_and_unlabelled(write):
    path = write(
        "c.jsonl",
        lines(
            {"id": "a", "comments": ["Great song", "so sad"], "labels": ["sad", "pop", "sad"]},
            "",
            {"id": "b", "comments": []},
            {"id": "c", "comments": ["x"], "labels": []},
        ),
    )
    corpus = read_jsonl_corpus(path)
    assert corpus.ids == ["a", "b", "c"]
    assert corpus["a"].labels == ("sad", "pop")  # duplicates removed, order kept
    assert corpus["b"].labels is None and corpus["c"].labels == ()
    assert corpus["a"].text == "Great song\nso sad"
    assert not corpus.has_labels
    matrix = corpus.label_matrix()
    assert matrix.shape == (3, 2) and matrix.sum() == 2


def test_round_trip(write, tmp_path):
    path = write("c.jsonl", lines({"id": "ü", "comments": ["中文评论"], "labels": ["伤感"]}, {"id": "b", "comments": ["x"]}))
    corpus = read_jsonl_corpus(path)
    write_jsonl_corpus(corpus, tmp_path / "out.jsonl")
    again = read_jsonl_corpus(tmp_path / "out.jsonl")
    assert again.items == corpus.items


@pytest.mark.parametrize(
    "content, line, fragment",
    [
        (lines({"id": "a", "comments": []}, "{not json"), 2, "not valid JSON"),
        (lines({"id": "a", "comments": []}, {"comments": ["x"]}), 2, "missing field 'id'"),
        (lines({"id": "a"}), 1, "missing field 'comments'"),
        (lines({"id": 3, "comments": []}), 1, "'id' must be a non-empty string"),
        (lines({"id": "a", "comments": "one string"}), 1, "must be a list of strings"),
        (lines({"id": "a", "comments": ["ok", 5]}), 1, "'comments'[1] must be a string"),
        (lines({"id": "a", "comments": [], "labels": [None]}), 1, "'labels'[0] must be a string"),
        (lines({"id": "a", "comments": []}, {"id": "b", "comments": []}, {"id": "a", "comments": []}), 3, "duplicate id 'a' (first on line 1)"),
        (lines(["a", "list"]), 1, "expected a JSON object"),
    ],
)
def test_malformed_lines_name_file_and_line(write, content, line, fragment):
    path = write("bad.jsonl", content)
    with pytest.raises(DataFormatError) as info:
        read_jsonl_corpus(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}:")
    assert fragment in str(info.value)


def test_empty_file_and_wrong_encoding(write):
    with pytest.raises(DataFormatError, match="empty"):
        read_jsonl_corpus(write("empty.jsonl", "\n  \n"))
    latin1 = lines({"id": "a", "comments": ["ok"]}).encode() + '{"id": "b", "comments": ["café"]}\n'.encode("latin-1")
    with pytest.raises(DataFormatError) as info:
        read_jsonl_corpus(write("latin.jsonl", latin1))
    assert info.value.line == 2 and "not valid utf-8" in str(info.value)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_jsonl_corpus(tmp_path / "nope.jsonl")


def test_require_labels(write):
    with pytest.raises(DataFormatError, match="missing field 'labels'"):
        read_jsonl_corpus(write("c.jsonl", lines({"id": "a", "comments": []})), require_labels=True)


def test_predictions_round_trip_and_validation(write, tmp_path):
    preds = [Prediction("a", ("x", "y"), (0.9, 0.1)), Prediction("b", ())]
    write_predictions(preds, tmp_path / "p.jsonl")
    assert read_predictions(tmp_path / "p.jsonl") == preds
    for bad, fragment in [
        ({"id": "a", "labels": ["x", "x"]}, "listed twice"),
        ({"id": "a", "labels": ["x"], "scores": [1, 2]}, "as long as"),
        ({"id": "a", "labels": ["x"], "scores": ["high"]}, "finite number"),
        ({"id": "a"}, "missing field 'labels'"),
    ]:
        with pytest.raises(DataFormatError, match=fragment):
            read_predictions(write("bad.jsonl", lines(bad)))
    with pytest.raises(DataFormatError, match="finite number"):
        read_predictions(write("nan.jsonl", '{"id": "a", "labels": ["x"], "scores": [NaN]}\n'))
