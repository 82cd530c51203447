"""A harvester trained on the MusicCaps training clips, saved, and loaded in a fresh process: does
it label the test clips exactly as the run that trained it? (issue 17)

Run: .venv/bin/python bench/harvester_musiccaps.py [--save DIR] [--seed 0] [--out bench/results/harvester_musiccaps.md]

1. ``harvest`` trains DiVa on the training clips (the candidate space fitted on them alone) and
   predicts the test clips in process; the run becomes a harvester saved to DIR (default: a
   temporary folder).
2. A fresh Python process loads DIR with ``Harvester.from_pretrained`` and scores the test clips'
   comments (batches of 256); a second runs ``labkit label``.
3. Printed: the largest difference between the in-process and the fresh-process probability of
   every candidate pair, whether the labels are the same, test2 coverage, and the folder's files
   and sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.paths import shared_data_dir


def scores_by_item(space, scores) -> dict[str, float]:
    """{"row\\x1fphrase": probability} of every candidate pair of a score matrix."""
    coo = scores.tocoo()
    return {f"{r}\x1f{space.phrases[int(c)]}": float(v) for r, c, v in zip(coo.row, coo.col, coo.data)}


def child(model: str, input_path: str, out: str) -> None:
    """In a fresh process: load the harvester and score the items of ``input_path``."""
    from labkit.data.jsonl import stream_jsonl_items
    from labkit.diva.harvester import Harvester

    harvester = Harvester.from_pretrained(model)
    items = list(stream_jsonl_items(input_path))
    found = {}
    for start in range(0, len(items), 256):
        space, scores = harvester.score([item.comments for item in items[start : start + 256]])
        for key, value in scores_by_item(space, scores).items():
            row, phrase = key.split("\x1f")
            found[f"{int(row) + start}\x1f{phrase}"] = value
    Path(out).write_text(json.dumps(found, ensure_ascii=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, default=None, help="harvester folder to write (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/harvester_musiccaps.md"))
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "INPUT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    shared = shared_data_dir()
    folder = None if shared is None else shared / "musiccaps" / "diva"
    if folder is None or not (folder / "train.jsonl").is_file():
        print("skipped: ../shared/data/musiccaps/diva is absent", file=sys.stderr)
        return 0
    from labkit.data.protocol import read_protocol
    from labkit.diva import DiVaConfig, harvest
    from labkit.metrics import evaluate_labels

    protocol = read_protocol(folder)
    train, test, complete = protocol.train, protocol.test, protocol.complete
    work = Path(tempfile.mkdtemp(prefix="harvester-bench-"))
    save = args.save or work / "harvester"
    start = time.perf_counter()
    result = harvest(train, test, method="diva", gold_vocabulary=protocol.vocabulary, config=DiVaConfig(seed=args.seed, progress=False))
    train_seconds = time.perf_counter() - start
    harvester = result.harvester()
    harvester.save_pretrained(save, option="--save")
    rows = np.arange(len(train), len(train) + len(test))
    in_run = result.run.predict(rows)[rows]
    run_space = result.run.pairs.space
    expected = scores_by_item(run_space, in_run)

    test_path = folder / "test_comments.jsonl"
    fresh = work / "fresh.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", str(save), str(test_path), str(fresh)], check=True)
    fresh_seconds = time.perf_counter() - start
    got = json.loads(fresh.read_text())
    same_pairs = expected.keys() == got.keys()
    difference = max(abs(expected[k] - got[k]) for k in expected.keys() & got.keys())

    labelled = work / "pred.jsonl"
    subprocess.run([sys.executable, "-m", "labkit", "label", "--model", str(save), "--input", str(test_path), "--out", str(labelled)],
                   check=True, stderr=subprocess.DEVNULL)
    from labkit.data.jsonl import read_predictions

    fresh_preds = read_predictions(labelled)
    same_labels = [p.labels for p in fresh_preds] == [p.labels for p in result.predictions]
    coverage = evaluate_labels([list(p.labels) for p in result.predictions], complete)["coverage"]
    fresh_coverage = evaluate_labels([list(p.labels) for p in fresh_preds], complete)["coverage"]
    files = sorted((p.relative_to(save).as_posix(), p.stat().st_size) for p in save.rglob("*") if p.is_file())
    total = sum(size for _, size in files)
    lines = [
        f"# A saved MusicCaps harvester in a fresh process ({len(train)} training clips, {len(test)} test clips, seed {args.seed})",
        "",
        f"- training (encode, DiVa, predict in process): {train_seconds:.0f} s; fresh process (load + score): {fresh_seconds:.0f} s",
        f"- candidate pairs scored: {len(expected)} in process, {len(got)} fresh; the same pairs: {same_pairs}",
        f"- largest difference of a candidate's probability, in process vs fresh process: {difference:.2g}",
        f"- `labkit label` in a fresh process gives the same ranked labels as the run: {same_labels}",
        f"- test2 coverage: in process {coverage:.3f}, `labkit label` {fresh_coverage:.3f}",
        f"- harvester folder: {total / 1e6:.1f} MB, {len(files)} files",
        "",
        "| file | bytes |", "|---|---:|", *(f"| {name} | {size} |" for name, size in files),
    ]
    write_report(lines, args.out)
    print(f"harvester kept in {save}" if args.save else "", file=sys.stderr)
    return 0 if same_pairs and difference <= 1e-6 and same_labels else 1


if __name__ == "__main__":
    sys.exit(main())
