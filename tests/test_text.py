import pytest

from labkit.text import (
    candidate_phrases,
    chinese_tokens,
    corpus_candidates,
    detect_language,
    english_tokens,
    normalize,
    normalize_label,
    split_sentences,
)
from labkit.text.candidates import LEFT_CONTEXTS, RIGHT_CONTEXTS, candidate_occurrences, candidate_spans


def test_normalize_and_labels():
    assert normalize("  Ｈｉｐ‐Hop   IS\tGreat ") == "hip-hop is great"
    assert normalize_label("Hip-Hop!") == "hip-hop"
    assert normalize_label(" Male   Vocal ") == "male vocal"
    assert normalize_label("children’s song") == "children's song"


def test_english_tokens_keep_inner_hyphens_and_apostrophes():
    assert english_tokens("The 70's Hip-Hop beat - wow, e-guitar!") == ["the", "70's", "hip-hop", "beat", "wow", "e-guitar"]


def test_sentences():
    text = "The low quality recording features a ballad. It sounds sad! Is it live? yes e.g. here"
    assert split_sentences(text) == ["The low quality recording features a ballad.", "It sounds sad!", "Is it live? yes e.g. here"]
    assert split_sentences("这首歌很好听。旋律伤感！") == ["这首歌很好听。", "旋律伤感！"]
    assert split_sentences("   ") == []


def test_candidates_skip_stopword_edges_keep_negations_and_clauses():
    phrases = candidate_phrases("There are no voices in this song. A punchy kick, and soft piano!")
    assert "no voices" in phrases and "voices" in phrases
    assert "no" not in phrases and "song" in phrases
    assert "punchy kick" in phrases and "soft piano" in phrases
    assert "kick and soft" not in phrases  # never across a comma
    assert not any(p.split()[0] in {"the", "a", "in", "this"} or p.split()[-1] in {"the", "a", "in", "this"} for p in phrases)
    assert "voices in this" not in phrases  # ends with a stopword
    assert len(candidate_phrases("rock and roll forever")) and "rock and roll" in candidate_phrases("rock and roll forever")
    assert "2023" not in candidate_phrases("who is here in 2023")


def test_occurrence_boundaries_by_hand():
    text = "The song features a soft female vocal singing over a mellow piano melody, claps and strong bass."
    occ = {o.phrase: o for o in candidate_occurrences(text)}
    assert [(o.phrase, o.start, o.end) for o in candidate_occurrences(text)] == candidate_spans(text)
    L, R = LEFT_CONTEXTS.index, RIGHT_CONTEXTS.index
    vocal = occ["soft female vocal"]
    assert (vocal.left, vocal.right, vocal.right_word, vocal.whole_item) == (L("determiner"), R("-ing word"), "singing", False)
    melody = occ["mellow piano melody"]  # "over a" are stopwords up to the conjunction-like "over"
    assert (melody.left, melody.right, melody.whole_item) == (L("determiner"), R("punctuation"), True)
    piano = occ["piano"]
    assert (piano.left, piano.left_word, piano.right, piano.right_word, piano.whole_item) == (L("word"), "mellow", R("word"), "melody", False)
    assert occ["claps"].whole_item and (occ["claps"].left, occ["claps"].right) == (L("punctuation"), R("conjunction"))
    bass = occ["bass"]
    assert (bass.left_word, bass.right, bass.whole_item) == ("strong", R("end"), False)
    assert occ["strong bass"].whole_item and occ["strong bass"].left == L("conjunction")
    assert occ["song"].left == L("determiner") and occ["song"].right_word == "features" and not occ["song"].whole_item
    first = candidate_occurrences("Heartfelt.")[0]
    assert (first.left, first.right, first.whole_item) == (L("start"), R("end"), True)


def test_candidates_max_words():
    assert all(len(p.split()) <= 2 for p in candidate_phrases("soft warm mellow piano melody", max_words=2))
    assert "soft warm mellow" in candidate_phrases("soft warm mellow piano melody")


def test_chinese():
    assert detect_language(["这首歌很好听", "旋律很伤感"]) == "zh"
    assert detect_language("a sad song, 很好") == "en"
    tokens = chinese_tokens("这首歌很好听，旋律很伤感！")
    assert "伤感" in tokens and "，" not in tokens
    phrases = candidate_phrases("这首歌没有人声，旋律很伤感", lang="zh")
    assert "伤感" in phrases and "没有人声" in phrases and "的" not in phrases
    assert not any(p.startswith("很") or p.endswith("很") for p in phrases)


def test_corpus_candidates_counts_and_extra():
    vocab, counts = corpus_candidates([["sad song", "so sad"], ["happy"]], extra=["sad", "jazz"])
    assert vocab.tokens[:2] == ["sad", "jazz"]
    assert counts.shape == (2, len(vocab))
    assert counts[0, vocab.index["sad"]] == 2 and counts[1, vocab.index["sad"]] == 0
    assert counts[1, vocab.index["happy"]] == 1 and counts[:, vocab.index["jazz"]].sum() == 0
    vocab_zh, counts_zh = corpus_candidates(["这首歌很伤感", "伤感的旋律"])
    assert counts_zh[:, vocab_zh.index["伤感"]].sum() == 2


def test_unknown_language():
    from labkit.text import tokenize

    with pytest.raises(ValueError, match="unknown language"):
        tokenize("x", "fr")


def test_candidates_cover_musiccaps_complete_labels(musiccaps_protocol):
    from labkit.data import read_jsonl_corpus

    corpus = read_jsonl_corpus(musiccaps_protocol / "test2.jsonl")
    vocab, counts = corpus_candidates(corpus.comments, lang="en")
    truth = vocab.label_matrix(corpus.label_sets, unknown="skip")
    total = sum(len(labels) for labels in corpus.label_sets)
    found = truth.multiply(counts > 0).sum()
    assert found / total > 0.99
