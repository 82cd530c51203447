"""DiVa and its baselines on the MusicCaps label-harvesting protocol (../shared/data/musiccaps/diva).

Run: .venv/bin/python bench/diva_musiccaps.py [--methods diva,eq2,...] [--out bench/results/diva_musiccaps.md]

Prints, and writes as Markdown: every method's Table-2 columns on test1 (gold labels) and test2
(complete label sets), coverage, DiVa's rounds (the round kept: best by validation PSP@5 +
PSnDCG@5, or the last with NAME@last) and the seconds of each stage; then how much faster
the decomposed pair scoring is than the classifier run on concatenated pairs, and the wall time of
a full DiVa run from a cold embedding cache. Soft metrics use the encoder's phrase vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from labkit.data.protocol import read_protocol
from labkit.diva import METHODS, DiVaConfig, harvest
from labkit.diva.pairs import PairSpace
from labkit.models import PairClassifier
from labkit.embed import build_candidate_space, get_encoder, phrase_embedder
from labkit.metrics import evaluate_labels, format_table
from labkit.paths import shared_data_dir

from _report import write_report  # bench/ is on sys.path when a script here runs

GOLD_COLUMNS = ["P", "R", "F1", "nDCG@5", "PSP@5", "PSnDCG@5", "SP", "SR", "SF1"]
COMPLETE_COLUMNS = ["P", "R", "F1", "SP", "SR", "SF1", "coverage"]
KEYS = {"P": "precision", "R": "recall", "F1": "f1", "SP": "soft_precision", "SR": "soft_recall", "SF1": "soft_f1"}


def decomposition_speedup(space, items, phrases, *, with_features: bool = True, repeats: int = 3, chunk: int = 8192) -> dict[str, float]:
    """Seconds to score the (item, phrase) pairs with the decomposition and with the classifier
    run on concatenated pairs: same untrained weights, same precomputed pair features, same chunks.
    ``with_features=False`` times the plain Eq. 2 towers (no per-pair features)."""
    pairs = PairSpace.build(space)
    torch.manual_seed(0)
    n_features = pairs.n_features if with_features else 0
    model = PairClassifier(space.item_vectors.shape[1], space.phrase_vectors.shape[1], n_features).eval()
    start = time.perf_counter()
    feats = torch.from_numpy(pairs.features(items, phrases)[:, :n_features].copy())
    t_features = time.perf_counter() - start
    iv, pv = torch.from_numpy(space.item_vectors), torch.from_numpy(space.phrase_vectors)
    it, ph = torch.from_numpy(items), torch.from_numpy(phrases)


    def decomposed():
        u, v = model.item_part(iv), model.label_part(pv)  # once per item, once per phrase
        return torch.cat([torch.sigmoid(model.score_indexed(u, v, it[s:s + chunk], ph[s:s + chunk], feats[s:s + chunk]))
                          for s in range(0, len(it), chunk)])

    def concatenated():
        return torch.cat([torch.sigmoid(model.forward_concat(iv[it[s:s + chunk]], pv[ph[s:s + chunk]], feats[s:s + chunk]))
                          for s in range(0, len(it), chunk)])

    timings: dict[str, float] = {}
    outputs = {}
    with torch.inference_mode():
        for name, fn in (("decomposed", decomposed), ("concatenated", concatenated)):
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                outputs[name] = fn()
                best = min(best, time.perf_counter() - start)
            timings[name] = best
    assert torch.allclose(outputs["decomposed"], outputs["concatenated"], atol=1e-5)
    timings["features"] = t_features
    timings["pairs"] = len(items)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join([*METHODS, "diva@last", "diva-light@last"]),
                        help="methods; NAME@last keeps a DiVa variant's last round instead of the best by validation")
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--out", type=Path, default=Path("bench/results/diva_musiccaps.md"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared / "musiccaps" / "diva").is_dir():
        print("skipped: ../shared/data/musiccaps/diva is absent", file=sys.stderr)
        return 0
    protocol = read_protocol(shared / "musiccaps" / "diva")
    train, test, gold, complete, vocab = protocol.train, protocol.test, protocol.gold, protocol.complete, protocol.vocabulary

    # A full DiVa run, encoding included, from a cold cache.
    with tempfile.TemporaryDirectory() as cold:
        os.environ["LABKIT_CACHE"] = cold
        start = time.perf_counter()
        full = harvest(train, test, method="diva", encoder=args.encoder, gold_vocabulary=vocab, config=DiVaConfig(seed=args.seed, device=args.device))
        full_seconds = time.perf_counter() - start
        encoder = get_encoder(args.encoder, progress=False)
        space = build_candidate_space([*train.comments, *test.comments], vocab, encoder)
    os.environ.pop("LABKIT_CACHE")
    embed = phrase_embedder(space, encoder)

    rows_gold, rows_complete, timing = {}, {}, {}
    gold_labels = {"gold labels (test1)": [list(g) for g in gold]}
    for method in ["gold labels (test1)", *args.methods.split(",")]:
        if method in gold_labels:
            predicted, result = gold_labels[method], None
        elif method == "diva":
            result = full
            predicted = [list(p.labels) for p in result.predictions]
        else:
            name, _, selection = method.partition("@")
            config = DiVaConfig(seed=args.seed, device=args.device, select_round=selection or "best")
            result = harvest(train, test, method=name, gold_vocabulary=vocab, config=config, space=space)
            predicted = [list(p.labels) for p in result.predictions]
        on_gold = evaluate_labels(predicted, gold, ks=(5,), train_lists=train.label_sets, label_embedder=embed)
        on_complete = evaluate_labels(predicted, complete, ks=(5,), label_embedder=embed)
        rows_gold[method] = {c: on_gold[KEYS.get(c, c)] for c in GOLD_COLUMNS}
        rows_complete[method] = {c: on_complete[KEYS.get(c, c)] for c in COMPLETE_COLUMNS}
        rows_complete[method]["labels/item"] = sum(map(len, predicted)) / len(predicted)
        if result is not None:
            timing[method] = {"rounds": result.rounds, **{k: round(v, 1) for k, v in result.seconds.items()}}
        print(f"{method}: coverage {on_complete['coverage']:.3f}", file=sys.stderr, flush=True)

    pairs = PairSpace.build(space)
    cand_items, cand_phrases = pairs.candidate_pairs(np.arange(space.n_items))
    grid_items = np.repeat(np.arange(16), len(space.phrases))  # PV: 16 items x every phrase
    grid_phrases = np.tile(np.arange(len(space.phrases)), 16)
    speeds = {
        "every candidate pair, model as used (36 pair features)": decomposition_speedup(space, cand_items, cand_phrases),
        "every candidate pair, plain Eq. 2 towers (no pair features)": decomposition_speedup(space, cand_items, cand_phrases, with_features=False),
        "PV grid (16 items x every phrase), model as used": decomposition_speedup(space, grid_items, grid_phrases),
    }
    lines = [
        f"# DiVa on the MusicCaps protocol ({len(train)} training items, {len(test)} test items)",
        "",
        f"Encoder: {args.encoder}; seed {args.seed}; gold labels' coverage of test2 = {rows_complete['gold labels (test1)']['coverage']:.3f}.",
        "",
        "## test1 (gold labels)", "", format_table({k: v for k, v in rows_gold.items() if not k.startswith("gold")}, digits=3),
        "", "## test2 (complete label sets)", "", format_table(rows_complete, digits=3),
        "", "## Rounds and seconds per stage", "", format_table(timing, digits=1),
        "", "## Speed", "",
        f"- full DiVa run from a cold cache (encode + train + infer + joint score + predict): {full_seconds:.0f} s",
        *(f"- {name}, {sp_['pairs']} pairs: decomposed {sp_['decomposed']:.3f} s, "
          f"concatenated {sp_['concatenated']:.3f} s: {sp_['concatenated'] / sp_['decomposed']:.1f}x faster "
          f"(pair features gathered once for both, {sp_['features']:.3f} s)" for name, sp_ in speeds.items()),
    ]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
