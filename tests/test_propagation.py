"""Playlist-based tag propagation (seed 001): P(s'|s) against a brute-force loop, the random walk
against P(s'|s), the losses by hand, the command, and the Yes.com data (skipped where absent)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from labkit.cli import main
from labkit.data.playlists import PlaylistCollection
from labkit.propagation.experiment import hide_links, link_auc, relative_gain_by_rank
from labkit.propagation.losses import supportive_bce
from labkit.propagation.transitions import new_links, propagated_scores, random_walk, tag_matrix, transition_matrix
from labkit.tagclusters.losses import embedding_weighted_bce

PLAYLISTS = [[0, 1, 2, 3], [2, 4], [1, 0, 1, 5, 2], [6]]


def brute_force(playlists: list[list[int]], n_songs: int, r: float) -> np.ndarray:
    """Eq. 2 and 4 by loops: for each playlist holding s (first position), r^d over the other songs."""
    out, count = np.zeros((n_songs, n_songs)), np.zeros(n_songs)
    for p in playlists:
        seen = set()
        for i, s in enumerate(p):
            if s in seen or len(p) < 2:
                continue
            seen.add(s)
            w = np.array([0.0 if j == i else r ** abs(i - j) for j in range(len(p))])
            for j, other in enumerate(p):
                out[s, other] += w[j] / w.sum()
            count[s] += 1
    return out / np.maximum(count, 1)[:, None]


@pytest.mark.parametrize("r", [0.2, 0.4, 0.8])
def test_transition_matrix_matches_the_formula(r):
    collection = PlaylistCollection.from_lists(PLAYLISTS, [str(i) for i in range(7)])
    p = transition_matrix(collection, r)
    np.testing.assert_allclose(p.toarray(), brute_force(PLAYLISTS, 7, r), atol=1e-12)
    np.testing.assert_allclose(np.asarray(p.sum(axis=1)).ravel(), [1, 1, 1, 1, 1, 1, 0])  # song 6 is alone
    with pytest.raises(ValueError, match="strictly between"):
        transition_matrix(collection, 1.0)


def test_random_walk_follows_the_transition_matrix():
    collection = PlaylistCollection.from_lists(PLAYLISTS, [str(i) for i in range(7)])
    rng = np.random.default_rng(0)
    reached = random_walk(collection, np.full(100_000, 1), 0.4, rng)
    freq = np.bincount(reached, minlength=7) / len(reached)
    np.testing.assert_allclose(freq, transition_matrix(collection, 0.4).toarray()[1], atol=0.01)
    assert random_walk(collection, np.array([6]), 0.4, rng).tolist() == [-1]


def test_propagated_scores_and_new_links_by_hand():
    collection = PlaylistCollection.from_lists([[0, 1, 2]], ["a", "b", "c"])
    tags, ids = tag_matrix([np.array([7]), np.array([], dtype=np.int64), np.array([7, 9])])
    assert ids.tolist() == [7, 9]
    scores = propagated_scores(transition_matrix(collection, 0.5), tags)
    # song 1 (middle) reaches 0 and 2 with 1/2 each: tag 7 from both, tag 9 from song 2
    np.testing.assert_allclose(scores.toarray()[1], [1.0, 0.5])
    # song 0 reaches 1 with 0.5 / 0.75 and 2 with 0.25 / 0.75
    np.testing.assert_allclose(scores.toarray()[0], [1 / 3, 1 / 3])
    fresh = new_links(scores, tags).toarray()
    assert fresh[0, 0] == 0 and fresh[0, 1] == pytest.approx(1 / 3) and fresh[2].tolist() == [0, 0]


def test_supportive_bce_is_the_expected_bce_over_walks():
    torch.manual_seed(0)
    logits = torch.randn(3, 4)
    own = (torch.rand(3, 4) > 0.5).float()
    neighbours = (torch.rand(2, 4) > 0.5).float()  # two songs a walk may reach, with P 0.3 and 0.7
    expected = F.binary_cross_entropy_with_logits(logits, own) + 0.5 * (
        0.3 * F.binary_cross_entropy_with_logits(logits, neighbours[0].expand(3, 4))
        + 0.7 * F.binary_cross_entropy_with_logits(logits, neighbours[1].expand(3, 4)))
    soft = (0.3 * neighbours[0] + 0.7 * neighbours[1]).expand(3, 4)
    assert supportive_bce(logits, own, soft, weight=0.5, negatives=True).item() == pytest.approx(expected.item(), rel=1e-6)
    # the default reading: each propagated tag is a positive weighted by the walk's probability
    positives = F.binary_cross_entropy_with_logits(logits, own) + 0.5 * (
        -(0.3 * neighbours[0] * F.logsigmoid(logits) + 0.7 * neighbours[1] * F.logsigmoid(logits)).mean())
    assert supportive_bce(logits, own, soft, weight=0.5).item() == pytest.approx(positives.item(), rel=1e-6)


def test_embedding_weighted_bce_by_hand():
    vectors = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])  # tag 1 is close to tag 0
    logits = torch.tensor([[0.5, -0.2, 0.1], [0.3, 0.3, 0.3]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    gamma = 2.0
    # sample 0: true tag 0; tag 1 weight 1 + 2 (1 - 0.8), tag 2 weight 1 + 2 (1 - 0); sample 1: no true tag -> 1 + 2
    weights = torch.tensor([[1.0, 1.4, 3.0], [3.0, 3.0, 3.0]])
    expected = F.binary_cross_entropy_with_logits(logits, targets, weight=weights)
    assert embedding_weighted_bce(logits, targets, vectors, gamma).item() == pytest.approx(expected.item(), rel=1e-6)


def test_hide_links_and_gain_by_rank():
    y = sp.random(50, 20, density=0.3, random_state=0, format="csr")
    visible, hidden = hide_links(y, 0.5, seed=1)
    assert visible.multiply(hidden).nnz == 0 and visible.nnz + hidden.nnz == (y > 0).nnz
    rows = relative_gain_by_rank(np.array([0.2, 0.4, 0.1, np.nan]), np.array([0.3, 0.4, 0.2, 0.5]), np.array([10, 5, 1, 0]), bins=2)
    assert rows[0]["relative_gain"] == pytest.approx(0.7 / 0.6 - 1) and rows[1]["relative_gain"] == pytest.approx(1.0)


def test_labkit_propagate_yes_and_aotm(write, tmp_path):
    playlists = write("train.txt", "10 11 12 13\n5 5 5 5\n0 1 2\n2 3\n")
    tags = write("tags.txt", "7\n#\n7 9\n#\n")
    out = tmp_path / "out.tsv"
    assert main(["propagate", "--playlists", str(playlists), "--tags", str(tags), "--format", "yes", "--r", "0.5", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == ["song", "tag", "score"]
    assert set(map(tuple, table[["song", "tag"]].to_numpy().tolist())) == {(0, 9), (1, 7), (1, 9), (3, 7), (3, 9)}
    assert (table["score"] > 0).all()
    mixes = [{"mix_id": "m1", "playlist": [[["A", "x"], "TR1"], [["B", "y"], "TR2"], [["C", "z"], None]]}]
    aotm = write("aotm.json", json.dumps(mixes))
    pairs = write("pairs.tsv", "item\ttag\nTR1\trock\nC - z\tjazz\nTR9\tpop\n")
    assert main(["propagate", "--playlists", str(aotm), "--tags", str(pairs), "--format", "aotm", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert set(zip(table["song"], table["tag"])) == {("TR1", "jazz"), ("TR2", "rock"), ("TR2", "jazz"), ("C - z", "rock")}
    bad = write("bad.txt", "10 11\n5 5\n0 7\n")
    assert main(["propagate", "--playlists", str(bad), "--tags", str(tags), "--format", "yes", "--out", str(out)]) == 2


def test_yes_propagation_ranks_hidden_links_above_popularity(yes_playlists):
    from labkit.data.playlists import read_yes_dataset

    data = read_yes_dataset(yes_playlists)
    visible, hidden = hide_links(data.song_tags, 0.5, seed=0)
    popularity = np.asarray(visible.sum(axis=0)).ravel()
    by_popularity = link_auc(np.tile(popularity, (visible.shape[0], 1)), hidden, visible)
    by_walks = link_auc(propagated_scores(transition_matrix(data.playlists, 0.4), visible), hidden, visible)
    assert by_walks > by_popularity + 0.05


def test_tag_categories_and_gain_by_category():
    from labkit.propagation.categories import TABLE_II, categorize
    from labkit.propagation.experiment import relative_gain_by_category
    from labkit.propagation.plots import gain_by_category_figure, gain_by_rank_figure

    for category, tags in TABLE_II.items():
        assert set(categorize(tags)) == {category}
    assert categorize(["Hip-Hop", "1980s", "swedish", "my favourite", "sad songs", "soft rock", "piano", "wjlb-fm"]) == [
        "genre", "era", "location", "personal", "mood", "genre", "instrument", "other"]
    rows = relative_gain_by_category(np.array([0.2, 0.4, 0.1]), np.array([0.3, 0.4, 0.2]), np.array([10, 20, 30]), ["mood", "era", "mood"])
    assert [r["category"] for r in rows] == ["mood", "era"]
    assert rows[0]["relative_gain"] == pytest.approx(0.5 / 0.3 - 1) and rows[0]["mean_popularity"] == 20
    figure = gain_by_category_figure(rows)
    assert list(figure.data[0].x) == ["mood", "era"] and figure.data[0].y[1] == pytest.approx(0.0)
    ranks = relative_gain_by_rank(np.array([0.2, 0.4]), np.array([0.3, 0.4]), np.array([2, 1]), bins=2)
    assert list(gain_by_rank_figure(ranks).data[0].y) == pytest.approx([50.0, 0.0])
