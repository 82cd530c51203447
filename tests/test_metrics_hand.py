"""Metrics against cases computed by hand from the papers' definitions."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from labkit.metrics import (
    annotation_map,
    auc_pr,
    auc_roc,
    count_score_correlation,
    evaluate_labels,
    format_table,
    imbalance_ratios,
    inverse_propensity,
    mean_ir,
    ndcg_at_k,
    precision_at_k,
    psndcg_at_k,
    psp_at_k,
    recall_at_k,
    retrieval_map,
    set_scores,
    soft_scores,
    top_k_indices,
)

A, B, C, D = 0, 1, 2, 3
# item 0: truth {a, c}, ranked a, b, c; item 1: truth {b}, ranked c, d
TRUTH = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0]]))
RANKED = np.array([[A, B, C], [C, D, -1]])
# training: N = 4 items (one without labels): N_a = 3, N_b = 1, N_c = N_d = 0
TRAIN = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]))


def test_precision_recall_ndcg_by_hand():
    assert precision_at_k(RANKED, TRUTH, 1) == pytest.approx(0.5)
    assert precision_at_k(RANKED, TRUTH, 3) == pytest.approx((2 / 3 + 0) / 2)
    assert precision_at_k(RANKED, TRUTH, 5) == pytest.approx((2 / 5) / 2)  # missing ranks are misses
    assert recall_at_k(RANKED, TRUTH, 1) == pytest.approx((1 / 2) / 2)
    assert recall_at_k(RANKED, TRUTH, 3) == pytest.approx(0.5)
    dcg0 = 1 / math.log2(2) + 1 / math.log2(4)
    idcg0 = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(RANKED, TRUTH, 3) == pytest.approx((dcg0 / idcg0) / 2)
    assert ndcg_at_k(RANKED, TRUTH, 1) == pytest.approx(0.5)


def test_inverse_propensity_by_hand():
    w = inverse_propensity(TRAIN)
    n, a, b = 4, 0.55, 1.5
    c = (math.log(n) - 1) * (b + 1) ** a
    assert w == pytest.approx([1 + c * (3 + b) ** -a, 1 + c * (1 + b) ** -a, 1 + c * b**-a, 1 + c * b**-a])
    assert w[B] == pytest.approx(math.log(4))  # N_l = 1 gives exactly ln N
    assert w[C] == w[D] > w[B] > w[A]  # labels absent from training weigh most


def test_psp_and_psndcg_by_hand():
    w = inverse_propensity(TRAIN)
    wa, wb, wc = w[A], w[B], w[C]
    # P@1: item 0 hits a; the best ranking puts c (rarer) first for item 0 and b for item 1.
    assert psp_at_k(RANKED, TRUTH, w, 1) == pytest.approx((wa / 2) / ((wc + wb) / 2))
    assert psp_at_k(RANKED, TRUTH, w, 3) == pytest.approx((wa + wc) / (wa + wc + wb))
    idcg0 = 1 + 1 / math.log2(3)
    achieved = ((wa + wc / 2) / idcg0 + 0) / 2
    best = ((wc + wa / math.log2(3)) / idcg0 + wb / 1) / 2
    assert psndcg_at_k(RANKED, TRUTH, w, 3) == pytest.approx(achieved / best)


def test_items_without_labels_and_labels_absent_from_training():
    w = inverse_propensity(TRAIN)
    truth = sp.vstack([TRUTH, sp.csr_matrix((1, 4))]).tocsr()  # item 2 has no true label
    ranked = np.vstack([RANKED, [[D, A, -1]]])
    # the empty item scores 0: P@k means shrink by 2/3, ratio-of-means PSP does not move
    assert precision_at_k(ranked, truth, 1) == pytest.approx(precision_at_k(RANKED, TRUTH, 1) * 2 / 3)
    assert ndcg_at_k(ranked, truth, 3) == pytest.approx(ndcg_at_k(RANKED, TRUTH, 3) * 2 / 3)
    assert psp_at_k(ranked, truth, w, 3) == pytest.approx(psp_at_k(RANKED, TRUTH, w, 3))
    assert psndcg_at_k(ranked, truth, w, 3) == pytest.approx(psndcg_at_k(RANKED, TRUTH, w, 3))
    # d was never seen in training; predicting it where it is true earns the top weight
    truth_d = sp.csr_matrix(np.array([[0, 0, 0, 1]]))
    assert psp_at_k(np.array([[D]]), truth_d, w, 1) == pytest.approx(1.0)
    assert psp_at_k(np.array([[A]]), truth_d, w, 1) == 0.0


def test_perfect_ranking_scores_one():
    w = inverse_propensity(TRAIN)
    best = np.array([[C, A], [B, -1]])
    for metric in (psp_at_k, psndcg_at_k):
        assert metric(best, TRUTH, w, 2) == pytest.approx(1.0)
    assert ndcg_at_k(best, TRUTH, 2) == pytest.approx(1.0)


def test_set_scores_by_hand():
    pred = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]))
    truth = sp.csr_matrix(np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 1]]))
    s = set_scores(pred, truth)
    assert s["precision"] == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert s["recall"] == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert s["f1"] == pytest.approx((2 * 1 / 4 + 0 + 1) / 3)
    assert s["coverage"] == pytest.approx((1 / 3 + 0 + 1) / 3)


def test_soft_scores_by_hand():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])  # a, b, c = (a+b)/√2, d unknown
    pred = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]]))
    gold = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]))
    s = soft_scores(pred, gold, emb)
    r = 1 / math.sqrt(2)
    sp0, sr0 = (0 + r) / 2, r
    sf0 = 2 * sp0 * sr0 / (sp0 + sr0)
    assert s["soft_precision"] == pytest.approx(sp0 / 3)
    assert s["soft_recall"] == pytest.approx(sr0 / 3)
    assert s["soft_f1"] == pytest.approx(sf0 / 3)
    with pytest.raises(ValueError, match="NaN"):
        soft_scores(pred, gold, np.array([[np.nan, 0], [0, 1], [1, 1], [0, 0]]))


def test_soft_equals_hard_for_one_hot_embeddings():
    rng = np.random.default_rng(0)
    pred = sp.csr_matrix(rng.random((30, 8)) < 0.3)
    gold = sp.csr_matrix(rng.random((30, 8)) < 0.3)
    s = soft_scores(pred, gold, np.eye(8))
    hard = set_scores(pred, gold)
    both = (np.diff(pred.indptr) > 0) & (np.diff(gold.indptr) > 0)
    inter = np.asarray(pred.multiply(gold).sum(axis=1)).ravel()
    p = np.where(both, inter / np.maximum(np.diff(pred.indptr), 1), 0)
    assert s["soft_precision"] == pytest.approx(p.mean()) and hard["precision"] == pytest.approx(p.mean())


def test_curves_by_hand():
    scores = np.array([[0.9, 0.2], [0.8, 0.5], [0.1, 0.3]])
    truth = np.array([[1, 0], [0, 1], [1, 0]])
    # label 0: positives at 0.9, 0.1, negative 0.8 -> AUC = 1/2; AP = (1/1 + 2/3)/2
    # label 1: positive 0.5 above negatives 0.2, 0.3 -> AUC = 1, AP = 1
    assert auc_roc(scores, truth) == pytest.approx((0.5 + 1) / 2)
    assert auc_pr(scores, truth) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert retrieval_map(scores, truth) == pytest.approx(auc_pr(scores, truth))
    # items: 0 ranks labels (0.9, 0.2) with truth (1, 0) -> 1; item 1 (0.8, 0.5) truth (0, 1) -> 1/2; item 2 -> 1/2
    assert annotation_map(scores, truth) == pytest.approx((1 + 0.5 + 0.5) / 3)


def test_ties_share_the_precision_of_their_group():
    # scores tie for the two top items, one positive among them: AP = 1/2 (not 1 or 1/2 by order)
    assert auc_pr(np.array([[1.0], [1.0], [0.0]]), np.array([[0], [1], [0]])) == pytest.approx(0.5)
    assert auc_roc(np.array([[1.0], [1.0], [0.0]]), np.array([[0], [1], [0]])) == pytest.approx(0.75)


def test_macro_skips_labels_without_both_classes():
    scores = np.array([[0.9, 0.5], [0.1, 0.4]])
    truth = np.array([[1, 1], [0, 1]])  # label 1 has no negative
    assert auc_roc(scores, truth) == pytest.approx(1.0)


def test_imbalance_by_hand():
    truth = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0]]))
    assert np.allclose(imbalance_ratios(truth)[:2], [1.0, 3.0]) and np.isnan(imbalance_ratios(truth)[2])
    assert mean_ir(truth) == pytest.approx(2.0)
    corr = count_score_correlation([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.5])
    assert corr["spearman"] == pytest.approx(1.0) and corr["n_labels"] == 4


def test_top_k_indices_dense_and_sparse():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [0.3, 0.3, 0.8, 0.0]])
    assert top_k_indices(scores, 2).tolist() == [[1, 3], [2, 0]]
    assert top_k_indices(scores, 6).tolist() == [[1, 3, 2, 0, -1, -1], [2, 0, 1, 3, -1, -1]]
    sparse = sp.csr_matrix(np.array([[0, 2.0, 0, 5.0], [0, 0, 0, 0], [1.0, 1.0, 0, 0]]))
    assert top_k_indices(sparse, 3).tolist() == [[3, 1, -1], [-1, -1, -1], [0, 1, -1]]


def test_evaluate_labels_from_strings():
    r = evaluate_labels([["sad", "rock"], []], [["sad"], ["pop"]], ks=(1,), train_lists=[["sad"], ["pop"], []])
    assert r["precision"] == pytest.approx(0.25) and r["P@1"] == pytest.approx(0.5)
    assert r["coverage"] == pytest.approx(0.25) and 0 < r["PSP@1"] < 1
    r = evaluate_labels([["happy"]], [["joyful"]], label_embedder={"happy": np.array([1.0, 0.2]), "joyful": np.array([1.0, 0.0])})
    assert r["precision"] == 0 and r["soft_precision"] == pytest.approx(1 / math.sqrt(1.04))
    table = format_table({"m": {"P": 0.5, "n": 3}})
    assert "| m | 0.5000 | 3 |" in table


def test_shape_errors():
    with pytest.raises(ValueError, match="ranked must be"):
        precision_at_k(np.array([[0]]), TRUTH, 1)
    with pytest.raises(ValueError, match="inv_prop"):
        psp_at_k(RANKED, TRUTH, np.ones(3), 1)
    with pytest.raises(ValueError, match="differ in shape"):
        set_scores(TRUTH, TRAIN)
