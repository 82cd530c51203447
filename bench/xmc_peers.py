"""GUDN against the XMC peers users would pick (PECOS XR-Linear, napkinXC PLT) and the hybrids,
on MusicCaps captions -> aspects and on MuChin's Chinese descriptions -> tags.

Run: .venv/bin/python bench/xmc_peers.py [--datasets musiccaps,muchin] [--epochs 3] [--max-length 128]
     [--methods "priors,xr-linear,plt,mlc,gudn,gudn-join,gudn-rerank"] [--validation] [--out bench/results/xmc_peers.md]
     [--schedule linear|constant] [--no-prior-bias] [--label-length N] [--activation relu|softmax]
     [--text-layers 8] [--dropout 0.5] [--fusion score|product|rank] [--shortlist 50]
     [--save-gudn DIR] [--load-gudn DIR]

Splits (fixed): the label-harvesting protocols' training and test songs (../shared/data/musiccaps/diva,
../shared/data/muchin/diva); a MusicCaps clip's text is its caption and its labels its aspects
(lower-cased), a MuChin song's text its amateur and professional descriptions and its labels its
tags; labels seen at least ``--min-count`` times in the training part are kept, and test items with
none of them are left out. ``--validation`` holds out a seeded fifth of the training part and
evaluates there (never on the test part): the hybrids' settings are chosen that way (it sweeps the
join weight and the re-ranker's fusion, shortlist and weight from one GUDN pass over the held-out
texts, and names the chosen row of each), then the test table is run once with the chosen ones.
``--save-gudn``/``--load-gudn`` keep a trained GUDN so a sweep need not train it again.

Every method gets the same texts; the neural ones fine-tune the offline all-MiniLM-L6-v2 (English:
on Chinese it sees characters through BERT's vocabulary) with the same settings and seed. GUDN is
trained once per dataset; the hybrids reuse it, and their training seconds include its training.
The ``priors`` row ranks the training part's most frequent labels for every item: the floor a
model that learnt nothing from the texts sits on. Columns: P@1/3/5, nDCG@3/5, PSP@1/3/5 (propensities from the training part), training seconds,
prediction items per second (alone on this 2-core CPU is how to read them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.gudn.hybrid import DEFAULT_FUSION, DEFAULT_WEIGHTS, FUSIONS, HybridXMC, join_features, rerank
from labkit.gudn.peers import LinearXMC, TfidfFeatures, ranked_lists
from labkit.gudn.training import XMCConfig, train_xmc
from labkit.metrics import evaluate_labels
from labkit.paths import shared_data_dir

COLUMNS = ["P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5"]
NAMES = {"priors": "label priors (the same 5 labels for every item)", "xr-linear": "TF-IDF + XR-Linear (PECOS)", "plt": "TF-IDF + PLT (napkinXC)", "mlc": "MLC (same encoder)",
         "gudn": "GUDN (both guides)", "gudn-join": "GUDN features joined with TF-IDF, XR-Linear",
         "gudn-rerank": "XR-Linear shortlist re-ranked with GUDN"}
JOIN_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
RERANK_WEIGHTS = {"score": (0.02, 0.05, 0.1, 0.15, 0.2, 0.3), "product": (0.05, 0.1, 0.2, 0.3, 0.5), "rank": (0.1, 0.2, 0.3, 0.4, 0.5)}
SHORTLISTS = (10, 20, 50)  # at least the 10 labels a row is scored on: HybridXMC re-scores max(top_k, shortlist)


def musiccaps(shared: Path, min_count: int) -> tuple[list, list, list, list]:
    from labkit.data.musiccaps import read_musiccaps_table
    from labkit.data.protocol import read_protocol

    table = read_musiccaps_table(shared / "musiccaps" / "musiccaps.csv").set_index("ytid")
    protocol = read_protocol(shared / "musiccaps" / "diva")
    texts = table["caption"].to_dict()
    labels = {ytid: sorted({a.lower() for a in row}) for ytid, row in table["aspect_list"].items()}
    return split(texts, labels, list(protocol.train.ids), list(protocol.test.ids), min_count)


def muchin(shared: Path, min_count: int) -> tuple[list, list, list, list]:
    rows = [json.loads(line) for line in (shared / "muchin" / "muchin_dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = {r["id"]: "\n".join(r["amateur"] + r["professional"]) for r in rows}
    labels = {r["id"]: sorted(set(r["tags"])) for r in rows}

    def ids(name: str) -> list[str]:
        path = shared / "muchin" / "diva" / name
        return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    return split(texts, labels, ids("train.jsonl"), ids("test_comments.jsonl"), min_count)


def split(texts: dict, labels: dict, train_ids: list, test_ids: list, min_count: int):
    counts = Counter(label for i in train_ids for label in labels[i])
    kept = {label for label, n in counts.items() if n >= min_count}

    def part(ids):
        rows = [(texts[i], [label for label in labels[i] if label in kept]) for i in ids]
        return [t for t, ls in rows if ls], [ls for _, ls in rows if ls]

    return (*part(train_ids), *part(test_ids))


DATASETS = {"musiccaps": ("MusicCaps captions -> aspects", musiccaps, 128),
            "muchin": ("MuChin descriptions -> tags (Chinese)", muchin, 192)}


def score(ranked: list, truth: list, train_labels: list) -> dict:
    scores = evaluate_labels([r[:5] for r in ranked], truth, ks=(1, 3, 5), train_lists=train_labels)
    return {c: scores[c] for c in COLUMNS}


def timed_predict(model, texts: list) -> tuple[list, float]:
    clock = time.perf_counter()
    ranked = [labels for labels, _ in model.predict(texts, top_k=10)]
    return ranked, len(texts) / (time.perf_counter() - clock)


def run_dataset(key: str, args, publish) -> tuple[list[str], dict]:
    """Every method on one dataset; ``publish(lines)`` is called with the table after each method."""
    title, reader, default_length = DATASETS[key]
    train_texts, train_labels, test_texts, test_labels = reader(shared_data_dir(), args.min_count)
    if args.validation:
        order = np.random.default_rng(0).permutation(len(train_texts))
        cut = len(order) // 5
        held, kept = order[:cut], order[cut:]
        test_texts, test_labels = [train_texts[i] for i in held], [train_labels[i] for i in held]
        train_texts, train_labels = [train_texts[i] for i in kept], [train_labels[i] for i in kept]
    n_labels = len({label for ls in train_labels for label in ls})
    max_length = args.max_length or default_length
    config = dict(epochs=args.epochs, max_length=max_length, label_length=args.label_length, batch_size=16, seed=0,
                  schedule=args.schedule, prior_bias=args.prior_bias, activation=args.activation,
                  text_layers=args.text_layers, dropout=args.dropout)
    rows, curves = {}, {}
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    gudn = None

    def add(name: str, ranked: list, seconds: float, per_second: float) -> None:
        rows[name] = score(ranked, test_labels, train_labels) | {"train s": seconds, "items/s": per_second}
        print(f"{key} {name}: " + " ".join(f"{c} {rows[name][c]:.3f}" for c in COLUMNS) + f" ({seconds:.0f} s)", file=sys.stderr, flush=True)

    for method in methods:
        if method == "priors":  # the floor: a model that learnt nothing from the text ranks like this
            clock = time.perf_counter()
            top = [label for label, _ in Counter(label for ls in train_labels for label in ls).most_common(10)]
            add(NAMES[method], [top] * len(test_texts), time.perf_counter() - clock, float("inf"))
        elif method in ("xr-linear", "plt"):
            model = LinearXMC(method).fit(train_texts, train_labels)
            ranked, speed = timed_predict(model, test_texts)
            add(NAMES[method], ranked, model.fit_seconds, speed)
        elif method in ("mlc", "gudn"):
            scoring = [0.0]  # seconds spent scoring after each epoch, not counted as training

            def after_epoch(epoch: int, trained, name: str = NAMES[method], scoring: list = scoring) -> None:  # P@k after each epoch
                start = time.perf_counter()
                ranked = [labels for labels, _ in trained.predict(test_texts, top_k=10)]
                curves.setdefault(name, []).append((epoch, score(ranked, test_labels, train_labels), trained.epoch_seconds[-1]))
                scoring[0] += time.perf_counter() - start

            if method == "gudn" and args.load_gudn:
                model, seconds = trained_gudn(key, train_texts, train_labels, config, args)
            else:
                clock = time.perf_counter()
                model = train_xmc(train_texts, train_labels, XMCConfig(method=method, **config), on_epoch=after_epoch)
                seconds = time.perf_counter() - clock - scoring[0]
                if method == "gudn" and args.save_gudn:
                    model.save(args.save_gudn / key)
            if method == "gudn":
                gudn, gudn_seconds = model, seconds
            ranked, speed = timed_predict(model, test_texts)
            add(NAMES[method], ranked, seconds, speed)
        elif method in ("gudn-join", "gudn-rerank"):
            if gudn is None:
                gudn, gudn_seconds = trained_gudn(key, train_texts, train_labels, config, args)
            if args.validation:  # the sweep: GUDN scores the held-out texts once, every setting reuses them
                for name, ranked in sweep_hybrid(method, gudn, train_texts, train_labels, test_texts):
                    add(name, ranked, gudn_seconds, float("inf"))
            else:
                model = HybridXMC(method, weight=args.weights[method], fusion=args.fusion, shortlist=args.shortlist,
                                  features=TfidfFeatures()).fit(train_texts, train_labels, gudn=gudn)
                ranked, speed = timed_predict(model, test_texts)
                setting = f"weight {model.weight:g}" + (f", {model.fusion} fusion, shortlist {model.shortlist}" if method == "gudn-rerank" else "")
                add(f"{NAMES[method]} ({setting})", ranked, gudn_seconds + model.fit_seconds, speed)
        else:
            raise SystemExit(f"unknown method {method!r}: choose from {list(NAMES)}")
        publish(report(rows, title, args, len(train_texts), len(test_texts), n_labels, max_length, curves))
    return report(rows, title, args, len(train_texts), len(test_texts), n_labels, max_length, curves), rows


def trained_gudn(key: str, texts: list, label_sets: list, config: dict, args) -> tuple:
    """(GUDN, training seconds): loaded from ``--load-gudn DIR/<dataset>`` (seconds: the sum of the
    saved epochs', nan when not saved), else trained here (without per-epoch scores)."""
    from labkit.gudn.training import XMCModel

    if args.load_gudn:
        model = XMCModel.load(args.load_gudn / key)
        if list(model.labels.tokens) != sorted({label for ls in label_sets for label in ls}):
            raise SystemExit(f"{args.load_gudn / key}: trained on other labels than this split's (another --min-count or --validation?)")
        return model, (sum(model.epoch_seconds) if model.epoch_seconds else float("nan"))
    clock = time.perf_counter()
    model = train_xmc(texts, label_sets, XMCConfig(method="gudn", **config))
    if args.save_gudn:
        model.save(args.save_gudn / key)
    return model, time.perf_counter() - clock


def sweep_hybrid(method: str, gudn, train_texts: list, train_labels: list, test_texts: list):
    """Yield (row name, ranked label lists) for every setting of one hybrid, from one GUDN pass
    over the texts (what HybridXMC computes, setting by setting: tests/test_xmc_peers.py)."""
    features = TfidfFeatures()
    x_train, x_test = features.fit_transform(train_texts), features.transform(test_texts)
    if method == "gudn-join":
        e_train, e_test = gudn.features(train_texts), gudn.features(test_texts)
        for weight in JOIN_WEIGHTS:
            linear = LinearXMC("xr-linear", features=features).fit(train_texts, train_labels, x=join_features(x_train, e_train, weight))
            idx, val = linear.scores(x=join_features(x_test, e_test, weight), top_k=10)
            yield f"{NAMES[method]} (weight {weight:g})", [names for names, _ in ranked_lists(idx, val, linear.labels)]
        return
    linear = LinearXMC("xr-linear", features=features).fit(train_texts, train_labels, x=x_train)
    idx, val = linear.scores(x=x_test, top_k=max(SHORTLISTS))
    probs = gudn.scores(test_texts)
    for fusion, weights in RERANK_WEIGHTS.items():
        for shortlist in SHORTLISTS:
            for weight in weights:
                top, fused = rerank(idx[:, :shortlist], val[:, :shortlist], probs, weight, 10, fusion)
                yield (f"{NAMES[method]} (weight {weight:g}, {fusion} fusion, shortlist {shortlist})",
                       [names for names, _ in ranked_lists(top, fused, linear.labels)])


def report(rows: dict, title: str, args, n_train: int, n_test: int, n_labels: int, max_length: int, curves: dict) -> list[str]:
    evaluated = "validation (a fifth of the training part)" if args.validation else "test"
    lines = [f"## {title}: {n_train} training and {n_test} {evaluated} items, {n_labels} labels seen >= {args.min_count} times", "",
             f"Neural rows: all-MiniLM-L6-v2 fine-tuned, mean pooling, {args.epochs} epochs, max length {max_length} "
             f"(GUDN's label sequences: {args.label_length or max_length}), GUDN text layers {args.text_layers}, dropout {args.dropout:g}, "
             f"{args.activation} ranking layer, batch 16, "
             f"{args.schedule} learning-rate schedule, output biases from {'the label priors' if args.prior_bias else '0'}, "
             "seed 0, CPU (2 cores). Linear rows: TF-IDF of 1-2-grams (min_df 2, sublinear tf).", "",
             "| method | " + " | ".join(COLUMNS) + " | training s | predicted items/s |", "|---|" + "---:|" * (len(COLUMNS) + 2)]
    lines += [f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in COLUMNS) + f" | {r['train s']:.1f} | {r['items/s']:.0f} |".replace("| inf |", "| - |").replace("| nan |", "| - |")
              for name, r in rows.items()]
    linear = rows.get(NAMES["xr-linear"])
    if linear:
        def reaches(n: str) -> bool:
            return rows[n]["P@1"] >= linear["P@1"] and rows[n]["P@5"] >= linear["P@5"]

        # a row reaching XR-Linear on both first, then the higher P@1 + P@5
        families = [("Best row with GUDN", "GUDN")]
        if args.validation:  # the setting each hybrid takes to the test run
            families += [(f"Chosen {m}", NAMES[m]) for m in ("gudn-join", "gudn-rerank")]
        for title, prefix in families:
            best = max((n for n in rows if prefix in n), key=lambda n: (reaches(n), rows[n]["P@1"] + rows[n]["P@5"]), default=None)
            if best:
                ok = reaches(best)
                lines += ["", f"{title}: {best}: P@1 {rows[best]['P@1']:.3f} / P@5 {rows[best]['P@5']:.3f} against XR-Linear's "
                          f"{linear['P@1']:.3f} / {linear['P@5']:.3f} ({'at least both' if ok else 'below on at least one'}), "
                          f"training {rows[best]['train s']:.0f} s against {linear['train s']:.1f} s."]
    for name, curve in curves.items():
        lines += ["", f"{name} after each epoch (seconds: that epoch's training alone):", "",
                  "| epoch | P@1 | P@3 | P@5 | nDCG@5 | PSP@5 | s |", "|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {e} | {r['P@1']:.3f} | {r['P@3']:.3f} | {r['P@5']:.3f} | {r['nDCG@5']:.3f} | {r['PSP@5']:.3f} | {t:.0f} |" for e, r, t in curve]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="musiccaps,muchin")
    parser.add_argument("--methods", default=",".join(NAMES), help="default: all of them")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=None, help="tokens per text (default 128 MusicCaps, 192 MuChin)")
    parser.add_argument("--min-count", type=int, default=10)
    parser.add_argument("--label-length", type=int, default=None, help="GUDN's reinforced label sequence in tokens (default: the max length)")
    parser.add_argument("--text-layers", type=int, default=8, help="GUDN: encoder layers pooled into the text features (8: all of MiniLM's 7)")
    parser.add_argument("--dropout", type=float, default=0.5, help="dropout on the pooled features (GUDN's extractors, the MLC's head)")
    parser.add_argument("--activation", choices=("relu", "softmax"), default="relu", help="GUDN ranking classifier's hidden activation")
    parser.add_argument("--schedule", choices=("linear", "constant"), default="linear", help="learning rates of the neural rows")
    parser.add_argument("--prior-bias", action=argparse.BooleanOptionalAction, default=True,
                        help="output biases start at the label priors' logits (--no-prior-bias: at 0)")
    parser.add_argument("--join-weight", type=float, default=DEFAULT_WEIGHTS["gudn-join"])
    parser.add_argument("--rerank-weight", type=float, default=DEFAULT_WEIGHTS["gudn-rerank"])
    parser.add_argument("--validation", action="store_true", help="evaluate on a held-out fifth of the training part, sweeping the hybrids' weights")
    parser.add_argument("--fusion", choices=FUSIONS, default=DEFAULT_FUSION, help="gudn-rerank's fusion (labkit.gudn.hybrid)")
    parser.add_argument("--shortlist", type=int, default=50, help="gudn-rerank: XR-Linear's labels re-scored per item")
    parser.add_argument("--load-gudn", type=Path, default=None, help="take each dataset's GUDN from DIR/<dataset> instead of training it")
    parser.add_argument("--save-gudn", type=Path, default=None, help="write each dataset's trained GUDN to DIR/<dataset> (safetensors)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/xmc_peers.md"))
    args = parser.parse_args()
    args.weights = {"gudn-join": args.join_weight, "gudn-rerank": args.rerank_weight}
    if args.validation and args.out == Path("bench/results/xmc_peers.md"):
        args.out = Path("bench/results/xmc_peers_validation.md")
    shared = shared_data_dir()
    keys = [k.strip() for k in args.datasets.split(",") if k.strip()]
    if shared is None or any(not (shared / k / "diva").is_dir() for k in keys):
        print(f"skipped: ../shared/data/{{{','.join(keys)}}} is absent (see ../shared/data/README.md)", file=sys.stderr)
        return 0
    lines = ["# Extreme multi-label text: GUDN, its peers and the hybrids", "",
             f"`.venv/bin/python bench/xmc_peers.py {' '.join(sys.argv[1:])}`".replace("  ", " "), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for key in keys:
        done = list(lines)

        def publish(table: list[str], done: list[str] = done) -> None:  # the file holds every finished method
            args.out.write_text("\n".join([*done, *table]) + "\n")

        part, _ = run_dataset(key, args, publish)
        lines += [*part, ""]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
