"""The XMC peers (PECOS XR-Linear, napkinXC PLT on the kit's TF-IDF), the hybrids with GUDN, and
``labkit xmc`` for every method, on tiny corpora (English and Chinese)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from test_gudn import LABELS as GUDN_LABELS  # the six-item corpus of GUDN's tests
from test_gudn import TEXTS as GUDN_TEXTS

from labkit.cli import main
from labkit.gudn.hybrid import HybridXMC, join_features, rerank
from labkit.gudn.peers import LinearXMC, TfidfFeatures, _cs_matrix, top_k_rows
from labkit.gudn.training import XMCConfig, train_xmc

TEXTS = GUDN_TEXTS[:6] * 3
LABELS = GUDN_LABELS[:6] * 3
CHINESE = ["这首歌是温柔的钢琴抒情曲", "激烈的摇滚吉他和架子鼓", "钢琴和弦乐很抒情", "摇滚乐队的吉他很激烈"] * 3
CHINESE_LABELS = [["钢琴", "抒情"], ["摇滚", "吉他"], ["钢琴", "抒情"], ["摇滚", "吉他"]] * 3


@pytest.fixture(scope="module")
def xmc_bert(tmp_path_factory):
    from conftest import make_tiny_bert

    words = sorted({w for t in TEXTS for w in t.split()} | {w for ls in LABELS for label in ls for w in label.split()} | {","})
    return make_tiny_bert(tmp_path_factory.mktemp("peers-bert"), words)


@pytest.fixture(scope="module")
def tiny_gudn(xmc_bert):
    config = XMCConfig(encoder=str(xmc_bert), epochs=3, max_length=24, batch_size=6, dim=16, hidden=16, dropout=0.0,
                       text_layers=2, device="cpu", progress=False)
    return train_xmc(TEXTS, LABELS, config)


def test_tfidf_features_use_the_kits_tokens_in_both_languages():
    english = TfidfFeatures(min_df=1).fit(TEXTS)
    assert english.lang == "en" and "female vocal" in english.vectorizer.vocabulary_  # a 2-gram of the kit's words
    x = english.transform(TEXTS[:2])
    assert x.shape == (2, len(english.vectorizer.vocabulary_)) and x.dtype == np.float32
    np.testing.assert_allclose(sp.linalg.norm(x, axis=1), 1.0, rtol=1e-6)
    chinese = TfidfFeatures(min_df=1).fit(CHINESE)
    assert chinese.lang == "zh" and {"钢琴", "摇滚", "吉他"} <= set(chinese.vectorizer.vocabulary_)  # jieba's words, not characters


@pytest.mark.parametrize("method", ["xr-linear", "plt"])
@pytest.mark.parametrize("texts, labels", [(TEXTS, LABELS), (CHINESE, CHINESE_LABELS)], ids=["english", "chinese"])
def test_linear_peers_learn_a_tiny_corpus(method, texts, labels):
    model = LinearXMC(method, features=TfidfFeatures(min_df=1)).fit(texts, labels)
    assert list(model.labels.tokens) == sorted({label for ls in labels for label in ls})
    ranked = model.predict(texts[:4], top_k=2)
    for (names, scores), truth in zip(ranked, labels[:4]):
        assert names[0] in truth and len(names) == len(scores) <= 2
        assert scores == sorted(scores, reverse=True)  # best first
    idx, val = model.scores(texts[:4], top_k=2)
    assert idx.shape == val.shape == (4, 2)
    assert [[model.labels.tokens[j] for j in row if j >= 0] for row in idx] == [names for names, _ in ranked]


@pytest.mark.parametrize("method", ["xr-linear", "plt"])
def test_linear_peers_are_reproducible_and_refuse_unknown_methods(method):
    first = LinearXMC(method, features=TfidfFeatures(min_df=1)).fit(TEXTS, LABELS).predict(TEXTS, top_k=3)
    again = LinearXMC(method, features=TfidfFeatures(min_df=1)).fit(TEXTS, LABELS).predict(TEXTS, top_k=3)
    assert first == again  # the same scores, not only the same labels (a second fit in one process, too)
    with pytest.raises(ValueError, match="unknown method"):
        LinearXMC("svm")


def test_top_k_rows_of_sparse_scores_by_hand():
    scores = sp.csr_matrix(np.array([[0.0, 0.2, 0.9, 0.0], [0.5, 0.0, 0.0, 0.0]], dtype=np.float32))
    idx, val = top_k_rows(scores, 2)
    np.testing.assert_array_equal(idx, [[2, 1], [0, -1]])  # a row with one score: -1 after it
    np.testing.assert_allclose(val[0], [0.9, 0.2], rtol=1e-6)
    assert val[1, 0] == pytest.approx(0.5) and val[1, 1] == -np.inf


def test_pecos_matrix_helper_keeps_numpy_1_semantics():
    data, indices, indptr = np.array([1.0, 2.0], np.float32), np.array([0, 2], np.int32), np.array([0, 1, 2], np.int64)
    m = _cs_matrix((data, indices, indptr), sp.csr_matrix, shape=(2, 3))
    assert m.indices.dtype == np.int32 and m.indptr.dtype == np.int64  # PECOS keeps the two index types apart
    assert np.shares_memory(m.data, data)  # copy=False: no copy when none is needed
    assert not np.shares_memory(_cs_matrix((data, indices, indptr), sp.csr_matrix, shape=(2, 3), copy=True).data, data)
    converted = _cs_matrix((np.array([1, 2], np.int64), indices, indptr), sp.csr_matrix, shape=(2, 3), dtype=np.float32)
    assert converted.data.dtype == np.float32  # a type change copies instead of failing as numpy 2's copy=False would
    np.testing.assert_array_equal(m.toarray(), [[1, 0, 0], [0, 0, 2]])


def test_join_features_by_hand():
    tfidf = sp.csr_matrix(np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    dense = np.array([[0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    joined = join_features(tfidf, dense, 0.5)
    s = 0.5 / np.sqrt(2)
    expected = np.array([[0.6, 0.0, 0.8, 0.0, 0.5], [0.0, 0.0, 0.0, s, s]], dtype=np.float32)  # [tfidf / |tfidf|, 0.5 e / |e|]
    assert sp.issparse(joined) and joined.shape == (2, 5) and joined.dtype == np.float32
    np.testing.assert_allclose(joined.toarray(), expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="2 sparse rows for 1 dense"):
        join_features(tfidf, dense[:1], 1.0)


def test_rerank_by_hand():
    idx = np.array([[3, 1, 0], [2, -1, -1]])
    linear = np.array([[0.9, 0.8, 0.1], [0.7, -np.inf, -np.inf]])
    probs = np.array([[0.5, 0.1, 0.0, 0.2], [0.0, 0.0, 0.4, 0.9]])
    top, fused = rerank(idx, linear, probs, 0.5, 2, "score")
    # item 0: 3 -> 0.5*0.9 + 0.5*0.2 = 0.55, 1 -> 0.45, 0 -> 0.3; item 1: only label 2 (label 3 is not on its shortlist)
    np.testing.assert_array_equal(top, [[3, 1], [2, -1]])
    np.testing.assert_allclose(fused[0], [0.55, 0.45])
    assert fused[1, 0] == pytest.approx(0.55) and fused[1, 1] == -np.inf
    top, _ = rerank(idx, linear, probs, 1.0, 3, "score")  # GUDN alone, within the shortlist
    np.testing.assert_array_equal(top[0], [0, 3, 1])


def test_rerank_product_and_rank_fusions_by_hand():
    idx = np.array([[3, 1, 0], [2, -1, -1]])
    linear = np.array([[0.9, 0.8, 0.1], [0.7, -np.inf, -np.inf]])
    probs = np.array([[0.5, 0.1, 0.0, 0.2], [0.0, 0.0, 0.4, 0.9]])
    top, fused = rerank(idx, linear, probs, 0.5, 3, "product")
    # item 0: 3 -> 0.5 log 0.9 + 0.5 log 0.2 = -0.8574, 1 -> 0.5 log 0.8 + 0.5 log 0.1 = -1.2629,
    # 0 -> 0.5 log 0.1 + 0.5 log 0.5 = -1.4979
    np.testing.assert_array_equal(top, [[3, 1, 0], [2, -1, -1]])
    np.testing.assert_allclose(fused[0], [-0.857399, -1.262864, -1.497866], atol=1e-6)
    assert fused[1, 0] == pytest.approx(0.5 * np.log(0.7) + 0.5 * np.log(0.4)) and np.isneginf(fused[1, 1:]).all()
    top, fused = rerank(idx, linear, probs, 0.75, 3, "product")
    # 3 -> 0.25 log 0.9 + 0.75 log 0.2 = -1.2334; 1 -> 0.25 log 0.8 + 0.75 log 0.1 = -1.7827; 0 -> 0.25 log 0.1 + 0.75 log 0.5 = -1.0955
    np.testing.assert_array_equal(top[0], [0, 3, 1])
    # rank: GUDN ranks item 0's labels 0, 3, 1, 2 as 1, 2, 3, 4; the shortlist's linear ranks are 1, 2, 3
    top, fused = rerank(idx, linear, probs, 0.5, 3, "rank")
    expected = {3: 0.5 / 61 + 0.5 / 62, 1: 0.5 / 62 + 0.5 / 63, 0: 0.5 / 63 + 0.5 / 61}
    assert list(top[0]) == [3, 0, 1]  # 3: 0.016261, 0: 0.016133, 1: 0.016001
    np.testing.assert_allclose(fused[0], [expected[3], expected[0], expected[1]])
    assert fused[1, 0] == pytest.approx(0.5 / 61 + 0.5 / 62)  # item 1: label 2 is GUDN's second (0.9 for label 3 first)
    with pytest.raises(ValueError, match="unknown fusion"):
        rerank(idx, linear, probs, 0.5, 3, "mean")


def test_gudn_join_trains_xr_linear_on_the_joined_rows(tiny_gudn):
    hybrid = HybridXMC("gudn-join", weight=0.5, features=TfidfFeatures(min_df=1)).fit(TEXTS, LABELS, gudn=tiny_gudn)
    e = tiny_gudn.features(TEXTS[:6])
    assert e.shape == (6, 16)
    joined = join_features(hybrid.features.transform(TEXTS[:6]), e, 0.5)
    assert joined.shape[1] == len(hybrid.features.vectorizer.vocabulary_) + 16
    expected = hybrid.linear.scores(x=joined, top_k=3)  # XR-Linear on the features built here by hand
    got = hybrid.scores(TEXTS[:6], top_k=3)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_allclose(got[1], expected[1])
    assert np.mean([names[0] in truth for (names, _), truth in zip(hybrid.predict(TEXTS[:6], top_k=3), LABELS)]) >= 5 / 6


def test_gudn_rerank_rescores_the_linear_shortlist_with_gudn(tiny_gudn):
    hybrid = HybridXMC("gudn-rerank", weight=0.3, shortlist=5, fusion="score", features=TfidfFeatures(min_df=1)).fit(TEXTS, LABELS, gudn=tiny_gudn)
    idx, linear = hybrid.linear.scores(TEXTS[:6], top_k=5)
    probs = tiny_gudn.scores(TEXTS[:6])
    got_idx, got = hybrid.scores(TEXTS[:6], top_k=3)
    for i in range(6):  # by hand, item by item
        fused = {j: 0.7 * s + 0.3 * probs[i, j] for j, s in zip(idx[i], linear[i]) if j >= 0}
        best = sorted(fused, key=lambda j: -fused[j])[:3]
        assert list(got_idx[i]) == best
        np.testing.assert_allclose(got[i], [fused[j] for j in best])
    rank = HybridXMC("gudn-rerank", weight=0.3, shortlist=5, fusion="rank", features=TfidfFeatures(min_df=1)).fit(TEXTS, LABELS, gudn=tiny_gudn)
    got_idx, got = rank.scores(TEXTS[:6], top_k=3)
    for i in range(6):  # reciprocal ranks, by hand
        gudn_rank = {j: r + 1 for r, j in enumerate(sorted(range(probs.shape[1]), key=lambda j: -probs[i, j]))}
        fused = {j: 0.7 / (60 + r + 1) + 0.3 / (60 + gudn_rank[j]) for r, j in enumerate(idx[i]) if j >= 0}
        np.testing.assert_allclose(got[i], sorted(fused.values(), reverse=True)[:3])
    default = HybridXMC("gudn-rerank", shortlist=5, features=TfidfFeatures(min_df=1)).fit(TEXTS, LABELS, gudn=tiny_gudn)
    got_idx, got = default.scores(TEXTS[:6], top_k=3)  # the default: product fusion, GUDN's weight 0.05
    for i in range(6):
        fused = {j: 0.95 * np.log(s) + 0.05 * np.log(max(probs[i, j], 1e-12)) for j, s in zip(idx[i], linear[i]) if j >= 0}
        assert list(got_idx[i]) == sorted(fused, key=lambda j: -fused[j])[:3]
        np.testing.assert_allclose(got[i], sorted(fused.values(), reverse=True)[:3], rtol=1e-6)
    with pytest.raises(ValueError, match="weight must be in"):
        HybridXMC("gudn-rerank", weight=1.5)
    with pytest.raises(ValueError, match="unknown fusion"):
        HybridXMC("gudn-rerank", fusion="max")


def test_labkit_xmc_peer_command_formats(write, tmp_path):
    train = write("train.jsonl", "".join(json.dumps({"id": f"t{i}", "comments": [t], "labels": ls}) + "\n" for i, (t, ls) in enumerate(zip(TEXTS, LABELS))))
    items = write("in.jsonl", "".join(json.dumps({"id": f"p{i}", "comments": [t]}) + "\n" for i, t in enumerate(TEXTS[:3])))
    for method in ("xr-linear", "plt"):
        out = tmp_path / f"{method}.jsonl"
        assert main(["xmc", "--method", method, "--train", str(train), "--predict", str(items), "--out", str(out), "--top-k", "3"]) == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        model = LinearXMC(method).fit(TEXTS, LABELS)  # the command's defaults
        assert [r["id"] for r in rows] == ["p0", "p1", "p2"]
        for row, (names, scores) in zip(rows, model.predict(TEXTS[:3], top_k=3)):
            assert row["labels"] == names and row["scores"] == pytest.approx(scores, abs=1e-6)
        truth = write("truth.jsonl", "".join(json.dumps({"id": f"p{i}", "comments": [t], "labels": ls}) + "\n" for i, (t, ls) in enumerate(zip(TEXTS[:3], LABELS))))
        assert main(["eval", "--pred", str(out), "--truth", str(truth)]) == 0  # a file `labkit eval` reads


def test_labkit_xmc_hybrid_command_and_refusals(xmc_bert, write, tmp_path, capsys):
    train = write("train.jsonl", "".join(json.dumps({"id": f"t{i}", "comments": [t], "labels": ls}) + "\n" for i, (t, ls) in enumerate(zip(TEXTS, LABELS))))
    items = write("in.jsonl", "".join(json.dumps({"id": f"p{i}", "comments": [t]}) + "\n" for i, t in enumerate(TEXTS[:2])))
    out = tmp_path / "hybrid.jsonl"
    assert main(["xmc", "--method", "gudn-rerank", "--train", str(train), "--predict", str(items), "--out", str(out), "--encoder", str(xmc_bert),
                 "--epochs", "1", "--max-length", "24", "--device", "cpu", "--top-k", "2", "--weight", "0.2", "--shortlist", "4"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(r["labels"]) for r in rows] == [2, 2] and all(r["scores"] == sorted(r["scores"], reverse=True) for r in rows)
    capsys.readouterr()
    assert main(["xmc", "--method", "xr-linear", "--train", str(train), "--predict", str(items), "--out", str(tmp_path / "x.jsonl"),
                 "--weight", "0.3"]) == 2
    assert "--weight" in capsys.readouterr().err and not (tmp_path / "x.jsonl").exists()
    assert main(["xmc", "--method", "gudn-rerank", "--train", str(train), "--predict", str(items), "--out", str(tmp_path / "y.jsonl"),
                 "--encoder", str(xmc_bert), "--weight", "2"]) == 2
    assert "[0, 1]" in capsys.readouterr().err
    assert main(["xmc", "--method", "gudn-join", "--train", str(train), "--predict", str(items), "--out", str(tmp_path / "z.jsonl"),
                 "--encoder", str(xmc_bert), "--fusion", "rank"]) == 2
    assert "--fusion" in capsys.readouterr().err and not (tmp_path / "z.jsonl").exists()
