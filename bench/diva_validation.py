"""How DiVa's settings were chosen: a validation part of MusicCaps' *training* clips, scored on
complete label sets. The test part (test1/test2) is never read here.

Run: .venv/bin/python bench/diva_validation.py [--seeds 0,1,2] [--out bench/results/diva_validation.md]

The training clips are split 80/20 (split seed 0). Methods train on the gold labels of the 80%
and label the 20%, whose complete label sets are rebuilt from ``musiccaps.csv`` by the protocol's
own rule (``labkit.data.complete_label_set``; it reproduces test2 for 99.6% of the test clips).
Each row is one setting; coverage (mean Jaccard) at three prediction thresholds, mean +- sd over
the seeds, then labels per item and the precision of the predicted in-vocabulary and
out-of-vocabulary labels at the default threshold. The last two rows are a diagnostic, not a
method: EQ. 2 given 3,000 extra labels outside the vocabulary taken from the training clips'
complete sets (what perfect, or half-right, pseudo-labels would bring).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.data import complete_label_set, read_musiccaps
from labkit.data.protocol import read_protocol
from labkit.diva import DiVaConfig
from labkit.diva.harvest import gold_matrix, method_scores, to_predictions
from labkit.embed import build_candidate_space, get_encoder
from labkit.metrics import format_table
from labkit.paths import shared_data_dir

THRESHOLDS = (0.4, 0.5, 0.6)
# name -> (method, changes to the default DiVaConfig)
SETTINGS = {
    "eq2": ("eq2", {}),
    "eq2, no boundary features": ("eq2", {"boundary_features": False}),
    "eq2, unlabelled negatives weigh 1": ("eq2", {"unlabeled_weight": 1.0}),
    "eq2, neither (the kit before)": ("eq2", {"boundary_features": False, "unlabeled_weight": 1.0}),
    "nst-eq2": ("nst-eq2", {}),
    "diva (default: 1 round)": ("diva", {}),
    "diva, 2 rounds": ("diva", {"rounds": 2}),
    "diva, no joint-score labels": ("diva", {"joint_budget": 0.0}),
    "diva, joint <= 3 per item, G >= 0.0025": ("diva", {"max_joint_per_item": 3, "joint_threshold": 0.0025}),
    "diva, 10% held out, best round by tail PSP": ("diva", {"validation_fraction": 0.1, "rounds": 2}),
    # What pseudo-labels outside the vocabulary could do: EQ. 2 trained on gold labels plus 3,000
    # (clip, phrase) labels of the training clips drawn from their complete sets (an oracle), all
    # correct or half of them wrong (drawn from the other occurring out-of-vocabulary phrases).
    "eq2 + 3000 oracle labels, all correct": ("eq2", {"extra": {"oracle": 1.0}}),
    "eq2 + 3000 oracle labels, half correct": ("eq2", {"extra": {"oracle": 0.5}}),
}
N_ORACLE = 3000


def oracle_labels(space, fit_complete: list[list[str]], share_right: float, seed: int) -> sp.csr_matrix:
    """(n_items, n_phrases) N_ORACLE out-of-vocabulary (clip, phrase) pairs of the training clips,
    ``share_right`` of them from the clips' complete label sets, the rest other occurring phrases."""
    occurring = (space.counts[: len(fit_complete)] > 0).tocoo()
    outside = occurring.col >= space.n_gold
    rows, cols = occurring.row[outside], occurring.col[outside]
    right = np.array([space.phrases[int(c)] in fit_complete[int(r)] for r, c in zip(rows, cols)])
    rng = np.random.default_rng(seed)
    n_right = int(N_ORACLE * share_right)
    pick = np.concatenate([rng.choice(np.flatnonzero(right), n_right, replace=False),
                           rng.choice(np.flatnonzero(~right), N_ORACLE - n_right, replace=False)])
    return sp.csr_matrix((np.ones(len(pick)), (rows[pick], cols[pick])), shape=space.counts.shape)


def coverage_parts(predicted: list[list[str]], complete: list[list[str]], vocabulary: set[str]) -> dict[str, float]:
    """Coverage (mean Jaccard), labels per item, precision of in- and out-of-vocabulary labels."""
    jaccard, hits, counts = [], np.zeros(2), np.zeros(2)
    for p, c in zip(predicted, complete):
        p, c = set(p), set(c)
        jaccard.append(len(p & c) / len(p | c) if p | c else 1.0)
        for label in p:
            k = 0 if label in vocabulary else 1
            counts[k] += 1
            hits[k] += label in c
    return {"coverage": float(np.mean(jaccard)), "labels/item": counts.sum() / len(predicted),
            "P in-vocab": hits[0] / max(counts[0], 1), "P out-of-vocab": hits[1] / max(counts[1], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--settings", default=None, help="names to run (default: all), separated by ';'")
    parser.add_argument("--out", type=Path, default=Path("bench/results/diva_validation.md"))
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared / "musiccaps" / "diva").is_dir() or not (shared / "musiccaps" / "musiccaps.csv").is_file():
        print("skipped: ../shared/data/musiccaps (diva/ and musiccaps.csv) is absent", file=sys.stderr)
        return 0
    protocol = read_protocol(shared / "musiccaps" / "diva")
    clips = read_musiccaps(shared / "musiccaps" / "musiccaps.csv")
    items = list(protocol.train)
    order = np.random.default_rng(0).permutation(len(items))
    n_val = len(items) // 5
    fit, val = [items[i] for i in np.sort(order[n_val:])], [items[i] for i in np.sort(order[:n_val])]
    complete = [complete_label_set(clips[item.id].labels, item.comments) for item in val]
    vocabulary = set(protocol.vocabulary)
    space = build_candidate_space([*(i.comments for i in fit), *(i.comments for i in val)], protocol.vocabulary,
                                  get_encoder("all-MiniLM-L6-v2", progress=False), n_fit=len(fit))
    gold = gold_matrix(space, [i.labels for i in fit], space.n_items)
    fit_complete = [complete_label_set(clips[item.id].labels, item.comments) for item in fit]
    train_rows, rows = np.arange(len(fit)), np.arange(len(fit), len(fit) + len(val))
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.settings.split(";") if args.settings else list(SETTINGS)

    table = {}
    for name in names:
        method, changes = SETTINGS[name]
        by_threshold = {t: [] for t in THRESHOLDS}
        parts, seconds = [], []
        for seed in seeds:
            config = dataclasses.replace(DiVaConfig(progress=False, seed=seed), **changes)
            labels = gold
            if "oracle" in config.extra:
                labels = ((gold + oracle_labels(space, fit_complete, config.extra["oracle"], seed)) > 0).astype(np.float64).tocsr()
            start = time.perf_counter()
            scores, _, _ = method_scores(method, space, labels, train_rows, rows, config)
            seconds.append(time.perf_counter() - start)
            for t in THRESHOLDS:
                predictions = to_predictions([i.id for i in val], sp.csr_matrix(scores)[rows], space, threshold=t, nested=config.suppress_nested)
                result = coverage_parts([list(p.labels) for p in predictions], complete, vocabulary)
                by_threshold[t].append(result["coverage"])
                if t == config.predict_threshold:
                    parts.append(result)
        row = {f"coverage @{t}": f"{np.mean(v):.3f} ± {np.std(v):.3f}" for t, v in by_threshold.items()}
        row.update({k: round(float(np.mean([p[k] for p in parts])), 3) for k in parts[0] if k != "coverage"})
        row["s/run"] = round(float(np.mean(seconds)), 1)
        table[name] = row
        print(f"{name}: {row}", file=sys.stderr, flush=True)
    lines = [
        "# DiVa settings on a validation part of MusicCaps' training clips",
        "",
        f"{len(fit)} clips to train on (gold labels), {len(val)} to label (complete sets rebuilt from musiccaps.csv); "
        f"seeds {args.seeds}; encoder all-MiniLM-L6-v2; default prediction threshold {DiVaConfig().predict_threshold}.",
        "",
        format_table(table, digits=3),
    ]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
