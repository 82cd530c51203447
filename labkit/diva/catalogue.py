"""Labelling a whole catalogue with a saved harvester, on this machine or on a Ray cluster.

The input is an item file (JSONL or Parquet) or a folder of them (shards, read in name order); the
output is one prediction file, or, for a folder, a folder holding one prediction file per shard
(``<shard name>.jsonl``). Items are read, labelled and written a batch at a time, so memory holds
the harvester and a batch however large the catalogue; outputs appear only when every item is
labelled. Each item's labels depend on its own comments alone, so both engines write the same bytes.

- ``engine="local"``: one process (:meth:`Harvester.label` over :func:`stream_items`).
- ``engine="ray"``: Ray Data reads the shards (``read_text`` / ``read_parquet``) and runs
  ``map_batches`` with ``workers`` actors that load the harvester once each (a GPU each with
  ``gpus_per_worker``); the driver writes the lines in input order. Without ``address`` a local
  Ray cluster of ``workers`` + 1 CPUs is started for the run; with it (``auto`` or ``ray://host:10001``)
  the run joins that cluster (each actor takes one CPU; leave one for the read tasks), whose nodes must see the harvester folder and the inputs at the
  same paths (a shared file system) and have labkit installed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.errors import DataFormatError
from ..data.itemfiles import is_parquet, item_shards, parquet_item, stream_items
from ..data.jsonl import prediction_line
from ..outputs import streamed_output_file, write_folder
from ..timing import add_seconds as _add_seconds
from ..timing import section

if TYPE_CHECKING:
    from .harvester import Harvester

ENGINES = ("local", "ray")
SHARDS_KIND = "prediction-shards"


@dataclass(frozen=True)
class LabelSettings:
    """How to load the harvester and rank its labels (the options of ``labkit label``)."""

    model: str
    threshold: float | None = None
    top_k: int | None = None
    batch_size: int = 256
    encoder: str | None = None
    allow_other_version: bool = False
    device: str = "cpu"

    def load(self) -> Harvester:
        """The harvester, loaded and checked (:meth:`Harvester.from_pretrained`)."""
        from .harvester import Harvester

        return Harvester.from_pretrained(self.model, encoder=self.encoder, device=self.device,
                                         allow_other_version=self.allow_other_version)


def check_shards(shards: Sequence[Path], engine: str) -> None:
    """Refuse, before any work, shards whose prediction files would share a name (``a.jsonl`` and
    ``a.parquet``), and (the ray engine) a folder mixing JSONL and Parquet shards."""
    by_name: dict[str, Path] = {}
    for shard in shards:
        other = by_name.setdefault(shard_output_name(shard), shard)
        if other != shard:
            raise DataFormatError(shard.parent, f"{other.name} and {shard.name} would both write {shard_output_name(shard)}: rename one")
    if engine == "ray" and len({is_parquet(s) for s in shards}) > 1:
        raise DataFormatError(shards[0].parent, "holds both .jsonl and .parquet shards: the ray engine reads one kind at a time")


def shard_output_name(shard: Path) -> str:
    """The prediction file of a shard in an output folder: its name with the suffix .jsonl."""
    return f"{shard.stem}.jsonl"


# ----------------------------------------------------------------------------- engines
def local_lines(harvester: Harvester, shards: Sequence[Path], settings: LabelSettings, *, progress: bool = False,
                total: int | None = None) -> Iterator[tuple[int, str]]:
    """(shard index, prediction line) for every item of ``shards``, in input order, labelled in
    this process ``settings.batch_size`` items at a time."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="labelling", unit="item", disable=not progress, mininterval=1)
    try:
        for k, shard in enumerate(shards):
            for prediction in harvester.label(stream_items(shard), threshold=settings.threshold, top_k=settings.top_k,
                                              batch_size=settings.batch_size):
                bar.update()
                yield k, prediction_line(prediction)
    finally:
        bar.close()


class _RayLabeller:
    """A Ray Data actor: loads the harvester once, then labels batches of input rows into
    prediction lines (rows {"path", "line"})."""

    def __init__(self, settings: LabelSettings, parquet: bool) -> None:
        self.settings = settings
        self.parquet = parquet
        self.harvester = settings.load()

    def __call__(self, batch: dict) -> dict:
        """Rows {"path", "line", "error"}: a prediction line per item, or one row whose "error"
        describes the input problem (JSON: path, reason, record), which the driver raises."""
        paths = [str(p) for p in batch["path"]]
        items, item_paths = [], []
        try:
            if self.parquet:
                for path, item_id, comments in zip(paths, batch["id"], batch["comments"]):
                    items.append(parquet_item(path, item_id if isinstance(item_id, str) and item_id else None, item_id, comments))
                    item_paths.append(path)
            else:
                for path, text in zip(paths, batch["text"]):
                    if text.strip():
                        items.append(_jsonl_item(path, text))
                        item_paths.append(path)
        except DataFormatError as err:  # returned, not raised: Ray would bury it in its own exception
            problem = {"path": err.path, "reason": err.reason, "record": err.record}
            return {"path": [err.path or ""], "line": [""], "error": [json.dumps(problem)]}
        predictions = self.harvester.label(items, threshold=self.settings.threshold, top_k=self.settings.top_k,
                                           batch_size=self.settings.batch_size)
        lines = [prediction_line(p) for p in predictions]
        return {"path": item_paths, "line": lines, "error": [""] * len(lines)}


def _jsonl_item(path: str, text: str):
    """One JSONL record as an item (Ray reads lines without their numbers: problems name the record)."""
    from ..data.jsonl import item_from_line

    try:
        return item_from_line(path, text)
    except DataFormatError as err:
        raise DataFormatError(path, err.reason, record=text.strip()[:40]) from None


def ray_lines(shards: Sequence[Path], settings: LabelSettings, *, workers: int = 2, address: str | None = None,
              gpus_per_worker: float = 0.0, progress: bool = False, total: int | None = None) -> Iterator[tuple[int, str]]:
    """(shard index, prediction line) for every item of ``shards``, in input order, labelled by
    ``workers`` Ray Data actors (see the module docstring)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import logging

    import pyarrow.fs
    import ray

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    from tqdm.auto import tqdm

    check_shards(shards, "ray")
    parquet = is_parquet(shards[0])
    started = False
    clock = time.perf_counter()
    if not ray.is_initialized():
        if address is None:
            # one CPU per actor and one for the read tasks (actors holding every CPU would starve the reads)
            ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        started = True
    _add_seconds("ray start", time.perf_counter() - clock)
    index = {str(s.resolve()): k for k, s in enumerate(shards)}
    paths = list(index)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    blocks = max(4 * workers, len(paths))
    files = pyarrow.fs.LocalFileSystem()  # the paths are this machine's (a cluster's nodes share them)
    if parquet:
        data = ray.data.read_parquet(paths, columns=["id", "comments"], include_paths=True, override_num_blocks=blocks, filesystem=files)
    else:
        data = ray.data.read_text(paths, include_paths=True, override_num_blocks=blocks, filesystem=files)
    settings = LabelSettings(**{**settings.__dict__, "device": "cuda" if gpus_per_worker > 0 else "cpu"})
    labelled = data.map_batches(_RayLabeller, fn_constructor_args=(settings, parquet), batch_size=settings.batch_size,
                                batch_format="numpy", concurrency=workers, num_cpus=1, num_gpus=gpus_per_worker or None)
    bar = tqdm(total=total, desc="labelling (ray)", unit="item", disable=not progress, mininterval=1)
    clock, first = time.perf_counter(), True
    try:
        for batch in labelled.iter_batches(batch_size=None, batch_format="numpy"):
            if first:  # the actors' start and harvester loading, and the pipeline filling
                _add_seconds("ray first batch", time.perf_counter() - clock)
                first = False
            for path, line, error in zip(batch["path"], batch["line"], batch["error"]):
                if error:
                    problem = json.loads(str(error))
                    raise DataFormatError(problem["path"], problem["reason"], record=problem["record"])
                yield index[str(path)], str(line)
            bar.update(len(batch["line"]))
    finally:
        bar.close()
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------- writing
def write_lines(lines: Iterable[tuple[int, str]], shards: Sequence[Path], out: str | Path, *, folder: bool) -> int:
    """Write the (shard index, line) pairs to ``out``: one prediction file, or (``folder``) a
    labkit folder with one prediction file per shard; returns the number of lines. Nothing
    appears at ``out`` unless every line is written."""
    n = 0
    if not folder:
        with streamed_output_file(out, kind="predictions") as handle:
            for _, line in lines:
                with section("writing"):
                    handle.write(line + "\n")
                n += 1
        return n

    def write(tmp: Path) -> None:
        nonlocal n
        handles: dict[int, object] = {}
        try:
            for k, line in lines:
                with section("writing"):
                    if k not in handles:
                        handles[k] = open(tmp / shard_output_name(shards[k]), "w", encoding="utf-8", newline="\n")
                    handles[k].write(line + "\n")
                n += 1
            for k, shard in enumerate(shards):  # a shard without items gets an empty file
                if k not in handles:
                    handles[k] = open(tmp / shard_output_name(shard), "w", encoding="utf-8")
        finally:
            for handle in handles.values():
                handle.close()

    write_folder(out, write, kind=SHARDS_KIND, option="--out")
    return n


def label_catalogue(settings: LabelSettings, input_path: str | Path, out: str | Path, *, engine: str = "local",
                    workers: int = 2, address: str | None = None, gpus_per_worker: float = 0.0, progress: bool = False,
                    harvester: Harvester | None = None) -> tuple[int, float]:
    """Label every item of ``input_path`` (a file or a folder of shards) into ``out`` (a file,
    or a folder for a folder) with ``engine``; returns (items labelled, the threshold used).
    The harvester is loaded here for either engine, so a folder that does not load fails in one
    line before any Ray actor starts."""
    from ..data.itemfiles import count_items

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    shards = item_shards(input_path)
    check_shards(shards, engine)
    harvester = harvester if harvester is not None else settings.load()
    threshold = harvester.config.predict_threshold if settings.threshold is None else settings.threshold
    total = count_items(input_path) if progress else None
    if engine == "local":
        lines = local_lines(harvester, shards, settings, progress=progress, total=total)
    else:
        del harvester  # each actor loads its own
        lines = ray_lines(shards, settings, workers=workers, address=address, gpus_per_worker=gpus_per_worker,
                          progress=progress, total=total)
    return write_lines(lines, shards, out, folder=Path(input_path).is_dir()), threshold
