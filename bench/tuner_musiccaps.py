"""Threshold tuner update time on MusicCaps: how long a slider move takes, against recomputing
the joint score from scratch the way a DiVa round does.

Run: .venv/bin/python bench/tuner_musiccaps.py [--out bench/results/tuner_musiccaps.md]

On the MusicCaps protocol's training items: DiVa round 0 is trained once, then
- the baseline: ``run.infer()`` + ``run.joint_score()`` (classifier scores, SN's K-means runs, the
  mean confidence, G, thresholds and budgets: what a new setting costs without a cache);
- the tuner: ``JointScoreTuner.view`` for a new classifier threshold, τ, joint threshold, factor
  switch (cached parts), and for a new (K, m) (one SN computation, then cached);
- the widget: ``ThresholdTuner`` reacting to a slider (view + summary + histograms + item table).
Times are medians of repeated moves; the ratio is baseline / tuner.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from _report import median_seconds, write_report  # bench/ is on sys.path when a script here runs

from labkit.data.protocol import read_protocol
from labkit.diva import DiVa, DiVaConfig
from labkit.diva.harvest import gold_matrix
from labkit.diva.tuning import JointScoreTuner, TunerSettings
from labkit.embed import build_candidate_space, get_encoder
from labkit.paths import shared_data_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/tuner_musiccaps.md"))
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared / "musiccaps" / "diva").is_dir():
        print("skipped: ../shared/data/musiccaps/diva is absent", file=sys.stderr)
        return 0
    p = read_protocol(shared / "musiccaps" / "diva")
    encoder = get_encoder("all-MiniLM-L6-v2", device="cpu")
    space = build_candidate_space([*p.train.comments, *p.test.comments], p.vocabulary, encoder, n_fit=len(p.train))
    run = DiVa(space, np.arange(len(p.train)), gold_matrix(space, p.train.label_sets, space.n_items), DiVaConfig(device="cpu"))
    run.train()

    def from_scratch(_):
        run._scores_cache = None
        run.infer()
        run.joint_score()

    baseline = median_seconds(from_scratch, range(3))
    start = time.perf_counter()
    tuner = JointScoreTuner(run)
    tuner.view()
    build = time.perf_counter() - start
    base = TunerSettings.from_run(run)
    rows = []
    moves = {
        "classifier threshold": [dict(classifier_threshold=t) for t in np.linspace(0.6, 0.99, 9)],
        "τ (PV, DA)": [dict(tau=t) for t in np.geomspace(1e-4, 1e-1, 9)],
        "joint-score threshold": [dict(joint_threshold=t) for t in np.geomspace(1e-5, 1e-1, 9)],
        "factor switch": [dict(use=tuple(f for f in base.use if f != off)) for off in ("SI", "SN", "PV", "DA")] * 2,
    }
    for name, changes in moves.items():
        seconds = median_seconds(lambda c: tuner.view(base, **c), changes)
        rows.append((name + " (cached)", seconds))
    cold = median_seconds(lambda km: tuner.view(base, n_clusters=km[0], runs=km[1]), [(10, 5), (20, 5), (30, 5)])
    warm = median_seconds(lambda km: tuner.view(base, n_clusters=km[0], runs=km[1]), [(10, 5), (20, 5), (30, 5)])
    rows += [("new K, m (SN computed)", cold), ("K, m seen before (cached)", warm)]

    from widgets import ThresholdTuner

    widget = ThresholdTuner(tuner, [p.train.ids[r] for r in tuner.rows])

    def move(value):
        widget.classifier_threshold.value = value

    widget_seconds = median_seconds(move, np.linspace(0.6, 0.99, 9))
    rows.append(("widget: slider -> view, histograms, table", widget_seconds))
    lines = [f"# Threshold tuner on MusicCaps ({len(tuner.rows)} training items, {tuner.n_entries:,} (item, candidate) entries, "
             f"{len(space.phrases):,} phrases)", "",
             f"Baseline, recomputing the pseudo-label decision from scratch (run.infer + run.joint_score): **{baseline * 1000:.0f} ms** "
             f"(median of 3). Building the tuner's cache once: {build * 1000:.0f} ms.", "",
             "| move | median ms | faster than the baseline |", "|---|---:|---:|"]
    lines += [f"| {name} | {s * 1000:.1f} | {baseline / s:.0f}x |" for name, s in rows]
    lines += ["", "CPU, 2 cores; timings from one run of `.venv/bin/python bench/tuner_musiccaps.py`."]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
