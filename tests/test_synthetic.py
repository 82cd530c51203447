"""The synthetic teaching corpus: the committed sample is the generator's output, and its
properties hold (planted groups, incomplete gold labels, out-of-vocabulary labels, playlists)."""

import filecmp

import numpy as np

from labkit.data import read_jsonl_corpus, read_yes_dataset
from labkit.data.synthetic import make_synthetic_corpus, write_synthetic_corpus
from labkit.metrics import evaluate_labels
from labkit.paths import sample_data_dir
from labkit.text import candidate_phrases


def test_committed_sample_is_the_generators_output(tmp_path):
    write_synthetic_corpus(tmp_path)
    committed = sample_data_dir()
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    stored = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert written == stored
    for rel in written:
        assert filecmp.cmp(tmp_path / rel, committed / rel, shallow=False), f"{rel} differs: run `labkit synth`"


def test_same_seed_same_corpus_other_seed_other_corpus():
    a, b, c = make_synthetic_corpus(120, seed=3), make_synthetic_corpus(120, seed=3), make_synthetic_corpus(120, seed=4)
    assert a.train.items == b.train.items and np.array_equal(a.playlists.songs, b.playlists.songs)
    assert a.train.items != c.train.items


def test_gold_is_an_incomplete_subset_of_complete_and_labels_occur_in_comments():
    corpus = make_synthetic_corpus()
    vocab = set(corpus.gold_vocab)
    oov_seen = missed = 0
    for item in [*corpus.train, *corpus.test_gold]:
        complete = set(corpus.complete[item.id])
        assert set(item.labels) <= complete & vocab
        missed += len((complete & vocab) - set(item.labels))
        oov_seen += len(complete - vocab)
        phrases = set(p for c in item.comments for p in candidate_phrases(c))
        assert complete <= phrases  # every complete label is said in the comments
    assert missed > 0 and oov_seen > 0  # missed supervision and out-of-vocabulary labels
    assert all(corpus.label_group[label] for label in corpus.complete["song-0000"])


def test_gold_coverage_close_to_the_papers():
    corpus = make_synthetic_corpus()
    scores = evaluate_labels(corpus.test_gold.label_sets, corpus.test_complete.label_sets)
    assert 0.2 < scores["coverage"] < 0.4  # the DiVa paper's test sets: 0.284


def test_playlist_neighbours_share_more_tags_than_distant_songs():
    corpus = make_synthetic_corpus()
    tags = {sid: set(labels) for sid, labels in corpus.complete.items()}
    keys = corpus.playlists.song_keys

    def mean_jaccard(distance):
        values = []
        for p in range(len(corpus.playlists)):
            songs = corpus.playlists[p]
            for i in range(len(songs) - distance):
                a, b = tags[keys[songs[i]]], tags[keys[songs[i + distance]]]
                values.append(len(a & b) / len(a | b))
        return np.mean(values)

    near, far = mean_jaccard(1), mean_jaccard(6)
    assert near > far * 1.3


def test_written_files_read_back_with_the_kits_readers(tmp_path):
    write_synthetic_corpus(tmp_path, n_songs=60, n_playlists=20)
    train = read_jsonl_corpus(tmp_path / "train.jsonl", require_labels=True)
    test = read_jsonl_corpus(tmp_path / "test_comments.jsonl")
    assert len(train) + len(test) == 60 and not test.has_labels
    ds = read_yes_dataset(tmp_path / "playlists")
    assert len(ds.playlists) == 20 and ds.playlists.n_songs == 60
    assert ds.song_tags.shape[1] == len((tmp_path / "gold_vocab.txt").read_text().split("\n")) - 1
