"""Labelling a catalogue (issue 20): items per second and peak memory of `labkit label` at 10k, 100k
and 1M synthetic items, streamed; the same with Ray Data (a local cluster, 1 and 2 workers);
training time and memory at 10k and 100k labelled items; where labelling's time goes.

Run: .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--train-sizes 10000,100000]
     [--ray-size 100000] [--transformer-sizes 10000,100000] [--work DIR] [--out bench/results/scale.md]

Items come from `labkit synth --items N` (generated and written a chunk at a time; the first m items
of the largest file are the m items of a smaller one, so smaller files are its head). Harvesters are
trained on a 2,000-song synthetic corpus (`labkit synth --songs 2000`): one on word vectors trained
on its comments (diva-static, word2vec), one on the bundled sentence encoder (diva) for the
transformer rows. Each measurement is a fresh process running the `labkit` command in-process; it
reports the labelling seconds after loading, its peak resident memory (ru_maxrss, the driver alone
for Ray) and the seconds of each section (extraction, encoding, features, scoring, ranking, writing;
the rest is reading and parsing the input). Run it alone: two torch jobs on two cores thrash.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

LABKIT = [sys.executable, "-m", "labkit"]
SECTIONS = ("extraction", "encoding", "features", "scoring", "ranking", "writing")


def child(argv: list[str]) -> None:
    """In a fresh process: run one labkit command, print one JSON line (seconds, peak MB, sections)."""
    from labkit import cli
    from labkit.timing import recording

    loaded = {}
    from labkit.diva import harvester as harvester_module

    original = harvester_module.Harvester.from_pretrained.__func__

    def timed_load(cls, *args, **kwargs):  # the load's seconds, kept apart from labelling's
        start = time.perf_counter()
        out = original(cls, *args, **kwargs)
        loaded["s"] = loaded.get("s", 0.0) + time.perf_counter() - start
        return out

    harvester_module.Harvester.from_pretrained = classmethod(timed_load)
    start = time.perf_counter()
    with recording() as seconds:
        code = cli.main(argv)
    total = time.perf_counter() - start
    print(json.dumps({"code": code, "total_s": total, "load_s": loaded.get("s", 0.0), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "sections": seconds}))


def measure(argv: list[str]) -> dict:
    """Run ``labkit ARGV`` in a child process (see :func:`child`) and return what it printed."""
    done = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"labkit {' '.join(argv)} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(argv: list[str]) -> None:
    subprocess.run([*LABKIT, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def head(source: Path, n: int, target: Path) -> Path:
    """The first ``n`` items of a JSONL item file (the synthetic stream's prefix)."""
    if not target.exists():
        with open(source, "rb") as src, open(target, "wb") as out:
            for k, line in enumerate(src):
                if k == n:
                    break
                out.write(line)
    return target


def label_name(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="items labelled with the word-vector harvester")
    parser.add_argument("--train-sizes", default="10000,100000", help="labelled items DiVa (diva-static) trains on")
    parser.add_argument("--ray-size", type=int, default=100_000, help="items labelled with --engine ray (1 and 2 workers)")
    parser.add_argument("--transformer-sizes", default="10000,100000", help="items labelled with the transformer harvester ('' to skip)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--work", type=Path, default=Path("/tmp/labkit-scale"), help="where the item files and harvesters go (reused)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/scale.md"))
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    train_sizes = [int(s) for s in args.train_sizes.split(",") if s]
    transformer_sizes = [int(s) for s in args.transformer_sizes.split(",") if s]
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    largest = max([*sizes, *train_sizes, args.ray_size, *transformer_sizes])
    stream = work / f"items-{largest}.jsonl"
    lines: list[str] = [f"# Labelling a catalogue: synthetic items, streamed (batch {args.batch_size})", ""]

    def publish() -> None:  # the file holds every finished row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")

    start = time.perf_counter()
    if not stream.exists():
        run(["synth", "--items", str(largest), "--out", str(stream)])
        print(f"synth: {largest} items in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    files = {n: head(stream, n, work / f"items-{n}.jsonl") for n in {*sizes, *train_sizes, args.ray_size, *transformer_sizes}}
    corpus = work / "corpus-2000"
    if not (corpus / "train.jsonl").exists():
        run(["synth", "--songs", "2000", "--out", str(corpus)])
    static, transformer = work / "harvester-static", work / "harvester-transformer"
    base = ["--train", str(corpus / "train.jsonl"), "--predict", str(corpus / "test_comments.jsonl")]
    if not (static / "config.json").exists():
        run(["diva", "--method", "diva-static", "--encoder", "word2vec", *base, "--out", str(work / "static-pred.jsonl"), "--save-model", str(static)])
    if transformer_sizes and not (transformer / "config.json").exists():
        run(["diva", *base, "--out", str(work / "transformer-pred.jsonl"), "--save-model", str(transformer)])

    def label(model: Path, n: int, *extra: str) -> dict:
        out = work / f"pred-{model.name}-{n}{'-' + '-'.join(extra).replace('--', '') if extra else ''}.jsonl"
        found = measure(["label", "--model", str(model), "--input", str(files[n]), "--out", str(out), "--batch-size", str(args.batch_size), *extra])
        found["label_s"] = found["total_s"] - found["load_s"]
        found["per_item_ms"] = 1000 * found["label_s"] / n
        found["out"] = out
        return found

    # ---------------------------------------------------------------- word vectors, local
    local = {}
    if sizes:
        lines += ["## Word-vector harvester (diva-static, word2vec trained on the corpus comments), local engine", "",
                  "| items | labelling s | items/s | ms/item | load s | peak MB |", "|---:|---:|---:|---:|---:|---:|"]
        for n in sizes:
            found = local[n] = label(static, n)
            lines.append(f"| {label_name(n)} | {found['label_s']:.1f} | {n / found['label_s']:.0f} | {found['per_item_ms']:.3f} | "
                         f"{found['load_s']:.1f} | {found['peak_mb']:.0f} |")
            publish()
        small, big = min(sizes), max(sizes)
        lines += ["", f"- time per item at {label_name(big)} / at {label_name(small)}: "
                  f"**{local[big]['per_item_ms'] / local[small]['per_item_ms']:.2f}x** (target: at most 1.2x); peak memory at "
                  f"{label_name(big)}: **{local[big]['peak_mb'] / 1024:.2f} GiB** (target: under 4 GiB)", ""]
        parts = local[big]["sections"]
        rest = local[big]["label_s"] - sum(parts.values())
        lines += [f"Where the time goes at {label_name(big)} (seconds, share of labelling):", "",
                  "| " + " | ".join([*SECTIONS, "reading and the rest"]) + " |", "|" + "---:|" * (len(SECTIONS) + 1),
                  "| " + " | ".join(f"{parts.get(s, 0.0):.0f} ({parts.get(s, 0.0) / local[big]['label_s']:.0%})" for s in SECTIONS)
                  + f" | {rest:.0f} ({rest / local[big]['label_s']:.0%}) |", ""]
        publish()

    # ---------------------------------------------------------------- ray
    n = args.ray_size
    lines += [f"## Ray Data, local cluster, {label_name(n)} items (word-vector harvester)", "",
              "| engine | workers | wall s | cluster start s | first batch after s | items/s (wall) | items/s (without the cluster start) "
              "| same bytes as local |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    reference = local.get(n) or label(static, n)
    lines.append(f"| local | 1 process | {reference['total_s']:.1f} | - | - | {n / reference['total_s']:.0f} | "
                 f"{n / reference['total_s']:.0f} | - |")
    rates = {}
    for workers in (1, 2):
        found = label(static, n, "--engine", "ray", "--workers", str(workers))
        same = found["out"].read_bytes() == reference["out"].read_bytes()
        start_s, first_s = found["sections"].get("ray start", 0.0), found["sections"].get("ray first batch", 0.0)
        rates[workers] = n / max(found["total_s"] - start_s, 1e-9)  # the actors' loading counts: every run pays it
        lines.append(f"| ray | {workers} | {found['total_s']:.1f} | {start_s:.1f} | {first_s:.1f} | {n / found['total_s']:.0f} | "
                     f"{rates[workers]:.0f} | {'yes' if same else '**no**'} |")
        publish()
    lines += ["", f"- 2 workers / 1 worker without the cluster start: {rates[2] / rates[1]:.2f}x. On this 2-core machine the second "
              "worker shares the cores with the driver (which writes every line) and the read tasks; on a cluster each worker "
              "brings its own cores.", ""]

    # ---------------------------------------------------------------- transformer
    if transformer_sizes:
        lines += ["## Transformer harvester (diva, the bundled all-MiniLM-L6-v2), local engine, this CPU", "",
                  "| items | labelling s | items/s | ms/item | peak MB | encoding share |", "|---:|---:|---:|---:|---:|---:|"]
        found = None
        for n in transformer_sizes:
            found = label(transformer, n)
            share = found["sections"].get("encoding", 0.0) / found["label_s"]
            lines.append(f"| {label_name(n)} | {found['label_s']:.1f} | {n / found['label_s']:.1f} | {found['per_item_ms']:.2f} | "
                         f"{found['peak_mb']:.0f} | {share:.0%} |")
            publish()
        projected = found["per_item_ms"] * 1_000_000 / 1000
        lines += ["", f"- projected time for 1M items on this CPU: **{projected / 3600:.1f} hours** "
                  f"({found['per_item_ms']:.2f} ms/item at {label_name(transformer_sizes[-1])}); the encoder's forward pass is "
                  "what a GPU takes over (`--device cuda`, or `--engine ray --num-gpus-per-worker 1`).", ""]
        publish()

    # ---------------------------------------------------------------- training
    if train_sizes:
        lines += ["## Training DiVa (diva-static, word2vec) on labelled synthetic items", "",
                  "| labelled items | seconds | peak MB |", "|---:|---:|---:|"]
    for n in train_sizes:
        found = measure(["diva", "--method", "diva-static", "--encoder", "word2vec", "--train", str(files[n]),
                         "--predict", str(corpus / "test_comments.jsonl"), "--out", str(work / f"train-{n}-pred.jsonl")])
        lines.append(f"| {label_name(n)} | {found['total_s']:.0f} | {found['peak_mb']:.0f} |")
        publish()
    lines += ["", f"- total bench time: {(time.perf_counter() - start) / 60:.0f} min"]
    publish()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
