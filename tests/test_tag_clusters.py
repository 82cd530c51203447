"""Tag embeddings, the cluster_tags pipeline and ``labkit clusters``, on small hand-made data and
on the real MusicCaps aspects and HetRec Last.fm tags (skipped where absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from labkit.cli import main
from labkit.embed import StaticEncoder
from labkit.tagclusters import cluster_tags
from labkit.tagclusters.vectors import cooccurrence_embeddings, embed_tags, skipgram_samples

VECTORS = """6 3
male 1 0 0
voice 0 1 0
vocal 0 1 0.1
singer 0 1 -0.1
low 0 0 1
quality 0.2 0 1
"""


def test_multi_word_tags_are_normalised_sums_and_unknown_tags_are_reported(write):
    encoder = StaticEncoder.from_word2vec_text(write("v.txt", VECTORS))
    tv = embed_tags(["male voice", "quality", "zzz qqq", "male zzz"], encoder)
    np.testing.assert_allclose(tv.vectors[0], np.array([1, 1, 0]) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(tv.vectors[3], [1, 0, 0], atol=1e-6)  # the unknown word adds zero
    assert tv.unknown == ["zzz qqq"] and not tv.known[2]
    assert tv.subset(tv.known).tags == ["male voice", "quality", "male zzz"]


def test_fasttext_covers_unseen_words():
    texts = ["soft male vocal", "soft female vocal", "male voice singing", "low quality recording"] * 20
    encoder = StaticEncoder.train(texts, dim=16, fasttext=True, epochs=5)
    assert encoder.subword and encoder.unknown(["vocals"]) == []
    assert np.linalg.norm(encoder.encode(["vocals"])) == pytest.approx(1.0, abs=1e-5)
    plain = StaticEncoder.train(texts, dim=16, epochs=5)
    assert not plain.subword and plain.unknown(["vocals"]) == ["vocals"]


def blocks(seed: int = 0, n_items: int = 300) -> tuple[sp.csr_matrix, list[str]]:
    """Two groups of tags that co-occur within their group only."""
    rng = np.random.default_rng(seed)
    tags = ["rock", "metal", "guitar", "loud", "piano", "calm", "soft", "jazz"]
    rows, cols = [], []
    for i in range(n_items):
        group = rng.integers(2) * 4
        chosen = [t for t in range(group, group + 4) if rng.random() < 0.6] or [group]
        rows += [i] * len(chosen)
        cols += chosen
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n_items, len(tags))), tags


def test_skipgram_samples_skip_items_with_one_tag():
    y = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1], [1, 0, 1]]))
    items, tags = skipgram_samples(y)
    assert items.tolist() == [0, 0, 2, 2] and tags.tolist() == [0, 1, 0, 2]


def test_cooccurrence_embeddings_group_tags_that_share_items():
    y, tags = blocks()
    tv = cooccurrence_embeddings(y, tags, progress=False)
    assert tv.vectors.shape == (8, int(np.floor(np.sqrt(8))))  # floor(sqrt(N)) dimensions
    s = tv.vectors @ tv.vectors.T
    within = np.mean([s[i, j] for i in range(4) for j in range(4) if i != j] + [s[i, j] for i in range(4, 8) for j in range(4, 8) if i != j])
    across = s[:4, 4:].mean()
    assert within > across + 0.5
    again = cooccurrence_embeddings(y, tags, progress=False)
    np.testing.assert_array_equal(again.vectors, tv.vectors)


def assignments_frame(y: sp.csr_matrix, tags: list[str]) -> pd.DataFrame:
    coo = y.tocoo()
    return pd.DataFrame({"item": [f"song{r}" for r in coo.row], "tag": [tags[c] for c in coo.col]})


@pytest.mark.parametrize("options", [dict(method="npmi"), dict(method="embed", cooccurrence_vectors=True),
                                     dict(method="embed", cooccurrence_vectors=True, algorithm="average")])
def test_cluster_tags_recovers_the_two_groups(options):
    y, tags = blocks()
    result = cluster_tags(assignments_frame(y, tags), k=range(2, 5), min_count=5, progress=False, **options)
    groups = result.table.groupby("cluster")["tag"].apply(set).tolist()
    assert sorted(map(sorted, groups)) == [sorted(tags[4:]), sorted(tags[:4])]
    assert list(result.table.columns) == ["tag", "cluster", "count", "silhouette"]
    counts = dict(zip(result.table["tag"], result.table["count"]))
    assert counts["rock"] == int(y[:, 0].sum())


def test_cluster_tags_core_filter_merge_and_min_count():
    y, tags = blocks()
    frame = assignments_frame(y, tags)
    kept = cluster_tags(frame, method="npmi", k=[2], min_count=5, core_tags={"jazz"}, progress=False)
    assert set(kept.table["tag"]) == set(tags[4:])
    merged = cluster_tags(frame, method="npmi", k=[2], min_count=5, merge_m=1.0 + 1e-9, progress=False)
    assert merged.table["cluster"].nunique() in (1, 2)
    with pytest.raises(ValueError, match="min-count"):
        cluster_tags(frame, method="npmi", min_count=10_000, progress=False)
    with pytest.raises(ValueError, match="needs an encoder"):
        cluster_tags(frame, method="embed", progress=False)


def test_labkit_clusters_command(write, tmp_path, capsys):
    y, tags = blocks()
    frame = assignments_frame(y, tags).rename(columns={"item": "song", "tag": "label"})
    path = write("pairs.tsv", frame.to_csv(sep="\t", index=False))
    out = tmp_path / "clusters.tsv"
    assert main(["clusters", "--assignments", str(path), "--item-col", "song", "--tag-col", "label", "--method", "npmi",
                 "--k", "2-4", "--min-count", "5", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == ["tag", "cluster", "count", "silhouette"] and set(table["tag"]) == set(tags)
    vectors = write("v.txt", "3 2\nrock 1 0\nmetal 0.9 0.1\njazz 0 1\n")
    assert main(["clusters", "--assignments", str(path), "--item-col", "song", "--tag-col", "label", "--method", "embed",
                 "--vectors", str(vectors), "--k", "2", "--min-count", "5", "--out", str(out)]) == 0
    assert "5 tag(s) had no known word" in capsys.readouterr().err
    assert set(pd.read_csv(out, sep="\t")["tag"]) == {"rock", "metal", "jazz"}
    bad = write("bad.tsv", "song\tlabel\nsong1\t\n")
    assert main(["clusters", "--assignments", str(bad), "--item-col", "song", "--tag-col", "label", "--method", "npmi", "--out", str(out)]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err


SYNONYMS = [["male voice", "male vocal", "male singer"], ["medium tempo", "moderate tempo"], ["low quality", "poor audio quality"]]


def test_musiccaps_synonym_groups_land_together(musiccaps_csv):
    from labkit.data.musiccaps import musiccaps_assignments
    from labkit.embed import get_encoder

    result = cluster_tags(musiccaps_assignments(musiccaps_csv), method="embed", algorithm="average",
                          encoder=get_encoder("all-MiniLM-L6-v2", progress=False), min_count=10, progress=False)
    cluster = dict(zip(result.table["tag"], result.table["cluster"]))
    for group in SYNONYMS:
        assert len({cluster[t] for t in group}) == 1, (group, [cluster[t] for t in group])


def test_labkit_clusters_npmi_on_hetrec(hetrec, tmp_path):
    from labkit.data.tagging import read_hetrec_lastfm

    path = tmp_path / "hetrec.tsv"
    read_hetrec_lastfm(hetrec)[["item", "tag"]].to_csv(path, sep="\t", index=False)
    out = tmp_path / "clusters.tsv"
    assert main(["clusters", "--assignments", str(path), "--method", "npmi", "--min-count", "100", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert len(table) > 20 and table["cluster"].nunique() >= 2 and (table["count"] >= 100).all()


def test_hyphenated_words_fall_back_to_their_parts(write):
    encoder = StaticEncoder.from_word2vec_text(write("v.txt", "3 2\nhip 1 0\nhop 0 1\nrock 1 1\n"))
    np.testing.assert_allclose(encoder.encode(["hip-hop"])[0], np.array([1, 1]) / np.sqrt(2), atol=1e-6)
    assert encoder.words("rock'n'roll") == ["rock"] and encoder.unknown(["post-xyz", "rock"]) == ["post-xyz"]
