"""Static word vectors: word2vec text files and gensim Word2Vec trained on the corpus."""

import numpy as np
import pytest

from labkit.data import DataFormatError
from labkit.embed import StaticEncoder, build_candidate_space, get_encoder

VECTORS = "4 3\nsad 1 0 0\npiano 0 1 0\nmellow 0 0 1\nhappy -1 0 0\n"


def test_word2vec_text_file_and_phrase_vectors(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text(VECTORS)
    enc = get_encoder(str(path))
    assert isinstance(enc, StaticEncoder) and enc.dim == 3
    v = enc.encode(["sad", "mellow piano", "unknown words", "Sad!"])
    assert np.allclose(v[0], [1, 0, 0]) and np.allclose(v[3], v[0])
    assert np.allclose(v[1], np.array([0, 1, 1]) / np.sqrt(2))  # normalised sum of the words
    assert np.allclose(v[2], 0)  # no known word: a zero row
    assert enc.unknown(["sad", "unknown words"]) == ["unknown words"]


def test_bad_vectors_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2 3\nsad 1 0\n")
    with pytest.raises(DataFormatError):
        StaticEncoder.from_word2vec_text(path)


def test_trained_word2vec_is_reproducible_and_builds_a_space():
    texts = ["a sad mellow piano song", "happy upbeat drums", "sad piano again", "upbeat happy dance drums"] * 20
    a = StaticEncoder.train(texts, dim=16, epochs=5, seed=3)
    b = StaticEncoder.train(texts, dim=16, epochs=5, seed=3)
    assert np.allclose(a.encode(["sad piano"]), b.encode(["sad piano"]))
    space = build_candidate_space([[t] for t in texts[:4]], ["sad", "jazz"], a, lang="en", cache=False)
    assert space.item_vectors.shape == (4, 16) and space.pair_context is None
    assert np.allclose(space.phrase_vectors[space.phrases.index["jazz"]], 0)  # unknown to the vectors
