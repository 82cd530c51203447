"""Labelling throughput of a saved harvester: items per second and peak memory at 1x and 10x the
MusicCaps test comments (issue 17: 10x the items in at most 11x the time, memory flat).

Run: .venv/bin/python bench/label_throughput.py [--model DIR] [--repeats 2] [--batch-size 256]
     [--out bench/results/label_throughput.md]

Without ``--model`` it first trains a harvester on the MusicCaps training clips (DiVa, seed 0).
Each measurement is a fresh process that loads the harvester, then streams the input file through
``Harvester.label`` into a prediction file a batch at a time (as ``labkit label`` does); it reports
the labelling seconds (loading apart) and its peak resident memory. The 10x file repeats the test
clips ten times under new ids, so every batch does the same work as at 1x. Run it alone: two torch
jobs on two cores thrash.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.paths import shared_data_dir


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(model: str, input_path: str, out: str, batch_size: int) -> None:
    """In a fresh process: load, then label ``input_path`` into ``out``; print one JSON line."""
    from labkit.data.jsonl import prediction_line, stream_jsonl_items
    from labkit.diva.harvester import Harvester
    from labkit.outputs import streamed_output_file

    start = time.perf_counter()
    harvester = Harvester.from_pretrained(model)
    loaded, after_load = time.perf_counter() - start, peak_mb()
    start = time.perf_counter()
    n = 0
    with streamed_output_file(out, kind="predictions") as handle:
        for prediction in harvester.label(stream_jsonl_items(input_path), batch_size=batch_size):
            handle.write(prediction_line(prediction) + "\n")
            n += 1
    print(json.dumps({"items": n, "load_s": loaded, "label_s": time.perf_counter() - start, "peak_mb": peak_mb(),
                      "after_load_mb": after_load}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a saved harvester (default: train one on MusicCaps)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("bench/results/label_throughput.md"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child[:3], int(args.child[3]))
        return 0
    shared = shared_data_dir()
    folder = None if shared is None else shared / "musiccaps" / "diva"
    if folder is None or not (folder / "test_comments.jsonl").is_file():
        print("skipped: ../shared/data/musiccaps/diva is absent", file=sys.stderr)
        return 0
    work = Path(tempfile.mkdtemp(prefix="label-throughput-"))
    model = args.model
    if model is None:
        from labkit.data.protocol import read_protocol
        from labkit.diva import DiVaConfig, harvest

        protocol = read_protocol(folder)
        result = harvest(protocol.train, protocol.test, method="diva", gold_vocabulary=protocol.vocabulary,
                         config=DiVaConfig(seed=0, progress=False))
        model = result.harvester().save_pretrained(work / "harvester", option="--model")
    lines_1x = [line for line in (folder / "test_comments.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    inputs = {"1x": folder / "test_comments.jsonl", "10x": work / "test_comments_10x.jsonl"}
    with open(inputs["10x"], "w", encoding="utf-8") as handle:
        for copy in range(10):
            for line in lines_1x:
                record = json.loads(line)
                record["id"] = f"{record['id']}#{copy}"
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    runs: dict[str, list[dict]] = {"1x": [], "10x": []}
    for repeat in range(args.repeats):
        for size, path in inputs.items():
            done = subprocess.run([sys.executable, __file__, "--child", str(model), str(path), str(work / f"pred-{size}.jsonl"),
                                   str(args.batch_size)], check=True, capture_output=True, text=True)
            runs[size].append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = runs[size][-1]
            print(f"{size} run {repeat + 1}: {r['items']} items in {r['label_s']:.1f} s ({r['items'] / r['label_s']:.1f} items/s), "
                  f"peak {r['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
    best = {size: min(rs, key=lambda r: r["label_s"]) for size, rs in runs.items()}
    ratio = best["10x"]["label_s"] / best["1x"]["label_s"]
    lines = [
        f"# Labelling throughput of a saved MusicCaps harvester (batch {args.batch_size}, best of {args.repeats})",
        "",
        "| input | items | labelling s | items/s | load s | peak MB | MB after load |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(f"| {size} | {r['items']} | {r['label_s']:.1f} | {r['items'] / r['label_s']:.1f} | {r['load_s']:.1f} | {r['peak_mb']:.0f} | "
          f"{r['after_load_mb']:.0f} |" for size, r in best.items()),
        "",
        f"- 10x the items took {ratio:.2f}x the time (target: at most 11x)",
        f"- peak memory at 10x / at 1x: {best['10x']['peak_mb'] / best['1x']['peak_mb']:.2f}",
        "- every run: " + "; ".join(size + " " + ", ".join(f"{r['label_s']:.1f} s" for r in rs) for size, rs in runs.items()),
    ]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
