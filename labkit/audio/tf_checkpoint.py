"""A reader of TensorFlow's checkpoint format (tensor bundle V2), so that trained TF weights load
without TensorFlow.

A checkpoint ``PREFIX`` is two kinds of file:

- ``PREFIX.index``: a sorted string table (the LevelDB "SSTable" layout): data blocks of
  prefix-compressed (key, value) entries with restart points, an index block pointing at them, and
  a 48-byte footer (two block handles and a magic number). Every block ends with a compression byte
  and a masked CRC-32C. The key ``""`` holds a ``BundleHeaderProto`` (shard count, byte order);
  every other key is a tensor name whose value is a ``BundleEntryProto`` (dtype, shape, shard,
  offset, size, masked CRC-32C of the bytes).
- ``PREFIX.data-SSSSS-of-NNNNN``: the tensors' raw bytes, one shard after another.

The protocol buffers are decoded here by hand (a few varint fields); nothing in a checkpoint is
executed. Every inconsistency (truncation, a bad checksum, an entry outside its shard) raises
:class:`~labkit.errors.DataFormatError` naming the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
BLOCK_TRAILER_BYTES = 5  # compression type (1 byte) + masked crc32c (4 bytes)

# tensorflow/core/framework/types.proto: the numeric dtypes a checkpoint of weights holds
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 9: np.int64,
          10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64}
DTYPE_NAMES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 9: "int64",
               10: "bool", 14: "bfloat16", 17: "uint16", 19: "float16", 22: "uint32", 23: "uint64"}


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor of a checkpoint is: its dtype code and name, shape, shard, byte range, crc."""

    name: str
    dtype_code: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int | None

    @property
    def dtype(self) -> str:
        return DTYPE_NAMES.get(self.dtype_code, f"dtype {self.dtype_code}")


# ----------------------------------------------------------------------------- checksums
def masked_crc32c(data: bytes) -> int:
    """CRC-32C of ``data``, masked as LevelDB and TensorFlow store it (rotate right 15, add a constant)."""
    import google_crc32c

    crc = google_crc32c.value(bytes(data))
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ----------------------------------------------------------------------------- protocol buffer fields
class _Truncated(Exception):
    pass


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, next position) of the base-128 varint at ``pos``."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Truncated
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """The (field number, value) pairs of a serialized message: varints as ints, fixed32/64 as
    ints, length-delimited fields as bytes."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            if pos + 8 > len(data):
                raise _Truncated
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Truncated
            value, pos = bytes(data[pos : pos + length]), pos + length
        elif wire == 5:
            if pos + 4 > len(data):
                raise _Truncated
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        else:
            raise _Truncated
        out.append((number, value))
    return out


def _shape(data: bytes) -> tuple[int, ...]:
    """TensorShapeProto: repeated Dim (field 2) with size (field 1)."""
    dims = []
    for number, value in _fields(data):
        if number == 2:
            size = next((v for n, v in _fields(value) if n == 1), 0)
            dims.append(size - (1 << 64) if size >= 1 << 63 else size)  # int64 (-1: unknown)
        elif number == 3 and value:
            raise _Truncated  # unknown rank: not a stored tensor
    return tuple(dims)


def _entry(name: str, data: bytes) -> TensorEntry:
    fields = dict(_fields(data))
    if 7 in fields:
        raise ValueError("partitioned (sliced) variables are not supported")
    return TensorEntry(name, int(fields.get(1, 0)), _shape(fields[2]) if 2 in fields else (), int(fields.get(3, 0)),
                       int(fields.get(4, 0)), int(fields.get(5, 0)), fields.get(6))


# ----------------------------------------------------------------------------- the sorted string table
def _block(table: bytes, offset: int, size: int, path: Path, what: str) -> bytes:
    """The contents of the block at (offset, size), its trailer checked."""
    end = offset + size + BLOCK_TRAILER_BYTES
    if offset < 0 or size < 4 or end > len(table) - FOOTER_BYTES:
        raise DataFormatError(path, f"truncated or corrupted index: the {what} block at byte {offset} ({size} bytes) lies outside the file")
    contents, kind = table[offset : offset + size], table[offset + size]
    (stored,) = struct.unpack_from("<I", table, offset + size + 1)
    if stored != masked_crc32c(table[offset : offset + size + 1]):
        raise DataFormatError(path, f"corrupted index: the {what} block at byte {offset} fails its checksum")
    if kind != 0:
        raise DataFormatError(path, f"the {what} block is compressed (type {kind}); only uncompressed tables are read")
    return contents


def _block_entries(block: bytes, path: Path, what: str) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of a block: each key shares a prefix with the one before."""
    if len(block) < 4:
        raise DataFormatError(path, f"corrupted index: the {what} block is too short")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if restarts < 1 or limit < 0:
        raise DataFormatError(path, f"corrupted index: the {what} block has {restarts} restart points")
    entries, key, pos = [], b"", 0
    try:
        while pos < limit:
            shared, pos = _varint(block, pos)
            fresh, pos = _varint(block, pos)
            length, pos = _varint(block, pos)
            if shared > len(key) or pos + fresh + length > limit:
                raise _Truncated
            key = key[:shared] + block[pos : pos + fresh]
            pos += fresh
            entries.append((key, block[pos : pos + length]))
            pos += length
    except _Truncated:
        raise DataFormatError(path, f"corrupted index: a bad entry in the {what} block at byte {pos}") from None
    return entries


def _handle(data: bytes, pos: int = 0) -> tuple[int, int, int]:
    offset, pos = _varint(data, pos)
    size, pos = _varint(data, pos)
    return offset, size, pos


def index_path(prefix: str | Path) -> Path:
    """``PREFIX.index`` (a prefix may end in a path separator: ``folder/`` names ``folder/.index``)."""
    return Path(f"{prefix}.index")


def read_index(prefix: str | Path) -> tuple[dict, dict[str, TensorEntry]]:
    """(header, {tensor name: entry}) of the checkpoint ``prefix``, in the index's (sorted) order.

    header: ``{"num_shards": int, "endianness": "little" | "big"}``."""
    path = index_path(prefix)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint index: {path}")
    table = path.read_bytes()
    if len(table) < FOOTER_BYTES:
        raise DataFormatError(path, f"truncated index: {len(table)} bytes, shorter than its {FOOTER_BYTES}-byte footer")
    footer = table[-FOOTER_BYTES:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_BYTES - 8)
    if magic != TABLE_MAGIC:
        raise DataFormatError(path, "not a TensorFlow checkpoint index (bad magic number: truncated, or another kind of file)")
    try:
        _, _, pos = _handle(footer)  # the meta-index block: empty in checkpoints
        index_offset, index_size, _ = _handle(footer, pos)
    except _Truncated:
        raise DataFormatError(path, "corrupted index: a bad block handle in the footer") from None
    header, entries = {"num_shards": 1, "endianness": "little"}, {}
    previous = None
    for _, handle in _block_entries(_block(table, index_offset, index_size, path, "index"), path, "index"):
        try:
            offset, size, _ = _handle(handle)
        except _Truncated:
            raise DataFormatError(path, "corrupted index: a bad block handle in the index block") from None
        for key, value in _block_entries(_block(table, offset, size, path, "data"), path, "data"):
            if previous is not None and key <= previous:
                raise DataFormatError(path, f"corrupted index: keys out of order at {key[:60]!r}")
            previous = key
            try:
                name = key.decode("utf-8")
                if not name:
                    fields = dict(_fields(value))
                    header = {"num_shards": int(fields.get(1, 1)), "endianness": "big" if fields.get(2, 0) else "little"}
                else:
                    entries[name] = _entry(name, value)
            except (_Truncated, UnicodeDecodeError, KeyError):
                raise DataFormatError(path, "corrupted index: a malformed entry", record=key.decode("utf-8", "replace")[:80]) from None
            except ValueError as err:
                raise DataFormatError(path, str(err), record=key.decode("utf-8", "replace")[:80]) from None
    return header, entries


def shard_path(prefix: str | Path, shard: int, num_shards: int) -> Path:
    return Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}")


def read_checkpoint(prefix: str | Path, *, names: list[str] | None = None, verify: bool = True) -> dict[str, np.ndarray]:
    """{tensor name: array} of the checkpoint ``prefix`` (``names``: only these). Each tensor's
    byte count is checked against its shape and dtype, and with ``verify`` its CRC-32C against the
    index. String tensors are left out (they are not weights)."""
    header, entries = read_index(prefix)
    if header["endianness"] != "little":
        raise DataFormatError(index_path(prefix), "a big-endian checkpoint; only little-endian ones are read")
    wanted = entries if names is None else {n: entries[n] for n in names}
    shards: dict[int, bytes] = {}
    out = {}
    for name, entry in wanted.items():
        if entry.dtype_code not in DTYPES:
            if entry.dtype_code == 7:
                continue
            raise DataFormatError(index_path(prefix), f"unsupported dtype {entry.dtype}", record=name)
        path = shard_path(prefix, entry.shard, header["num_shards"])
        if entry.shard not in shards:
            if not path.is_file():
                raise FileNotFoundError(f"no checkpoint data shard: {path}")
            shards[entry.shard] = path.read_bytes()
        data = shards[entry.shard]
        dtype = np.dtype(DTYPES[entry.dtype_code])
        count = int(np.prod(entry.shape, dtype=np.int64))
        if min(entry.shape, default=0) < 0 or entry.size != count * dtype.itemsize:
            raise DataFormatError(index_path(prefix), f"{entry.size} bytes cannot hold a {entry.dtype} tensor of shape {entry.shape}", record=name)
        if entry.offset + entry.size > len(data):
            raise DataFormatError(path, f"truncated data: tensor {name!r} needs bytes {entry.offset}..{entry.offset + entry.size}, "
                                  f"the file has {len(data)}")
        raw = data[entry.offset : entry.offset + entry.size]
        if verify and entry.crc32c is not None and masked_crc32c(raw) != entry.crc32c:
            raise DataFormatError(path, f"corrupted data: tensor {name!r} fails its checksum")
        out[name] = np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
    return out
