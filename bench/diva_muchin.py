"""DiVa and every baseline on the Chinese MuChin protocol (``../shared/data/muchin/diva``).

Run: .venv/bin/python bench/diva_muchin.py [--seeds 0,1,2] [--methods diva,eq2,...] [--out bench/results/diva_muchin.md]

Settings are chosen on validation, never on test: the training songs are split 80/20 (split seed
123), methods train on the gold labels of the 80% and label the 20%, whose complete label sets are
rebuilt from ``muchin_dev.jsonl`` by the protocol's rule (every tag of 2-6 characters that appears
verbatim in the song's descriptions; it rebuilds test2 exactly). Each method's prediction threshold
is the one of best validation coverage (seed 0): "each baseline is optimized to gain its best
performance". Then every method trains on all training songs and labels the test songs, once per
seed (the seed also trains the FastText vectors).

Columns: Table 2's on test1 (gold labels) and test2 (complete sets); coverage is the mean Jaccard
similarity of the predictions alone with the complete sets ("from scratch"), "cov gold ∪" that of
the test songs' gold labels with the predictions added (Y^G ∪ Y+: the paper's Eq. 1 and Table 2).
The last table is a ceiling, not a method: each candidate phrase predicted when its share of
being a label where it occurs, counted on the validation split's own training part with complete
sets (labels the methods never see), reaches a threshold.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.data.corpus import Corpus
from labkit.data.protocol import read_protocol
from labkit.diva import DiVaConfig
from labkit.diva.harvest import gold_matrix, make_encoder, method_scores, to_predictions
from labkit.diva.string_match import vocabulary_match
from labkit.embed import build_candidate_space
from labkit.metrics import evaluate_labels, format_table
from labkit.paths import shared_data_dir
from labkit.text.candidates import corpus_candidates

THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# row name -> (method, changes to DiVaConfig.for_language("zh"))
METHODS = {
    "tfidf": ("tfidf", {}),
    "mlc": ("mlc", {}),
    "eq2": ("eq2", {}),
    "nnpu (clamp only: Eq. 12)": ("nnpu", {"nnpu_ascent": False}),
    "nnpu (+ gradient ascent)": ("nnpu", {"nnpu_ascent": True}),
    "nst-mlc": ("nst-mlc", {}),
    "nst-eq2": ("nst-eq2", {}),
    "diva-static": ("diva-static", {}),
    "diva-light": ("diva-light", {}),
    "diva": ("diva", {}),
    "diva with the English defaults (before)": ("diva", {"english": True}),
    "diva transductive (before issue 17)": ("diva", {"transductive": True}),
}


def complete_sets(items: Corpus, dev_path: Path) -> list[list[str]]:
    """The protocol's complete label sets of ``items``, rebuilt from their MuChin tags."""
    tags = {}
    with open(dev_path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            tags[record["id"]] = record["tags"]
    out = []
    for item in items:
        text = "".join(item.comments)
        out.append(sorted({t for t in tags[item.id] if 2 <= len(t) <= 6 and t in text}))
    return out


def config_for(changes: dict, seed: int) -> DiVaConfig:
    changes = dict(changes)
    if changes.pop("english", False):
        return DiVaConfig(seed=seed, progress=False, **changes)
    return DiVaConfig.for_language("zh", seed=seed, progress=False, **changes)


def run_method(method, changes, train: Corpus, test: Corpus, vocab, seed, threshold=None):
    """Train on ``train``, label ``test``: (predictions per threshold, seconds per stage)."""
    changes = dict(changes)
    transductive = changes.pop("transductive", False)  # fitted on train + test items together, as before issue 17
    config = config_for(changes, seed)
    start = time.perf_counter()
    texts = [*train.comments, *test.comments]
    encoder = make_encoder("fasttext", ["\n".join(c) for c in (texts if transductive else train.comments)], lang="zh", config=config)
    space = build_candidate_space(texts, vocab, encoder, lang="zh", cache=False, n_fit=None if transductive else len(train))
    seconds = {"encode": time.perf_counter() - start}
    gold = gold_matrix(space, train.label_sets, space.n_items)
    train_rows, rows = np.arange(len(train)), np.arange(len(train), len(texts))
    start = time.perf_counter()
    scores, run, top_k = method_scores(method, space, gold, train_rows, rows, config)
    seconds["train+infer"] = time.perf_counter() - start
    if run is not None:
        for record in run.history:
            for stage, s in record.seconds.items():
                seconds[stage] = seconds.get(stage, 0.0) + s
    scores = sp.csr_matrix(scores)[rows]
    nested = config.suppress_nested and method != "tfidf"
    if top_k:
        preds = {None: to_predictions(test.ids, scores, space, threshold=None, top_k=top_k)}
    else:
        grid = THRESHOLDS if threshold is None else (threshold,)
        preds = {t: to_predictions(test.ids, scores, space, threshold=t, nested=nested) for t in grid}
    return {t: [list(p.labels) for p in ps] for t, ps in preds.items()}, seconds


def scores_on(pred, gold, complete, train_lists):
    on_complete = evaluate_labels(pred, complete, ks=(5,))
    on_gold = evaluate_labels(pred, gold, ks=(5,), train_lists=train_lists)
    union = [list(dict.fromkeys((*g, *p))) for g, p in zip(gold, pred)]
    return {
        "P1": on_gold["precision"], "R1": on_gold["recall"], "F1_1": on_gold["f1"], "nDCG@5": on_gold["nDCG@5"], "PSP@5": on_gold["PSP@5"],
        "P2": on_complete["precision"], "R2": on_complete["recall"], "F1_2": on_complete["f1"], "coverage": on_complete["coverage"],
        "union": evaluate_labels(union, complete, ks=(5,))["coverage"], "labels/item": float(np.mean([len(p) for p in pred])),
    }


def ceiling(fit: Corpus, fit_complete, val: Corpus, val_complete) -> dict:
    """Per-phrase label share counted with complete sets of the fit part, applied to val."""
    phrases, counts = corpus_candidates([*fit.comments, *val.comments], lang="zh")
    occurs = sp.csr_matrix(counts > 0, dtype=np.float64)
    n_fit = len(fit)
    seen = np.asarray(occurs[:n_fit].sum(axis=0)).ravel()  # (n_phrases,) fit songs where the phrase occurs
    hits = np.asarray(occurs[:n_fit].multiply(phrases.label_matrix(fit_complete)).sum(axis=0)).ravel()  # ... and is a label
    share = hits / np.maximum(seen, 1)
    on_val = occurs[n_fit:].tocsr()
    rows = {}
    for t in (0.3, 0.4, 0.5, 0.6):
        kept = (share >= t) & (seen > 0)
        pred = [[phrases[int(j)] for j in on_val.indices[on_val.indptr[i]:on_val.indptr[i + 1]] if kept[j]] for i in range(len(val))]
        e = evaluate_labels(pred, val_complete, ks=(5,))
        rows[f"share >= {t}"] = {"P": e["precision"], "R": e["recall"], "coverage": e["coverage"], "labels/item": np.mean([len(p) for p in pred])}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--seeded", default="diva,eq2,diva with the English defaults (before),diva transductive (before issue 17)",
                    help="methods run for every seed; the others for the first seed only (time)")
    ap.add_argument("--methods", default=",".join(METHODS), help="rows of METHODS, comma-separated")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "diva_muchin.md")
    args = ap.parse_args()
    root = (shared_data_dir() or Path("../shared/data")) / "muchin"
    folder, dev_path = root / "diva", root / "muchin_dev.jsonl"
    if not (folder / "train.jsonl").is_file() or not dev_path.is_file():
        raise SystemExit(f"bench/diva_muchin.py: the MuChin protocol is not at {folder} (see ../shared/data/README.md): skipped")
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise SystemExit(f"bench/diva_muchin.py: unknown method {unknown[0]!r}: choose from {', '.join(METHODS)}")
    protocol = read_protocol(folder)
    train, test, vocab = protocol.train, protocol.test, protocol.vocabulary
    order = np.random.default_rng(123).permutation(len(train))
    n_val = len(train) // 5
    val = train.subset([train.ids[i] for i in np.sort(order[:n_val])])
    fit = train.subset([train.ids[i] for i in np.sort(order[n_val:])])
    val_complete, fit_complete = complete_sets(val, dev_path), complete_sets(fit, dev_path)

    chosen, val_rows = {}, {}
    for name in names:
        method, changes = METHODS[name]
        preds, _ = run_method(method, changes, fit, val, vocab, seeds[0])
        cov = {t: evaluate_labels(p, val_complete, ks=(1,))["coverage"] for t, p in preds.items()}
        best = max(cov, key=cov.get)
        chosen[name] = best
        val_rows[name] = {"threshold": best if best is not None else float("nan"), "val coverage": cov[best],
                          "at 0.5": cov.get(0.5, float("nan"))}
        print(f"validation {name}: threshold {best} coverage {cov[best]:.3f}", flush=True)
    vm = vocabulary_match(val.comments, vocab, lang="zh")
    val_rows["vocabulary match"] = {"threshold": float("nan"), "val coverage": evaluate_labels(vm, val_complete, ks=(1,))["coverage"],
                                    "at 0.5": float("nan")}

    gold, complete = [list(g) for g in protocol.gold], [list(c) for c in protocol.complete]
    rows, by_seed, seconds, added = {}, {}, {}, {}
    reference = {"gold labels (test1)": gold, "vocabulary match": vocabulary_match(test.comments, vocab, lang="zh")}
    for name, pred in reference.items():
        rows[name] = scores_on(pred, gold, complete, train.label_sets)
    for name in names:
        method, changes = METHODS[name]
        per_seed = []
        for seed in seeds if name in args.seeded.split(",") else seeds[:1]:
            preds, secs = run_method(method, changes, train, test, vocab, seed, threshold=chosen[name])
            pred = next(iter(preds.values()))
            per_seed.append(scores_on(pred, gold, complete, train.label_sets))
            for stage, s in secs.items():
                seconds.setdefault(name, {}).setdefault(stage, []).append(s)
            if seed == seeds[0]:
                outside = collections.Counter(label for p, c in zip(pred, complete) for label in p if label not in set(vocab) and label in c)
                added[name] = ", ".join(f"{label} ({n})" for label, n in outside.most_common(12))
            print(f"{name} seed {seed}: coverage {per_seed[-1]['coverage']:.3f} union {per_seed[-1]['union']:.3f}", flush=True)
        rows[name] = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
        rows[name]["cov sd"] = float(np.std([r["coverage"] for r in per_seed]))
        by_seed[name] = {f"seed {s}": float("nan") for s in seeds}
        by_seed[name].update({f"seed {s}": r["coverage"] for s, r in zip(seeds, per_seed)})
        by_seed[name].update({f"gold ∪, seed {s}": r["union"] for s, r in zip(seeds, per_seed)})

    gold_cov = rows["gold labels (test1)"]["coverage"]
    test1 = {n: {k: r[k] for k in ("P1", "R1", "F1_1", "nDCG@5", "PSP@5")} for n, r in rows.items() if not n.startswith("gold")}
    test2 = {n: {"P": r["P2"], "R": r["R2"], "F1": r["F1_2"], "coverage": r["coverage"], "x gold": r["coverage"] / gold_cov,
                 "cov gold ∪": r["union"], "x gold ∪": r["union"] / gold_cov, "labels/item": r["labels/item"]} for n, r in rows.items()}
    lines = [
        f"# DiVa on MuChin (Chinese), {len(train)} training songs, {len(test)} test songs, seeds {args.seeds}",
        "",
        "Command: `.venv/bin/python bench/diva_muchin.py` (this machine: 2 cores, no GPU). Means over the seeds",
        f"({args.seeds} for {args.seeded}; the first seed for the other methods);",
        "thresholds chosen on validation (seed 0). test1 columns score against the gold labels, test2 against the",
        "complete sets; `coverage` is the predictions alone, `cov gold ∪` the gold labels with the predictions added.",
        "",
        "## On the gold labels (test1)",
        format_table(test1, digits=3),
        "",
        "## On the complete label sets (test2)",
        format_table(test2, digits=3),
        "",
        "## Coverage by seed",
        format_table(by_seed, digits=3),
        "",
        "## Validation (training songs only): the chosen threshold, coverage there, coverage at 0.5",
        format_table(val_rows, digits=3),
        "",
        "## Seconds per stage (mean over seeds)",
        format_table({n: {k: float(np.mean(v)) for k, v in s.items()} for n, s in seconds.items()}, digits=1),
        "",
        "## Right labels outside the gold vocabulary (seed 0, count over test songs)",
        *[f"- {n}: {a or 'none'}" for n, a in added.items()],
        "",
        "## Ceiling: a phrase's share of being a label, counted with complete sets (validation split)",
        format_table(ceiling(fit, fit_complete, val, val_complete), digits=3),
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
