"""Item files at catalogue scale: JSONL or Parquet, one file or a folder of shards, read a batch at
a time and written as they are produced, so memory holds a batch, never the catalogue.

JSONL: the corpus format of :mod:`labkit.data.jsonl`. Parquet: columns ``id`` (string),
``comments`` (list of strings) and, optionally, ``labels`` (list of strings); other columns are
ignored. A folder is read as its ``*.jsonl`` and ``*.parquet`` files in name order (its shards).
Besides the batch, readers keep the ids seen in the current file (to refuse duplicates): about
100 bytes an item, 0.1 GB for a million-item shard.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..outputs import register_path_kind, streamed_output_file
from .corpus import Item
from .errors import DataFormatError
from .jsonl import corpus_line, stream_jsonl_items

ITEM_SUFFIXES = (".jsonl", ".parquet")
PARQUET_BATCH = 4096  # rows read from a Parquet file at once
PARQUET_ROW_GROUP = 50_000  # rows per row group written


def is_parquet(path: str | Path) -> bool:
    """Whether ``path`` is read as Parquet (its suffix is .parquet)."""
    return Path(path).suffix.lower() == ".parquet"


def item_shards(path: str | Path) -> list[Path]:
    """The files ``path`` stands for: itself (a file; read as Parquet when it ends in .parquet,
    else as JSONL), or a folder's .jsonl and .parquet files in name order."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    shards = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in ITEM_SUFFIXES and not p.name.startswith("."))
    if not shards:
        raise DataFormatError(path, "the folder holds no .jsonl or .parquet item files")
    return shards


def _parquet_file(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .textfile import require_file

    path = require_file(path)
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise DataFormatError(path, f"not a Parquet file ({err})") from None
    names = set(handle.schema_arrow.names)
    for column in ("id", "comments"):
        if column not in names:
            raise DataFormatError(path, f"no {column!r} column (it has {', '.join(sorted(names)) or 'none'})")
    return handle


def count_items(path: str | Path) -> int:
    """The items of an item file or folder, counted without parsing them (non-blank JSONL lines,
    Parquet row counts from the file footers)."""
    total = 0
    for shard in item_shards(path):
        if is_parquet(shard):
            total += _parquet_file(shard).metadata.num_rows
        else:
            with open(shard, "rb") as handle:
                total += sum(bool(line.strip()) for line in handle)
    return total


def _strings(path: Path, record: str | None, key: str, value: object) -> tuple[str, ...]:
    if value is not None and not isinstance(value, (str, list)) and hasattr(value, "__iter__"):
        value = list(value)  # an array (Ray hands Parquet lists over as numpy arrays)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataFormatError(path, f"column {key!r} must hold a list of strings, found {value!r:.60}", record=record)
    return tuple(value)


def parquet_item(path: str | Path, record: str | None, item_id: object, comments: object, labels: object = None) -> Item:
    """One Parquet row's values as an item, checked as a JSONL record is (a non-empty string id,
    comments a list of strings, labels one or missing); problems name ``path`` and ``record``."""
    path = Path(path)
    if not isinstance(item_id, str) or not item_id:
        raise DataFormatError(path, f"column 'id' must be a non-empty string, found {item_id!r}", record=record)
    labels = None if labels is None else tuple(dict.fromkeys(_strings(path, record, "labels", labels)))
    return Item(item_id, _strings(path, record, "comments", comments), labels)


def stream_parquet_items(path: str | Path, *, batch_rows: int = PARQUET_BATCH) -> Iterator[Item]:
    """The items of a Parquet file, ``batch_rows`` rows read at a time, checked as JSONL items are
    (:func:`parquet_item`, and ids unique in the file): a problem raises :class:`DataFormatError`
    naming the file and the row (counted from 1)."""
    path = Path(path)
    handle = _parquet_file(path)
    columns = [c for c in ("id", "comments", "labels") if c in handle.schema_arrow.names]
    seen: dict[str, int] = {}
    row = 0
    for batch in handle.iter_batches(batch_size=batch_rows, columns=columns):
        values = {name: batch.column(name).to_pylist() for name in columns}
        labels = values.get("labels", [None] * len(values["id"]))
        for item_id, comments, item_labels in zip(values["id"], values["comments"], labels):
            row += 1
            item = parquet_item(path, f"row {row}", item_id, comments, item_labels)
            if item.id in seen:
                raise DataFormatError(path, f"duplicate id {item.id!r} (first in row {seen[item.id]})", record=f"row {row}")
            seen[item.id] = row
            yield item


def stream_items(path: str | Path) -> Iterator[Item]:
    """The items of one item file (JSONL or Parquet, by its suffix), a line or a batch at a time."""
    return stream_parquet_items(path) if is_parquet(path) else stream_jsonl_items(path)


# ----------------------------------------------------------------------------- writing
def _is_parquet_corpus(path: Path) -> bool:
    """Whether ``path`` is a Parquet file with the item columns and no others (an item file the kit
    could have written, and so may replace)."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PAR1":
                return False
        import pyarrow.parquet as pq

        return {"id", "comments"} <= set(pq.ParquetFile(path).schema_arrow.names) <= {"id", "comments", "labels"}
    except Exception:  # noqa: BLE001 - anything unreadable is not ours to replace
        return False


register_path_kind("parquet-corpus", _is_parquet_corpus)


def write_items(items: Iterable[Item], path: str | Path, *, option: str = "--out") -> int:
    """Write ``items`` to ``path`` (JSONL, or Parquet when it ends in .parquet) as they come, through
    a temporary file renamed into place at the end; an existing ``path`` is replaced only when it
    is an item file the kit could have written. Returns the number of items written."""
    path = Path(path)
    n = 0
    if not is_parquet(path):
        with streamed_output_file(path, kind="jsonl-corpus", option=option) as out:
            for item in items:
                out.write(corpus_line(item) + "\n")
                n += 1
        return n
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("comments", pa.list_(pa.string())), ("labels", pa.list_(pa.string()))])
    with streamed_output_file(path, kind="parquet-corpus", option=option, binary=True) as out:
        writer = pq.ParquetWriter(out, schema)
        rows: list[Item] = []

        def flush() -> None:
            writer.write_table(pa.table({"id": [i.id for i in rows], "comments": [list(i.comments) for i in rows],
                                         "labels": [None if i.labels is None else list(i.labels) for i in rows]}, schema=schema))
            rows.clear()

        for item in items:
            rows.append(item)
            n += 1
            if len(rows) == PARQUET_ROW_GROUP:
                flush()
        if rows:
            flush()
        writer.close()
    return n
