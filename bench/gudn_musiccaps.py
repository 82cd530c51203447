"""GUDN, its Table 6 ablation and the MLC baseline on MusicCaps: captions -> aspects.

Run: .venv/bin/python bench/gudn_musiccaps.py [--epochs 3] [--pooling cls|mean] [--validation]
     [--variants "MLC (same encoder);GUDN (both guides)"] [--out bench/results/gudn_musiccaps.md]

``--validation`` holds out a fifth of the training part (seeded) and evaluates there, never on
the test part: settings (pooling, epochs) are chosen that way, then the test table is run once.

The split is the label-harvesting protocol's (../shared/data/musiccaps/diva: its training and test
clip ids); a clip's text is its caption, its labels its aspects (lower-cased) among those seen at
least 10 times in the training part. Test clips with none of those aspects are left out. Every
method fine-tunes the offline MiniLM with the same settings and seed; the table gives P@1/3/5,
nDCG@3/5, PSP@1/3/5 (propensities from the training part) and seconds per training epoch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.data.musiccaps import read_musiccaps_table
from labkit.data.protocol import read_protocol
from labkit.gudn.training import XMCConfig, train_xmc
from labkit.metrics import evaluate_labels
from labkit.paths import shared_data_dir

VARIANTS = {
    "MLC (same encoder)": dict(method="mlc"),
    "GUDN (both guides)": dict(method="gudn"),
    "GUDN without guides": dict(method="gudn", feature_guide=False, link_guide=False),
    "GUDN with the feature guide only": dict(method="gudn", link_guide=False),
    "GUDN with the link guide only": dict(method="gudn", feature_guide=False),
    "GUDN (both guides, gradient through E_l)": dict(method="gudn", stop_label_gradient=False),
}
COLUMNS = ["P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--min-count", type=int, default=10)
    parser.add_argument("--pooling", choices=["cls", "mean"], default="mean")
    parser.add_argument("--validation", action="store_true", help="evaluate on a held-out fifth of the training part")
    parser.add_argument("--variants", default=";".join(list(VARIANTS)[:5]), help="methods, separated by ';'")
    parser.add_argument("--out", type=Path, default=Path("bench/results/gudn_musiccaps.md"))
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared / "musiccaps" / "diva").is_dir():
        print("skipped: ../shared/data/musiccaps is absent", file=sys.stderr)
        return 0
    table = read_musiccaps_table(shared / "musiccaps" / "musiccaps.csv").set_index("ytid")
    protocol = read_protocol(shared / "musiccaps" / "diva")
    aspects = {ytid: sorted({a.lower() for a in row}) for ytid, row in table["aspect_list"].items()}
    counts = Counter(a for ytid in protocol.train.ids for a in aspects[ytid])
    kept = {a for a, n in counts.items() if n >= args.min_count}

    def part(ids):
        rows = [(table.loc[i, "caption"], [a for a in aspects[i] if a in kept]) for i in ids]
        return [t for t, ls in rows if ls], [ls for _, ls in rows if ls]

    train_ids, test_ids = list(protocol.train.ids), list(protocol.test.ids)
    if args.validation:
        shuffled = [train_ids[i] for i in np.random.default_rng(0).permutation(len(train_ids))]
        cut = len(shuffled) // 5
        train_ids, test_ids = shuffled[cut:], shuffled[:cut]
    train_texts, train_labels = part(train_ids)
    test_texts, test_labels = part(test_ids)
    names = [n.strip() for n in args.variants.split(";") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}: choose from {list(VARIANTS)}")
    rows = {}
    for name in names:
        config = XMCConfig(epochs=args.epochs, max_length=args.max_length, pooling=args.pooling, **VARIANTS[name])
        model = train_xmc(train_texts, train_labels, config)
        ranked = [labels for labels, _ in model.predict(test_texts, top_k=10)]
        scores = evaluate_labels([r[:5] for r in ranked], test_labels, ks=(1, 3, 5), train_lists=train_labels)
        rows[name] = {c: scores[c] for c in COLUMNS} | {"s/epoch": sum(model.epoch_seconds) / len(model.epoch_seconds)}
        print(f"{name}: " + " ".join(f"{c} {scores[c]:.3f}" for c in COLUMNS), file=sys.stderr, flush=True)
        write_report(report(rows, args, len(train_texts), len(test_texts), len(kept)), args.out)  # after every method
    return 0


def report(rows: dict, args, n_train: int, n_test: int, n_labels: int) -> list[str]:
    header = "| method | " + " | ".join(COLUMNS) + " | s/epoch |"
    evaluated = "validation (a fifth of the training part)" if args.validation else "test"
    lines = [f"# GUDN on MusicCaps captions -> aspects ({n_train} training and {n_test} {evaluated} clips, "
             f"{n_labels} aspects seen >= {args.min_count} times)", "",
             f"Encoder all-MiniLM-L6-v2 fine-tuned, {args.pooling} pooling, {args.epochs} epochs, max length {args.max_length}, "
             "batch 16, seed 0, CPU.", "",
             header, "|---|" + "---:|" * (len(COLUMNS) + 1)]
    lines += [f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in COLUMNS) + f" | {r['s/epoch']:.0f} |" for name, r in rows.items()]
    return lines


if __name__ == "__main__":
    sys.exit(main())
