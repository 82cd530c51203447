"""The ``labkit`` command. Each subcommand is a function registered in ``COMMANDS``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .data import DataFormatError, read_jsonl_corpus, read_predictions
from .metrics import evaluate_labels
from .paths import sample_data_dir


# ----------------------------------------------------------------------------- eval
def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score predicted label sets against true ones",
        description="Score a prediction file (JSONL: id, labels ranked best first, optional scores) "
        "against a truth corpus. Items of the truth file missing from the predictions count as empty "
        "predictions; predicted ids absent from the truth file are reported and left out.",
    )
    p.add_argument("--pred", required=True, type=Path, help="prediction JSONL")
    p.add_argument("--truth", required=True, type=Path, help="corpus JSONL with the true labels")
    p.add_argument("--train", type=Path, help="training corpus JSONL: adds PSP@k and PSnDCG@k")
    p.add_argument("--k", nargs="+", type=int, default=[1, 3, 5], help="cut-offs for @k metrics")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    if any(k < 1 for k in args.k):
        raise SystemExit("labkit eval: every --k must be at least 1")
    truth = read_jsonl_corpus(args.truth, require_labels=True)
    predictions = {p.id: p.labels for p in read_predictions(args.pred)}
    extra = [pid for pid in predictions if pid not in truth]
    if extra:
        print(
            f"labkit eval: {len(extra)} predicted id(s) are not in {args.truth} and are left out "
            f"(first: {extra[0]!r})",
            file=sys.stderr,
        )
    missing = sum(item.id not in predictions for item in truth)
    if missing:
        print(f"labkit eval: {missing} item(s) of {args.truth} have no prediction: scored as empty", file=sys.stderr)
    train_lists = read_jsonl_corpus(args.train, require_labels=True).label_sets if args.train else None
    result = evaluate_labels(
        [predictions.get(item.id, ()) for item in truth],
        truth.label_sets,
        ks=sorted(set(args.k)),
        train_lists=train_lists,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        width = max(len(k) for k in result)
        print(f"{len(truth)} items, {len(truth) - missing} with predictions")
        for key, value in result.items():
            print(f"  {key:<{width}}  {value:.4f}")
    return 0


# ----------------------------------------------------------------------------- diva
def _add_diva(sub: argparse._SubParsersAction) -> None:
    from .diva.harvest import METHODS

    p = sub.add_parser(
        "diva",
        help="harvest labels for new items with DiVa or one of its baselines",
        description="Train on TRAIN (JSONL with gold labels) and write ranked label predictions for the "
        "items of IN (JSONL, comments only) to PRED, in the format `labkit eval` reads.",
    )
    p.add_argument("--train", required=True, type=Path)
    p.add_argument("--predict", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--method", default="diva", choices=METHODS)
    p.add_argument("--encoder", default="all-MiniLM-L6-v2", help="Hugging Face model name or path, or a word2vec .txt file")
    p.add_argument("--gold-vocab", type=Path, help="expert vocabulary, one label per line (default: the labels of TRAIN)")
    p.add_argument("--rounds", type=int, default=None, help="DiVa rounds after the first training (default 4)")
    p.add_argument("--lang", default="auto", choices=["auto", "en", "zh"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=run_diva)


def run_diva(args: argparse.Namespace) -> int:
    from .data.jsonl import write_predictions
    from .data.textfile import iter_lines
    from .diva import DiVaConfig, harvest

    train = read_jsonl_corpus(args.train, require_labels=True)
    predict = read_jsonl_corpus(args.predict)
    vocab = [line.strip() for _, line in iter_lines(args.gold_vocab)] if args.gold_vocab else None
    config = DiVaConfig(seed=args.seed, device=args.device)
    if args.rounds is not None:
        config.rounds = args.rounds
    result = harvest(train, predict, method=args.method, encoder=args.encoder, gold_vocabulary=vocab, config=config, lang=args.lang)
    write_predictions(result.predictions, args.out)
    n_labels = sum(len(p.labels) for p in result.predictions)
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    print(f"{args.method}: {n_labels} labels for {len(predict)} items written to {args.out} ({timing})", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- demo
def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run DiVa and its baselines on the bundled synthetic corpus (a Table-2-style comparison)",
        description="Harvest labels for the test songs of a corpus folder (default: the bundled synthetic "
        "corpus) with DiVa and every baseline, and print a Table-2-style comparison on the gold (test1) "
        "and complete (test2) label sets.",
    )
    p.add_argument("--data", type=Path, default=None, help="corpus folder (default: the bundled data/synthetic)")
    p.add_argument("--methods", default=None, help="comma-separated methods (default: DiVa and every baseline)")
    p.add_argument("--encoder", default="all-MiniLM-L6-v2", help="Hugging Face model name or path")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from .demo import DEMO_METHODS, run_comparison

    folder = args.data or sample_data_dir()
    methods = args.methods.split(",") if args.methods else DEMO_METHODS
    print(run_comparison(folder, methods=methods, encoder=args.encoder, seed=args.seed, device=args.device))
    return 0


# ----------------------------------------------------------------------------- synth
def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write the synthetic teaching corpus (the bundled sample is its default output)",
    )
    p.add_argument("--out", type=Path, default=None, help="folder to write (default: data/synthetic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--songs", type=int, default=480)
    p.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    from .data.synthetic import write_synthetic_corpus

    folder = write_synthetic_corpus(args.out or sample_data_dir(), seed=args.seed, n_songs=args.songs)
    print(f"wrote the synthetic corpus (seed {args.seed}, {args.songs} songs) to {folder}")
    return 0


COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "eval": _add_eval,
    "diva": _add_diva,
    "demo": _add_demo,
    "synth": _add_synth,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit", description="labkit: harvest, score and explore music labels."
    )
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataFormatError, FileNotFoundError) as err:
        print(f"labkit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
