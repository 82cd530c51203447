import numpy as np
import pytest

from labkit.data import Corpus, Item, Vocabulary


def test_vocabulary_orders_by_count_then_name():
    vocab = Vocabulary.from_label_sets([["b", "a"], ["a"], ["c", "b", "a"], ["d"]], min_count=2)
    assert vocab.tokens == ["a", "b"]
    assert vocab.index == {"a": 0, "b": 1} and "c" not in vocab and len(vocab) == 2
    assert vocab.union(["c", "a"]).tokens == ["a", "b", "c"]


def test_label_matrix_and_decode():
    vocab = Vocabulary(["x", "y", "z"])
    m = vocab.label_matrix([["z", "x", "x"], [], ["unknown", "y"]])
    assert m.toarray().tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    assert vocab.decode_rows(m) == [["x", "z"], [], ["y"]]
    with pytest.raises(KeyError, match="'unknown' is not in the vocabulary"):
        vocab.label_matrix([["unknown"]], unknown="error")
    assert list(vocab.encode(["y", "q"], unknown="skip")) == [1]


def test_corpus_access_and_duplicates():
    corpus = Corpus.from_items([Item("a", ("c1",), ("l1",)), Item("b", ("c2", "c3"))], name="t")
    assert corpus["b"].comments == ("c2", "c3") and corpus[0].id == "a" and "a" in corpus
    assert corpus.position("b") == 1 and corpus.label_sets == [("l1",), ()]
    assert corpus.subset(["b", "a"]).ids == ["b", "a"]
    relabelled = corpus.with_labels([["x", "x"], ["y"]])
    assert relabelled["a"].labels == ("x",) and corpus["a"].labels == ("l1",)
    assert corpus.with_labels(None)["a"].labels is None
    with pytest.raises(ValueError, match="duplicate item id 'a'"):
        Corpus([Item("a", ()), Item("a", ())])
    assert np.array_equal(corpus.label_matrix().toarray(), [[1], [0]])
