"""The ``labkit`` command. Each subcommand is a function registered in ``COMMANDS``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .data import read_jsonl_corpus, read_predictions
from .embed.transformer import DEFAULT_MODEL as DEFAULT_ENCODER  # noqa: E402 (the one default encoder name)
from .errors import USER_ERRORS, DataFormatError, UsageError
from .metrics import evaluate_labels
from .outputs import check_inputs_apart, check_output_file, check_output_folder, write_output_file
from .paths import sample_data_dir


# ----------------------------------------------------------------------------- checks before work
# Every command runs these on its options, inputs and outputs before it reads data or loads a model,
# so that a mistake costs a second, not the minutes of training that would come before the write.
def input_file(path: Path | None, option: str) -> Path | None:
    """``path`` must be an existing file (None passes: an option not given)."""
    if path is None:
        return None
    if path.is_dir():
        raise UsageError(option, f"{path} is a folder; give a file")
    if not path.exists():
        raise UsageError(option, f"{path}: no such file")
    return path


def input_folder(path: Path, option: str) -> Path:
    if not path.exists():
        raise UsageError(option, f"{path}: no such folder")
    if not path.is_dir():
        raise UsageError(option, f"{path} is a file; give a folder")
    return path


def at_least(value: float | None, low: float, option: str) -> None:
    if value is not None and value < low:
        raise UsageError(option, f"must be at least {low:g} (got {value:g})")


def check_device(device: str) -> None:
    """``--device cuda`` needs a GPU that torch can see."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device", "cuda was asked for, but torch sees no CUDA GPU (use --device cpu or auto)")


def check_encoder(name_or_path: str, option: str = "--encoder") -> Path | None:
    """An encoder given as a path must exist (a word2vec .txt/.vec file, or a model folder with its
    config.json); a hub name must be in the local cache when downloads are off. Returns the path
    (an input the outputs must stay apart from), or None for a hub name."""
    import os

    from .embed.transformer import resolve_model

    path = Path(name_or_path).expanduser()
    if name_or_path.endswith((".txt", ".vec")):
        return input_file(path, option)
    if path.exists():
        if path.is_file():
            raise UsageError(option, f"{path} is a file; give a model folder, a model name, or word vectors (.txt/.vec)")
        if not (path / "config.json").is_file():
            raise UsageError(option, f"{path} is a folder without config.json, not a saved transformer model")
        return path
    looks_like_path = name_or_path.startswith(("/", "./", "../", "~")) or name_or_path.count("/") > 1 or os.sep != "/" and os.sep in name_or_path
    if looks_like_path:
        raise UsageError(option, f"{name_or_path}: no such folder")
    resolved = resolve_model(name_or_path)
    if Path(resolved).exists():
        return None
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name_or_path, "config.json"), str):
            raise UsageError(option, f"{name_or_path} is no local folder and is not in the Hugging Face cache, and downloads "
                             "are off (HF_HUB_OFFLINE=1): give a model folder or word vectors, or allow downloads")
    return None


def check_harvest_encoder(name: str) -> Path | None:
    """:func:`check_encoder` for ``labkit diva`` and ``labkit demo``, which also take ``fasttext`` /
    ``word2vec`` (trained on the comments) and ``auto`` (by language: the bundled English encoder,
    or FastText for Chinese)."""
    from .diva.harvest import CORPUS_ENCODERS

    if name in CORPUS_ENCODERS:
        return None
    return check_encoder(DEFAULT_ENCODER if name == "auto" else name)


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
    p.add_argument("--gold", type=Path,
                   help="corpus JSONL of the items' gold labels (test1): score each item's gold labels followed by its "
                   "predicted ones (Y^G ∪ Y+, the paper's measure) instead of the predictions alone")
    p.add_argument("--k", nargs="+", type=int, default=[1, 3, 5], help="cut-offs for @k metrics")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    for k in args.k:
        at_least(k, 1, "--k")
    for path, option in ((args.pred, "--pred"), (args.truth, "--truth"), (args.train, "--train"), (args.gold, "--gold")):
        input_file(path, option)
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
        alone = "their gold labels alone" if args.gold is not None else "empty"
        print(f"labkit eval: {missing} item(s) of {args.truth} have no prediction: scored as {alone}", file=sys.stderr)
    if args.gold is not None:
        gold = read_jsonl_corpus(args.gold, require_labels=True)
        absent = [item.id for item in truth if item.id not in gold]
        if absent:
            raise DataFormatError(args.gold, f"{len(absent)} item(s) of {args.truth} have no gold labels here", record=absent[0])
        predictions = {item.id: tuple(dict.fromkeys((*gold[item.id].labels, *predictions.get(item.id, ())))) for item in truth}
        print(f"labkit eval: scoring gold labels of {args.gold} with the predictions added (Y^G ∪ Y+)", file=sys.stderr)
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
    p.add_argument("--encoder", default="auto",
                   help="Hugging Face model name or path, a word2vec .txt file, fasttext or word2vec (trained on the "
                   "comments), or auto (default): the bundled English encoder for English, fasttext for Chinese")
    p.add_argument("--gold-vocab", type=Path, help="expert vocabulary, one label per line (default: the labels of TRAIN)")
    p.add_argument("--keep-gold", action="store_true",
                   help="write each item's own labels from --predict (its experts' gold labels) followed by the harvested "
                   "ones: Y^G ∪ Y+, the set DiVa's paper scores (default: the harvested labels alone)")
    p.add_argument("--rounds", type=int, default=None, help="DiVa rounds after the first training (default 1)")
    p.add_argument("--lang", default="auto", choices=["auto", "en", "zh"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--run-dir", type=Path, default=None,
                   help="save every round here (atomically); run again with the same folder to resume after the last complete round")
    p.add_argument("--save-model", type=Path, default=None, metavar="DIR",
                   help="save the trained harvester here (classifier, fitted candidate space, encoder, settings): "
                   "`labkit label --model DIR` then labels new comments with it")
    p.set_defaults(func=run_diva)


def run_diva(args: argparse.Namespace) -> int:
    from .data.jsonl import write_predictions
    from .data.textfile import iter_lines
    from .diva import DiVaConfig, harvest
    from .diva.harvest import choose_encoder, comments_language, keep_gold
    from .diva.rundir import check_run_dir

    inputs = [input_file(args.train, "--train"), input_file(args.predict, "--predict"), input_file(args.gold_vocab, "--gold-vocab"),
              check_harvest_encoder(args.encoder)]
    check_output_file(args.out, kind="predictions", inputs=inputs, option="--out")
    at_least(args.rounds, 0, "--rounds")
    if args.run_dir is not None:
        if not args.method.startswith("diva"):
            raise UsageError("--run-dir", f"saves DiVa rounds; method {args.method!r} has none (use diva, diva-static or diva-light)")
        check_run_dir(args.run_dir)
        check_inputs_apart(args.run_dir, inputs, "--run-dir")
    if args.save_model is not None:
        from .diva.harvester import HARVESTER_METHODS

        if args.method not in HARVESTER_METHODS:
            raise UsageError("--save-model", f"saves a DiVa harvester; method {args.method!r} makes none (use {', '.join(HARVESTER_METHODS)})")
        check_output_folder(args.save_model, kind="harvester", inputs=inputs, option="--save-model")
        check_inputs_apart(args.save_model, [args.out, args.run_dir], "--save-model")
    check_device(args.device)
    train = read_jsonl_corpus(args.train, require_labels=True)
    predict = read_jsonl_corpus(args.predict)
    vocab = [line.strip() for _, line in iter_lines(args.gold_vocab)] if args.gold_vocab else None
    lang = comments_language(train, predict) if args.lang == "auto" else args.lang
    config = DiVaConfig.for_language(lang, seed=args.seed, device=args.device)
    if args.rounds is not None:
        config.rounds = args.rounds
    encoder, why = choose_encoder(args.encoder, lang)
    print(f"{args.method}: comments in {'Chinese' if lang == 'zh' else 'English'}"
          f"{' (detected)' if args.lang == 'auto' else ''}; encoder {encoder} ({why})", file=sys.stderr)
    result = harvest(train, predict, method=args.method, encoder=encoder, gold_vocabulary=vocab, config=config, lang=args.lang,
                     run_dir=args.run_dir)
    if args.keep_gold and not any(predict.label_sets):
        print(f"{args.method}: --keep-gold: the items of {args.predict} carry no labels, so the harvested labels are written alone",
              file=sys.stderr)
    predictions = keep_gold(result.predictions, predict.label_sets) if args.keep_gold else result.predictions
    write_predictions(predictions, args.out)
    if args.save_model is not None:
        saved = result.harvester().save_pretrained(args.save_model)
        size = sum(f.stat().st_size for f in saved.rglob("*") if f.is_file())
        print(f"{args.method}: harvester saved to {saved} ({size / 1e6:.1f} MB); label new comments with "
              f"`labkit label --model {saved} --input NEW.jsonl --out PRED.jsonl`", file=sys.stderr)
    n_labels = sum(len(p.labels) for p in predictions)
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    print(f"{args.method}: {n_labels} labels for {len(predict)} items written to {args.out} ({timing})", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- label
def _add_label(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "label",
        help="label new items' comments with a saved harvester (labkit diva --save-model)",
        description="Read IN (JSONL or Parquet items: id, comments; or a folder of such shards) a batch at a time, label "
        "each batch with the harvester saved in DIR, and write ranked predictions to PRED in the format `labkit eval` reads "
        "(for a folder IN, PRED is a folder with one prediction file per shard). Memory holds the harvester and one batch, "
        "however large the input; PRED appears only when every item is labelled. --engine ray runs the same labelling on "
        "a Ray cluster (a local one of --workers CPUs unless --address is given) and writes the same bytes.",
    )
    p.add_argument("--model", required=True, type=Path, metavar="DIR", help="a harvester folder (labkit diva --save-model)")
    p.add_argument("--input", required=True, type=Path, metavar="IN", help="a .jsonl or .parquet item file, or a folder of them")
    p.add_argument("--out", required=True, type=Path, metavar="PRED")
    p.add_argument("--threshold", type=float, default=None, help="keep candidates with this probability or more (default: the harvester's)")
    p.add_argument("--top-k", type=int, default=None, help="at most this many labels per item (default: all above the threshold)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=256, help="items labelled at once (default 256)")
    p.add_argument("--encoder", default=None,
                   help="where the harvester's transformer encoder is on this machine (a name or folder), if not where it was saved; "
                   "it must give the same vectors")
    p.add_argument("--allow-other-version", action="store_true", help="load a harvester saved by another labkit version")
    p.add_argument("--engine", default="local", choices=["local", "ray"], help="local (default): this process; ray: Ray Data actors")
    p.add_argument("--address", default=None,
                   help="--engine ray: the cluster to join (auto, or ray://HEAD:10001); its nodes must see DIR and IN at the same "
                   "paths. Default: start a local cluster for the run")
    p.add_argument("--workers", type=int, default=2, help="--engine ray: labelling actors, each loading the harvester once (default 2)")
    p.add_argument("--num-gpus-per-worker", type=float, default=0.0, metavar="G",
                   help="--engine ray: GPUs each actor takes (default 0: CPU actors)")
    p.set_defaults(func=run_label)


def run_label(args: argparse.Namespace) -> int:
    from .data.itemfiles import item_shards
    from .diva.catalogue import SHARDS_KIND, LabelSettings, label_catalogue
    from .embed.transformer import pick_device

    input_folder(args.model, "--model")
    if not args.input.is_dir():
        input_file(args.input, "--input")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise UsageError("--threshold", f"is a probability between 0 and 1 (got {args.threshold:g})")
    at_least(args.top_k, 1, "--top-k")
    at_least(args.batch_size, 1, "--batch-size")
    at_least(args.workers, 1, "--workers")
    if args.num_gpus_per_worker < 0:
        raise UsageError("--num-gpus-per-worker", f"is 0 or more (got {args.num_gpus_per_worker:g})")
    if args.engine == "local" and (args.address is not None or args.num_gpus_per_worker):
        raise UsageError("--address" if args.address is not None else "--num-gpus-per-worker", "applies to --engine ray only")
    if args.engine == "ray" and args.device != "auto":
        raise UsageError("--device", "applies to --engine local; under --engine ray, --num-gpus-per-worker G gives each actor a GPU")
    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UsageError("--engine", "ray needs Ray Data: pip install 'ray[data]'") from None
    encoder_path = check_encoder(args.encoder) if args.encoder is not None else None
    inputs = [args.input, args.model, encoder_path]
    if args.input.is_dir():
        item_shards(args.input)  # a folder without item files fails here, before any work
        if args.out.suffix.lower() in (".jsonl", ".json", ".parquet"):
            raise UsageError("--out", f"IN is a folder of shards, so PRED is a folder (one prediction file per shard), not {args.out.name!r}")
        check_output_folder(args.out, kind=SHARDS_KIND, inputs=inputs, option="--out")
    else:
        if args.out.suffix.lower() == ".parquet":
            raise UsageError("--out", f"predictions are JSONL (the format `labkit eval` reads), not {args.out.name!r}")
        check_output_file(args.out, kind="predictions", inputs=inputs, option="--out")
    check_device(args.device)
    device = pick_device(args.device) if args.engine == "local" else "cpu"
    encoder = str(encoder_path.resolve()) if encoder_path is not None and encoder_path.exists() else args.encoder
    # absolute paths: a cluster's workers need not start in this folder
    settings = LabelSettings(str(args.model.resolve()), args.threshold, args.top_k, args.batch_size, encoder, args.allow_other_version, device)
    n_items, threshold = label_catalogue(settings, args.input, args.out, engine=args.engine, workers=args.workers, address=args.address,
                                         gpus_per_worker=args.num_gpus_per_worker, progress=True)
    engine = "" if args.engine == "local" else f", ray: {args.workers} workers"
    print(f"label: {n_items} items labelled into {args.out} (harvester {args.model}, threshold {threshold:g}{engine})", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- clusters
def _parse_ks(text: str) -> list[int]:
    """'12' -> [12]; '5-20' -> [5, ..., 20]; '10,50,100' -> [10, 50, 100]."""
    try:
        if "-" in text:
            low, high = (int(v) for v in text.split("-", 1))
            return list(range(low, high + 1))
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes a number, a range like 5-20 or a list like 10,50,100; got {text!r}") from None


def _add_clusters(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clusters",
        help="cluster the tags of (item, tag) assignments by embeddings or by NPMI",
        description="Read a TSV with a header and one (item, tag) pair per row, keep the tags on at least "
        "--min-count items, and cluster them: 'embed' runs spherical k-means on tag vectors (a transformer "
        "--encoder, word2vec-format --vectors, or --cooccurrence skip-gram vectors); 'npmi' cuts an "
        "average-linkage tree on 1 - NPMI and drops singletons. With several k (a range or a list) the "
        "k of best silhouette is kept. Writes one row per kept tag: tag, cluster, count, silhouette.",
    )
    p.add_argument("--assignments", required=True, type=Path, help="TSV with a header: one (item, tag) pair per row")
    p.add_argument("--item-col", default="item")
    p.add_argument("--tag-col", default="tag")
    p.add_argument("--method", required=True, choices=["embed", "npmi"])
    source = p.add_mutually_exclusive_group()
    source.add_argument("--encoder", default=None, help="Hugging Face model name or path (default all-MiniLM-L6-v2)")
    source.add_argument("--vectors", type=Path, default=None, help="word vectors in word2vec text format")
    source.add_argument("--cooccurrence", action="store_true", help="tag vectors from the co-occurrence skip-gram")
    p.add_argument("--algorithm", default="kmeans", choices=["kmeans", "average"],
                   help="embed: spherical k-means, or an average-linkage tree on cosine distance (deterministic)")
    p.add_argument("--k", type=_parse_ks, default=None, help="k, a range (5-20) or a list (default: embed 5,10,20,50,100,200; npmi 5-20)")
    p.add_argument("--min-count", type=int, default=10, help="leave out tags on fewer items (default 10)")
    p.add_argument("--core", type=Path, default=None, help="file of core tags, one per line: keep only clusters holding one")
    p.add_argument("--merge-m", type=float, default=None, help="merge m-correlated clusters (thesis: 1.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path, help="output TSV")
    p.set_defaults(func=run_clusters)


def run_clusters(args: argparse.Namespace) -> int:
    from .data.tagging import read_assignments
    from .data.textfile import iter_lines
    from .tagclusters import cluster_tags

    inputs = [input_file(args.assignments, "--assignments"), input_file(args.vectors, "--vectors"), input_file(args.core, "--core")]
    if args.method == "embed" and not args.cooccurrence and not args.vectors:
        inputs.append(check_encoder(args.encoder or DEFAULT_ENCODER))
    check_output_file(args.out, kind="clusters", inputs=inputs, option="--out")
    at_least(args.min_count, 1, "--min-count")
    for k in args.k or ():
        at_least(k, 1, "--k")
    if args.merge_m is not None and args.merge_m <= 0:
        raise UsageError("--merge-m", f"must be above 0 (got {args.merge_m:g}; the thesis uses 1.5)")
    assignments = read_assignments(args.assignments, item_col=args.item_col, tag_col=args.tag_col)
    encoder = None
    if args.method == "embed" and not args.cooccurrence:
        from .embed import StaticEncoder, get_encoder

        encoder = StaticEncoder.from_word2vec_text(args.vectors) if args.vectors else get_encoder(args.encoder or DEFAULT_ENCODER, progress=True)
    core = [line.strip() for _, line in iter_lines(args.core)] if args.core else None
    result = cluster_tags(
        assignments, method=args.method, encoder=encoder, cooccurrence_vectors=args.cooccurrence, algorithm=args.algorithm, k=args.k,
        min_count=args.min_count, core_tags=core, merge_m=args.merge_m, seed=args.seed,
    )
    write_output_file(args.out, result.table.to_csv(sep="\t", index=False, float_format="%.4f"), kind="clusters")
    n_clusters = result.table["cluster"].nunique()
    print(
        f"labkit clusters: {len(result.table)} of {result.n_tags_counted} tags with >= {args.min_count} items in "
        f"{n_clusters} clusters (method {args.method}, k = {result.k}) written to {args.out}",
        file=sys.stderr,
    )
    if result.unknown:
        print(f"labkit clusters: {len(result.unknown)} tag(s) had no known word and were left out (first: {result.unknown[0]!r})", file=sys.stderr)
    if result.merged:
        print(f"labkit clusters: merged {len(result.merged)} pair(s) of m-correlated clusters", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- propagate
def _add_propagate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "propagate",
        help="pass tags between songs that sit near each other in playlists (seed 001)",
        description="Compute P(s'|s) from the playlists (Eq. 2 and 4 with search range r) and write, for every "
        "song-tag pair not already in the tags file, the propagated score sum_s' P(s'|s) y_s't where it is above "
        "zero. Yes.com format: --playlists train.txt, --tags tags.txt (line i: tag ids of song i, '#' for none); "
        "output columns song (row index), tag (tag id), score. AotM format: --playlists the AotM-2011 JSON, --tags "
        "a TSV with a header and columns item (MSD track id, or 'artist - title') and tag; output song is that key.",
    )
    p.add_argument("--playlists", required=True, type=Path)
    p.add_argument("--tags", required=True, type=Path)
    p.add_argument("--format", required=True, choices=["yes", "aotm"])
    p.add_argument("--r", type=float, default=0.4, help="search range: probability of walking one song further (default 0.4)")
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=run_propagate)


def run_propagate(args: argparse.Namespace) -> int:
    import numpy as np

    from .propagation.transitions import assignments_matrix, links_table, new_links, propagated_scores, tag_matrix, transition_matrix

    inputs = [input_file(args.playlists, "--playlists"), input_file(args.tags, "--tags")]
    check_output_file(args.out, kind="links", inputs=inputs, option="--out")
    if not 0 < args.r < 1:
        raise UsageError("--r", f"must lie strictly between 0 and 1 (got {args.r:g})")
    if args.format == "yes":
        from .data.playlists import read_yes_playlists, read_yes_tags

        playlists, _ = read_yes_playlists(args.playlists)
        song_tags, tag_ids = tag_matrix(read_yes_tags(args.tags, playlists.n_songs))
        song_names, tag_names = np.arange(playlists.n_songs), tag_ids
    else:
        from .data.playlists import read_aotm_json
        from .data.tagging import read_assignments

        playlists = read_aotm_json(args.playlists)
        try:
            song_tags, tags = assignments_matrix(playlists, read_assignments(args.tags))
        except ValueError as err:
            raise DataFormatError(args.tags, f"{err} ({args.playlists})") from None
        song_names, tag_names = np.array(playlists.song_keys, dtype=object), np.array(tags, dtype=object)
    scores = propagated_scores(transition_matrix(playlists, args.r), song_tags)
    table = links_table(new_links(scores, song_tags), song_names, tag_names)
    write_output_file(args.out, table.to_csv(sep="\t", index=False, float_format="%.6g"), kind="links")
    print(f"labkit propagate: {len(table)} new song-tag links (r = {args.r}) over {playlists.n_songs} songs and "
          f"{len(playlists)} playlists written to {args.out}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- xmc
def _add_xmc(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "xmc",
        help="extreme multi-label text classification: GUDN (seed 003), the MLC, XR-Linear, PLT and the hybrids",
        description="Learn TRAIN (JSONL: comments are the text, labels the classes) and write for each item of IN its "
        "labels ranked best first with scores (the top 10 by default), in the format `labkit eval` reads. Methods: gudn "
        "(fine-tuned transformer with the guide network and label reinforcement), mlc (the same encoder, a plain "
        "multi-label head), xr-linear (TF-IDF 1-2-grams, PECOS XR-Linear), plt (TF-IDF, napkinXC's probabilistic label "
        "tree), gudn-join (GUDN's text features joined with TF-IDF in XR-Linear) and gudn-rerank (XR-Linear's shortlist "
        "re-scored with GUDN's probabilities).",
    )
    p.add_argument("--method", default="gudn", choices=[*XMC_NEURAL, *XMC_LINEAR, *XMC_HYBRID])
    p.add_argument("--train", required=True, type=Path)
    p.add_argument("--predict", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help="Hugging Face model name or path (neural and hybrid methods)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--max-length", type=int, default=128, help="tokens per text (and per label sequence unless --label-length)")
    p.add_argument("--label-length", type=int, default=None,
                   help="GUDN: tokens of the reinforced label sequence (default: --max-length, as the paper)")
    p.add_argument("--top-k", type=int, default=10, help="labels written per item (default 10)")
    p.add_argument("--label-clusters", type=int, default=0, help="dynamic negative sampling over this many label clusters (0: off)")
    p.add_argument("--weight", type=float, default=None,
                   help="hybrids: weight of GUDN's features (gudn-join, default 0.25) or probabilities (gudn-rerank, in [0, 1], default 0.05)")
    p.add_argument("--shortlist", type=int, default=50, help="gudn-rerank: XR-Linear's labels re-scored per item (default 50)")
    p.add_argument("--fusion", default=None, choices=["score", "product", "rank"],
                   help="gudn-rerank: how XR-Linear's score and GUDN's probability combine (labkit.gudn.hybrid; default product)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=run_xmc)


XMC_NEURAL = ("gudn", "mlc")
XMC_LINEAR = ("xr-linear", "plt")
XMC_HYBRID = ("gudn-join", "gudn-rerank")


def run_xmc(args: argparse.Namespace) -> int:
    from .data.jsonl import Prediction, write_predictions

    inputs = [input_file(args.train, "--train"), input_file(args.predict, "--predict")]
    if args.method not in XMC_LINEAR:
        inputs.append(check_encoder(args.encoder))
    check_output_file(args.out, kind="predictions", inputs=inputs, option="--out")
    at_least(args.epochs, 1, "--epochs")
    at_least(args.max_length, 8, "--max-length")
    at_least(args.label_length, 2, "--label-length")
    at_least(args.top_k, 1, "--top-k")
    at_least(args.label_clusters, 0, "--label-clusters")
    at_least(args.shortlist, 1, "--shortlist")
    if args.weight is not None:
        if args.method not in XMC_HYBRID:
            raise UsageError("--weight", f"only the hybrids ({', '.join(XMC_HYBRID)}) take a weight, not {args.method}")
        if not (args.weight >= 0 and (args.method == "gudn-join" or args.weight <= 1)):
            raise UsageError("--weight", f"must be in [0, 1] for gudn-rerank and at least 0 for gudn-join (got {args.weight})")
    if args.fusion is not None and args.method != "gudn-rerank":
        raise UsageError("--fusion", f"only gudn-rerank fuses scores, not {args.method}")
    check_device(args.device)
    train = read_jsonl_corpus(args.train, require_labels=True)
    predict = read_jsonl_corpus(args.predict)
    n_labels = len({label for labels in train.label_sets for label in labels})
    if args.label_clusters > n_labels:
        raise UsageError("--label-clusters", f"{args.label_clusters} clusters for the {n_labels} labels of {args.train}: "
                         "use at most one cluster per label (0: off)")
    texts, label_sets = [" ".join(c) for c in train.comments], train.label_sets
    clock = time.perf_counter()
    if args.method in XMC_LINEAR:
        from .gudn.peers import LinearXMC

        model = LinearXMC(args.method, seed=args.seed).fit(texts, label_sets)
        how = f"trained in {model.fit_seconds:.1f} s"
    else:
        from .gudn import training
        from .gudn.training import XMCConfig

        config = XMCConfig(method="gudn" if args.method in XMC_HYBRID else args.method, encoder=args.encoder, epochs=args.epochs,
                           max_length=args.max_length, label_length=args.label_length, label_clusters=args.label_clusters,
                           seed=args.seed, device=args.device)
        if args.method in XMC_HYBRID:
            from .gudn.hybrid import DEFAULT_FUSION, HybridXMC

            hybrid = HybridXMC(args.method, config=config, weight=args.weight, shortlist=args.shortlist, fusion=args.fusion or DEFAULT_FUSION)
            model = hybrid.fit(texts, label_sets, gudn=training.train_xmc(texts, label_sets, config))
            epochs = model.gudn.epoch_seconds
        else:
            model = training.train_xmc(texts, label_sets, config)
            epochs = model.epoch_seconds
        how = f"epochs of {', '.join(f'{s:.0f}' for s in epochs)} s, {time.perf_counter() - clock:.0f} s in all"
    ranked = model.predict([" ".join(c) for c in predict.comments], top_k=args.top_k)
    write_predictions([Prediction(i, tuple(labels), tuple(scores)) for i, (labels, scores) in zip(predict.ids, ranked)], args.out)
    print(f"labkit xmc: {args.method}, {len(model.labels)} labels, {how}; top {args.top_k} labels of "
          f"{len(predict)} items written to {args.out}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- tag (audio)
def _add_tag(sub: argparse._SubParsersAction) -> None:
    from .audio.musicnn import PRETRAINED

    p = sub.add_parser(
        "tag",
        help="tag audio files with a pretrained musicnn tagger (MagnaTagATune or Million Song Dataset tags)",
        description="Tag each audio file (any format librosa reads; a folder gives its audio files) with one of musicnn's "
        "pretrained models, converted to torch from the installed musicnn package (pip install --no-deps musicnn==0.1.0; "
        "no TensorFlow). A file is cut into 3-s patches, its tag probabilities are the mean over them; OUT gets its top "
        "tags (columns file, rank, tag, score), --embeddings the mean penultimate-layer vector of each tagged file (rows "
        "in OUT's order). A file that cannot be decoded is named and skipped.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_FOLDER")
    p.add_argument("--model", default="musicnn-mtt", choices=list(PRETRAINED))
    p.add_argument("--top-k", type=int, default=5, help="tags written per file (default 5)")
    p.add_argument("--out", required=True, type=Path, metavar="TAGS.tsv")
    p.add_argument("--embeddings", type=Path, default=None, metavar="OUT.npy", help="also write the files' embeddings (float32, files x d)")
    p.add_argument("--patch-hop", type=int, default=None, metavar="FRAMES",
                   help="start a patch every FRAMES frames of 16 ms (default 187: no overlap, as musicnn)")
    p.add_argument("--batch-size", type=int, default=64, help="patches per forward pass (default 64)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--cache", type=Path, default=None, metavar="DIR", help="where converted weights are kept (default $LABKIT_CACHE or ~/.cache/labkit)")
    p.set_defaults(func=run_tag)


def _audio_inputs(paths: Sequence[Path]) -> list[Path]:
    """The files named, with each folder replaced by its audio files (sorted, not recursive)."""
    from .audio import list_clips

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = list_clips(path)
            if not found:
                raise UsageError("FILE_OR_FOLDER", f"{path} holds no audio files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError("FILE_OR_FOLDER", f"{path}: no such file or folder")
    return files


def _check_embeddings_output(path: Path, inputs: Sequence[Path]) -> None:
    """--embeddings may replace only an earlier embeddings file: a 2-D float32 .npy."""
    from .errors import OutputError
    from .outputs import check_inputs_apart

    check_inputs_apart(path, inputs, "--embeddings")
    if path.is_dir():
        raise OutputError(f"--embeddings {path} is a folder; give a file name")
    if path.exists() and path.stat().st_size:
        import numpy as np

        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(handle)
            ours = len(shape) == 2 and not fortran and dtype == np.float32
        except (ValueError, OSError):
            ours = False
        if not ours:
            raise OutputError(f"--embeddings {path} exists and is not an embeddings file labkit writes (2-D float32 .npy): "
                              "labkit replaces only its own outputs; move it away or choose another name")


def run_tag(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm.auto import tqdm

    from .audio import load_audio
    from .audio.musicnn import SR, package_dir, pretrained_tagger, tag_waves
    from .embed.transformer import pick_device
    from .outputs import atomic_write_bytes

    at_least(args.top_k, 1, "--top-k")
    at_least(args.patch_hop, 1, "--patch-hop")
    at_least(args.batch_size, 1, "--batch-size")
    files = _audio_inputs(args.inputs)
    check_output_file(args.out, kind="audio-tags", inputs=files, option="--out")
    if args.embeddings is not None:
        _check_embeddings_output(args.embeddings, [*files, args.out])
    check_device(args.device)
    try:
        package_dir()
    except FileNotFoundError as err:
        raise UsageError("--model", str(err)) from None
    device = pick_device(args.device)
    model = pretrained_tagger(args.model, cache_dir=args.cache, device=device)
    rows, embeddings, skipped = ["file\trank\ttag\tscore"], [], []
    for path in tqdm(files, desc=f"tagging with {args.model}", unit="file"):
        try:
            wave = load_audio(path, sr=SR)
        except DataFormatError as err:
            skipped.append(path)
            tqdm.write(f"labkit tag: skipped {err}", file=sys.stderr)
            continue
        tagging = tag_waves(model, [wave], patch_hop=args.patch_hop, batch_size=args.batch_size, device=device)[0]
        for rank, (tag, score) in enumerate(tagging.top(model.tags, args.top_k), start=1):
            rows.append(f"{path}\t{rank}\t{tag}\t{score:.4f}")
        embeddings.append(tagging.embedding)
    if not embeddings:
        raise DataFormatError(files[0] if len(files) == 1 else None, f"none of the {len(files)} file(s) could be decoded; nothing written")
    write_output_file(args.out, "\n".join(rows) + "\n", kind="audio-tags", option="--out")
    if args.embeddings is not None:
        import io

        buffer = io.BytesIO()
        np.save(buffer, np.stack(embeddings).astype(np.float32))
        atomic_write_bytes(args.embeddings, buffer.getvalue())
    note = f", {len(skipped)} skipped (not decodable)" if skipped else ""
    extra = f", embeddings ({len(embeddings)} x {len(embeddings[0])}) to {args.embeddings}" if args.embeddings is not None else ""
    print(f"labkit tag: {len(embeddings)} file(s) tagged with {args.model}{note}; top {args.top_k} tags written to {args.out}{extra}",
          file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- export
def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export the classifier of a DiVa run directory or harvester (safetensors + config.json, optionally ONNX)",
        description="Write the pair classifier of the last complete round of a `labkit diva --run-dir` folder "
        "(its best round's weights), or of a harvester folder, to OUT as model.safetensors + config.json, loadable with "
        "labkit.io.from_pretrained; --onnx adds model.onnx, checked against PyTorch with onnxruntime. The graph "
        "scores (item vector, phrase vector, pair features) rows; candidate extraction, the encoder and the pair "
        "features run outside it (see the README).",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", type=Path, help="a `labkit diva --run-dir` folder")
    source.add_argument("--harvester", type=Path, metavar="DIR", help="a harvester folder (`labkit diva --save-model`)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--onnx", action="store_true")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from .diva.rundir import check_export, export_harvester, export_run

    if args.harvester is not None:
        input_folder(args.harvester, "--harvester")
        check_output_folder(args.out, kind="model", inputs=[args.harvester], option="--out")
        out = export_harvester(args.harvester, args.out, onnx=args.onnx)
    else:
        check_export(args.run_dir, args.out)
        out = export_run(args.run_dir, args.out, onnx=args.onnx)
    source = args.harvester if args.harvester is not None else args.run_dir
    print(f"exported {source} to {out}: " + ", ".join(sorted(p.name for p in out.iterdir())), file=sys.stderr)
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
    p.add_argument("--encoder", default="auto",
                   help="Hugging Face model name or path, fasttext/word2vec (trained on the comments), or auto (default: by language)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from .diva.demo import DEMO_METHODS, run_comparison
    from .diva.harvest import METHODS

    folder = input_folder(args.data, "--data") if args.data is not None else sample_data_dir()
    if args.methods is None:
        methods = DEMO_METHODS
    else:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        if not methods:
            raise UsageError("--methods", f"names no method: give a comma-separated list of {', '.join(METHODS)}")
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise UsageError("--methods", f"unknown method {unknown[0]!r}: choose from {', '.join(METHODS)}")
    check_device(args.device)
    check_harvest_encoder(args.encoder)
    print(run_comparison(folder, methods=methods, encoder=args.encoder, seed=args.seed, device=args.device))
    return 0


# ----------------------------------------------------------------------------- synth
MIN_SYNTH_SONGS = 20  # fewer leave the test part or the gold vocabulary empty
def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write the synthetic teaching corpus (the bundled sample is its default output)",
    )
    p.add_argument("--out", type=Path, default=None, help="folder to write (default: data/synthetic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--songs", type=int, default=480, help=f"songs to generate (at least {MIN_SYNTH_SONGS}; default 480)")
    p.add_argument("--items", type=int, default=None, metavar="N",
                   help="instead of the corpus folder, write N items (id, comments, gold labels) to --out, a .jsonl or .parquet "
                   "file, generated and written a chunk at a time (for labelling and training at scale)")
    p.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    from .data.synthetic import write_synthetic_corpus

    if args.items is not None:
        return _synth_items(args)
    at_least(args.songs, MIN_SYNTH_SONGS, "--songs")
    out = args.out or sample_data_dir()
    check_output_folder(out, kind="synthetic-corpus", option="--out")
    folder = write_synthetic_corpus(out, seed=args.seed, n_songs=args.songs)
    print(f"wrote the synthetic corpus (seed {args.seed}, {args.songs} songs) to {folder}")
    return 0


def _synth_items(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .data.itemfiles import write_items
    from .data.synthetic import iter_synthetic_items

    at_least(args.items, 1, "--items")
    if args.out is None:
        raise UsageError("--out", "is needed with --items: the .jsonl or .parquet file to write")
    if args.out.suffix.lower() not in (".jsonl", ".parquet"):
        raise UsageError("--out", f"with --items is a .jsonl or .parquet file, not {args.out.name!r}")
    items = tqdm(iter_synthetic_items(args.items, seed=args.seed), total=args.items, desc="synth", unit="item", mininterval=2)
    n = write_items(items, args.out)
    print(f"wrote {n} synthetic items (seed {args.seed}) to {args.out}")
    return 0


COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "eval": _add_eval,
    "diva": _add_diva,
    "label": _add_label,
    "clusters": _add_clusters,
    "propagate": _add_propagate,
    "xmc": _add_xmc,
    "tag": _add_tag,
    "export": _add_export,
    "demo": _add_demo,
    "synth": _add_synth,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit", description="labkit: harvest, score and explore music labels. A mistake in what you give "
        "(a file, a record, an option) ends with one line naming it and exit status 2; --debug (or LABKIT_DEBUG=1) "
        "shows the traceback as well.",
    )
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error, not only its line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. User errors (bad input, options, outputs, files) print one line and return
    2; anything else is a bug in the kit and keeps its traceback."""
    import os

    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("LABKIT_DEBUG", "") not in ("", "0")
    try:
        return args.func(args)
    except (*USER_ERRORS, OSError, ValueError) as err:
        if debug:
            raise
        message = str(err) if not isinstance(err, OSError) or not err.filename else f"{err.filename}: {err.strerror or err}"
        print(f"labkit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"labkit {args.command}: stopped (nothing half-written is left behind)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
