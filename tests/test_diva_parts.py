"""DiVa's parts: scores by hand, the pair classifier's decomposition, losses, pair sampling, encoders."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from labkit.diva.classifier import PairClassifier
from labkit.diva.losses import nnpu
from labkit.diva.scoring import coefficient_of_variation, discrimination_ability, joint_score, practical_value, semantic_novelty, tfidf
from labkit.embed import EmbeddingCache, TransformerEncoder, build_candidate_space


def test_tfidf_by_hand():
    counts = sp.csr_matrix(np.array([[2, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=float))
    si = tfidf(counts).toarray()
    assert si[0, 0] == pytest.approx(2 / 3 * math.log(3 / 1))
    assert si[0, 1] == pytest.approx(1 / 3 * math.log(3 / 2))
    assert si[2, 2] == pytest.approx(1.0 * math.log(3 / 2))
    assert si[1, 0] == 0


def test_semantic_novelty():
    labels = np.array([[1.0, 0, 0], [0, 1.0, 0], [0.9, 0.1, 0]])
    cands = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])
    sn = semantic_novelty(cands, labels, n_clusters=3, runs=4)  # K = number of labels: centres are the labels
    assert sn[0] == pytest.approx(0.0, abs=1e-9) and sn[2] == pytest.approx(0.0, abs=1e-9)
    assert sn[1] == pytest.approx(1.0)
    sn1 = semantic_novelty(cands, labels, n_clusters=1, runs=2)  # one centre: the mean direction
    centre = labels / np.linalg.norm(labels, axis=1, keepdims=True)
    centre = centre.mean(0) / np.linalg.norm(centre.mean(0))
    assert sn1[0] == pytest.approx(1 - centre[0])


def test_pv_da_and_joint_score():
    assert practical_value(np.array([0.001, 0.5]), 0.0025).tolist() == [0.0, 1.0]
    assert practical_value(np.array([0.001, 0.5]), 0.0025, continuous=True).tolist() == [0.001, 0.5]
    counts = sp.csr_matrix(np.array([[1, 2], [1, 0], [1, 0], [1, 0]], dtype=float))
    cv = coefficient_of_variation(counts)
    assert cv[0] == 0.0  # in every item equally: cannot discriminate
    assert cv[1] == pytest.approx(np.std([2, 0, 0, 0]) / 0.5)
    assert discrimination_ability(counts, 0.0025).tolist() == [0.0, 1.0]
    si = sp.csr_matrix(np.array([[0.5, 0.2], [0.1, 0.0]]))
    g = joint_score(si, np.array([0.5, 1.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0])).toarray()
    assert g.tolist() == [[0.0, 0.2], [0.0, 0.0]]
    g = joint_score(si, np.array([0.5, 1.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0]), use=("SI", "SN")).toarray()
    assert g[0].tolist() == [0.25, 0.2]
    with pytest.raises(ValueError, match="unknown score parts"):
        joint_score(si, np.ones(2), np.ones(2), np.ones(2), use=("XX",))


def test_pair_classifier_decomposition_equals_concatenation():
    torch.manual_seed(0)
    model = PairClassifier(12, 8, n_features=4, tower=16, hidden=10).eval()
    items, labels, feats = torch.randn(50, 12), torch.randn(50, 8), torch.randn(50, 4)
    assert torch.allclose(model(items, labels, feats), model.forward_concat(items, labels, feats), atol=1e-5)
    u, v = model.item_part(items[:5]), model.label_part(labels[:7])
    grid = model.pair_logits(u[:, None, :].expand(5, 7, -1), v[None].expand(5, 7, -1), torch.zeros(5, 7, 4))
    direct = model.forward_concat(items[:5, None].expand(5, 7, -1).reshape(35, 12), labels[None, :7].expand(5, 7, -1).reshape(35, 8), torch.zeros(35, 4))
    assert torch.allclose(grid.reshape(-1), direct, atol=1e-5)
    # score_indexed: the same logits from indices, with dense features or with those of some pairs only
    item_idx, label_idx = torch.tensor([0, 3, 4, 1, 0, 2]), torch.tensor([6, 0, 2, 2, 5, 1])
    some = torch.randn(6, 4)
    some[[1, 3, 4]] = 0.0  # these pairs have no features
    expected = model.forward_concat(items[:5][item_idx], labels[:7][label_idx], some)
    assert torch.allclose(model.score_indexed(u, v, item_idx, label_idx, some), expected, atol=1e-5)
    rows = torch.tensor([0, 2, 5])
    assert torch.allclose(model.score_indexed(u, v, item_idx, label_idx, some[rows], rows), expected, atol=1e-5)


def test_nnpu_by_hand():
    logits = torch.tensor([2.0, -1.0, 0.5, -0.5])
    pos = torch.tensor([True, True, False, False])
    prior = 0.3
    bce = lambda z, y: -(y * math.log(1 / (1 + math.exp(-z))) + (1 - y) * math.log(1 - 1 / (1 + math.exp(-z))))
    r_p_plus = (bce(2.0, 1) + bce(-1.0, 1)) / 2
    r_p_minus = (bce(2.0, 0) + bce(-1.0, 0)) / 2
    r_u_minus = (bce(0.5, 0) + bce(-0.5, 0)) / 2
    expected = prior * r_p_plus + max(0.0, r_u_minus - prior * r_p_minus)
    assert float(nnpu(logits, pos, prior)) == pytest.approx(expected, rel=1e-5)
    # when the unlabelled risk falls below the positives' share, the negative part is clipped at 0
    assert float(nnpu(torch.tensor([-3.0, -3.0, -9.0]), torch.tensor([True, True, False]), 0.9)) == pytest.approx(0.9 * bce(-3.0, 1), rel=1e-5)


def test_transformer_encoder_normalises_and_caches(tiny_bert, tmp_path):
    enc = TransformerEncoder(str(tiny_bert), cache=tmp_path / "c", progress=False)
    texts = ["a sad piano song", "punchy kick and drums", "a sad piano song"]
    vectors = enc.encode(texts)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2], atol=1e-6)
    assert len(EmbeddingCache(enc.encoder_id, tmp_path / "c")) == 2  # stored once per distinct text
    again = TransformerEncoder(str(tiny_bert), cache=tmp_path / "c", progress=False)
    again._forward = None  # a cached call must not run the model
    assert np.allclose(again.encode(texts[:2]), vectors[:2])


def test_candidate_space_contextual_phrase_vectors(tiny_bert):
    enc = TransformerEncoder(str(tiny_bert), cache=False, progress=False)
    comments = [["The sad piano, so sad."], ["punchy kick drums"], []]
    space = build_candidate_space(comments, ["piano", "jazz"], enc, lang="en")
    assert space.phrases.tokens[:2] == ["piano", "jazz"] and space.n_gold == 2
    assert space.counts[0, space.phrases.index["sad"]] == 2 and space.counts[:, 1].sum() == 0
    assert space.comment_share[0, space.phrases.index["sad"]] == 1.0
    assert np.allclose(np.linalg.norm(space.phrase_vectors, axis=1), 1, atol=1e-5)  # "jazz" never occurs: encoded alone
    assert np.allclose(np.linalg.norm(space.item_vectors[:2], axis=1), 1, atol=1e-5)
    # the vector of a one-token phrase is the mean of its contextual token vectors
    _, _, vecs, offs = next(enc.iter_token_batches(["the sad piano so sad"]))
    assert len(vecs[0]) == 5 and offs[0].tolist()[1] == [4, 7]


def test_boundary_features_average_occurrences_by_hand():
    from labkit.embed.space import Occurrences, PCABasis, boundary_features
    from labkit.text.candidates import LEFT_CONTEXTS, RIGHT_CONTEXTS

    counts = sp.csr_matrix(np.array([[2, 0, 0], [0, 0, 1], [1, 1, 0]], dtype=np.float32))
    occ = Occurrences(np.array([0, 0, 1, 2, 2]), np.array([0, 0, 2, 0, 1]), None, None, np.array([0, 5, 1, 2, 5]),
                       np.array([1, 1, 0, 3, 5]), np.array([True, False, True, False, False]), [], [], [], [], np.zeros(0), [])
    neighbours = np.array([[-1, -1], [1, -1], [-1, -1], [-1, -1], [0, 2]])
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    basis = PCABasis.fit(vectors, 2, seen_rows=np.ones(3, bool))
    f = boundary_features(counts, occ, neighbours, vectors, basis, np.ones(3, bool))
    nl, nr = len(LEFT_CONTEXTS), len(RIGHT_CONTEXTS)
    assert f.shape == (counts.nnz, nl + nr + 1 + 4)
    # entries in canonical order: (0,0), (1,2), (2,0), (2,1)
    assert f[0, [0, 5]].tolist() == [0.5, 0.5] and f[0, nl + 1] == 1.0 and f[0, nl + nr] == 0.5
    assert f[1, 1] == 1.0 and f[1, nl] == 1.0 and f[1, nl + nr] == 1.0
    assert f[2, 2] == 1.0 and f[2, nl + 3] == 1.0 and f[2, nl + nr] == 0.0
    base = nl + nr + 1
    assert np.all(f[[1, 2], base:] == 0)  # no content-word neighbours
    # the neighbouring words' reduced vectors, by hand: centred, on the top 2 right singular vectors, unit variance
    centred = vectors - vectors.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    projected = centred @ axes.T
    projected /= projected.std()
    np.testing.assert_allclose(np.abs(f[0, base : base + 2]), np.abs(projected[1] / 2), rtol=1e-5)  # one of two occurrences
    assert np.all(f[0, base + 2 :] == 0)
    np.testing.assert_allclose(np.abs(f[3, base : base + 2]), np.abs(projected[0]), rtol=1e-5)
    np.testing.assert_allclose(np.abs(f[3, base + 2 :]), np.abs(projected[2]), rtol=1e-5)
    np.testing.assert_allclose(f[:, : nl + nr].sum(axis=1), 2.0)


def test_pair_weights_only_lighten_negatives_of_unlabelled_phrases():
    from labkit.diva.pairs import pair_weights

    labelled = np.array([True, False, True, False])
    targets = np.array([1, 0, 0, 1, 0], dtype=np.float32)
    phrases = np.array([0, 1, 2, 3, 3])
    assert pair_weights(targets, phrases, labelled, 0.1).tolist() == pytest.approx([1.0, 0.1, 1.0, 1.0, 0.1])
    assert pair_weights(targets, phrases, labelled, 1.0).tolist() == [1.0] * 5
