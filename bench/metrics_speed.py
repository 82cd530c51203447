"""How much faster the vectorised metrics are than plain Python loops over items, on one input.

Run: .venv/bin/python bench/metrics_speed.py [--items 20000] [--labels 5000] [--k 5]
Prints a Markdown table of seconds and the speed-up ratio per metric; both sides agree to 1e-9.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.sparse as sp

from labkit.metrics import inverse_propensity, ndcg_at_k, psp_at_k, soft_scores, top_k_indices


def loop_ndcg(ranked, truth_sets, k):
    total = 0.0
    for row, true in zip(ranked, truth_sets):
        dcg = sum(1 / math.log2(r + 2) for r, j in enumerate(row[:k]) if j in true)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(true))))
        total += dcg / ideal if ideal else 0.0
    return total / len(truth_sets)


def loop_psp(ranked, truth_sets, w, k):
    num = den = 0.0
    for row, true in zip(ranked, truth_sets):
        num += sum(w[j] for j in row[:k] if j in true) / k
        den += sum(sorted((w[j] for j in true), reverse=True)[:k]) / k
    return num / den


def loop_soft(pred_sets, truth_sets, unit):
    sp_total = 0.0
    for pred, true in zip(pred_sets, truth_sets):
        if pred and true:
            sp_total += sum(max(float(unit[p] @ unit[t]) for t in true) for p in pred) / len(pred)
    return sp_total / len(pred_sets)


def timed(fn, *args, repeat=3):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn(*args)
        best = min(best, time.perf_counter() - start)
    return value, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--labels", type=int, default=5000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    popularity = 1.0 / np.arange(1, args.labels + 1) ** 0.8  # long-tailed label frequencies
    popularity /= popularity.sum()

    def label_matrix(n, per_item):
        rows = np.repeat(np.arange(n), per_item)
        cols = rng.choice(args.labels, size=rows.size, p=popularity)
        m = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, args.labels))
        m.data[:] = 1.0
        return m

    truth = label_matrix(args.items, 6)
    train = label_matrix(args.items, 6)
    scores = sp.csr_matrix(truth.multiply(rng.random(truth.shape)) + label_matrix(args.items, 10).multiply(rng.random(truth.shape)))
    ranked = top_k_indices(scores, args.k)
    pred = label_matrix(args.items, 8)
    unit = rng.normal(size=(args.labels, 64))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    w = inverse_propensity(train)
    truth_sets = [set(truth.indices[truth.indptr[i] : truth.indptr[i + 1]]) for i in range(args.items)]
    pred_sets = [set(pred.indices[pred.indptr[i] : pred.indptr[i + 1]]) for i in range(args.items)]
    ranked_lists = [[j for j in row if j >= 0] for row in ranked]

    cases = {
        f"nDCG@{args.k}": (lambda: ndcg_at_k(ranked, truth, args.k), lambda: loop_ndcg(ranked_lists, truth_sets, args.k)),
        f"PSP@{args.k}": (lambda: psp_at_k(ranked, truth, w, args.k), lambda: loop_psp(ranked_lists, truth_sets, w, args.k)),
        "soft precision": (lambda: soft_scores(pred, truth, unit)["soft_precision"], lambda: loop_soft(pred_sets, truth_sets, unit)),
    }
    print(f"{args.items} items, {args.labels} labels, k = {args.k}\n")
    print("| metric | labkit (s) | Python loop (s) | speed-up |")
    print("|---|---:|---:|---:|")
    for name, (fast, slow) in cases.items():
        fast_value, fast_s = timed(fast)
        slow_value, slow_s = timed(slow, repeat=1)
        assert abs(fast_value - slow_value) < 1e-9, (name, fast_value, slow_value)
        print(f"| {name} | {fast_s:.4f} | {slow_s:.4f} | {slow_s / fast_s:.1f}x |")


if __name__ == "__main__":
    main()
