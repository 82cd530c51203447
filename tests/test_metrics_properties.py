"""Metrics against scikit-learn and brute-force loops on random inputs (hypothesis)."""

import math

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import average_precision_score, jaccard_score, precision_recall_fscore_support, roc_auc_score

from labkit.metrics import (
    auc_pr,
    auc_roc,
    average_precision_columns,
    inverse_propensity,
    ndcg_at_k,
    precision_at_k,
    psp_at_k,
    roc_auc_columns,
    set_scores,
    top_k_indices,
)

binary = lambda n, m: arrays(np.int8, (n, m), elements=st.integers(0, 1))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_set_scores_match_sklearn_samples_average(data):
    n, m = data.draw(st.integers(1, 8)), data.draw(st.integers(2, 6))  # sklearn: multilabel needs 2+ columns
    pred, truth = data.draw(binary(n, m)), data.draw(binary(n, m))
    ours = set_scores(sp.csr_matrix(pred), sp.csr_matrix(truth))
    p, r, f, _ = precision_recall_fscore_support(truth, pred, average="samples", zero_division=0)
    j = jaccard_score(truth, pred, average="samples", zero_division=0)
    assert np.allclose([ours["precision"], ours["recall"], ours["f1"], ours["coverage"]], [p, r, f, j])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ranking_metrics_match_brute_force_loops(data):
    n, m, k = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 7)), data.draw(st.integers(1, 5))
    truth = data.draw(binary(n, m))
    scores = data.draw(arrays(np.float64, (n, m), elements=st.floats(0, 1)))
    train = data.draw(binary(data.draw(st.integers(3, 9)), m))
    ranked = top_k_indices(scores, k)
    w = inverse_propensity(sp.csr_matrix(train))
    p = dcg_ratio = 0.0
    ps_num = ps_den = 0.0
    for i in range(n):
        top = [j for j in ranked[i] if j >= 0]
        hits = [truth[i, j] for j in top]
        p += sum(hits) / k
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        ideal = sum(1 / math.log2(r + 2) for r in range(min(k, truth[i].sum())))
        dcg_ratio += dcg / ideal if ideal else 0.0
        ps_num += sum(truth[i, j] * w[j] for j in top) / k
        ps_den += sum(sorted((w[j] for j in range(m) if truth[i, j]), reverse=True)[:k]) / k
    assert math.isclose(precision_at_k(ranked, truth, k), p / n, abs_tol=1e-12)
    assert math.isclose(ndcg_at_k(ranked, truth, k), dcg_ratio / n, abs_tol=1e-12)
    expected_psp = ps_num / ps_den if ps_den else 0.0
    assert math.isclose(psp_at_k(ranked, truth, w, k), expected_psp, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_auc_and_ap_match_sklearn_with_ties(data):
    n, m = data.draw(st.integers(2, 12)), data.draw(st.integers(1, 5))
    truth = data.draw(binary(n, m))
    scores = data.draw(arrays(np.float64, (n, m), elements=st.integers(0, 3).map(float)))  # many ties
    roc, ap = roc_auc_columns(scores, truth.astype(float)), average_precision_columns(scores, truth.astype(float))
    for j in range(m):
        pos = truth[:, j].sum()
        if 0 < pos < n:
            assert math.isclose(roc[j], roc_auc_score(truth[:, j], scores[:, j]), abs_tol=1e-12)
        if pos > 0:
            assert math.isclose(ap[j], average_precision_score(truth[:, j], scores[:, j]), abs_tol=1e-12)
        else:
            assert np.isnan(ap[j])
    if truth.sum() and truth.sum() < truth.size:
        assert math.isclose(auc_roc(scores, truth, "micro"), roc_auc_score(truth.ravel(), scores.ravel()), abs_tol=1e-12)
        assert math.isclose(auc_pr(scores, truth, "micro"), average_precision_score(truth.ravel(), scores.ravel()), abs_tol=1e-12)
        valid = [j for j in range(m) if 0 < truth[:, j].sum() < n]
        if valid:
            expected = np.mean([roc_auc_score(truth[:, j], scores[:, j]) for j in valid])
            assert math.isclose(auc_roc(scores, truth, "macro"), expected, abs_tol=1e-12)


def test_coverage_of_gold_labels_on_musiccaps_protocol(musiccaps_protocol):
    """The experts' labels cover 27.1% of the complete label sets (shared/data README)."""
    from labkit.data import read_jsonl_corpus
    from labkit.metrics import evaluate_labels

    test1 = read_jsonl_corpus(musiccaps_protocol / "test1.jsonl")
    test2 = read_jsonl_corpus(musiccaps_protocol / "test2.jsonl")
    r = evaluate_labels(test1.label_sets, [test2[i].labels for i in test1.ids])
    assert round(r["coverage"], 4) == 0.2710


def test_evaluate_labels_by_hand():
    """Three items worked out on paper: a hit ranked second, a half-found set, an empty prediction."""
    from labkit.metrics import coverage, evaluate_labels

    pred = [["b", "a"], ["c"], []]
    truth = [["a"], ["c", "d"], ["e"]]
    r = evaluate_labels(pred, truth, ks=(1, 2))
    # per item: precision 1/2, 1, 0 (nothing predicted); recall 1, 1/2, 0; Jaccard 1/2, 1/2, 0
    expected = {"precision": 0.5, "recall": 0.5, "f1": (2 / 3 + 2 / 3 + 0) / 3, "coverage": 1 / 3,
                "P@1": (0 + 1 + 0) / 3, "P@2": (1 / 2 + 1 / 2 + 0) / 3, "R@1": (0 + 1 / 2 + 0) / 3, "R@2": (1 + 1 / 2 + 0) / 3,
                "nDCG@1": (0 + 1 + 0) / 3, "nDCG@2": (1 / math.log2(3) + 1 / (1 + 1 / math.log2(3)) + 0) / 3}
    assert set(r) == set(expected)
    for key, value in expected.items():
        assert math.isclose(r[key], value, abs_tol=1e-12), key
    # coverage is the mean Jaccard: identical sets 1, disjoint sets 0, {a, b} vs {b, c} 1/3
    p = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0]]))
    t = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]]))
    assert math.isclose(coverage(p, t), (1 + 0 + 1 / 3) / 3, abs_tol=1e-12)
