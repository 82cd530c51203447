"""Reading text files strictly: the right encoding, and an error naming the line when it is not.

Also the guards every reader shares: a path that must be a file (or a folder), JSON and CSV parsed
so that any failure is a :class:`DataFormatError`, and plain non-negative integers.
"""

from __future__ import annotations

import csv
import errno
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import DataFormatError

_PLAIN_INT = re.compile(r"[0-9]{1,18}")  # ASCII digits only, and always below 2**63


def require_file(path: str | Path) -> Path:
    """``path`` as a Path; a directory raises :class:`DataFormatError` ("is a directory, not a
    file"), a missing file :class:`FileNotFoundError` naming it."""
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(path, "is a directory, not a file")
    if not path.exists():  # also a path through a file (a/b where a is a file)
        raise FileNotFoundError(errno.ENOENT, "No such file", str(path))
    return path


def require_folder(path: str | Path) -> Path:
    """``path`` as a Path; a file raises :class:`DataFormatError` ("is a file, not a folder"), a
    missing folder :class:`FileNotFoundError` naming it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "No such folder", str(path))
    if not path.is_dir():
        raise DataFormatError(path, "is a file, not a folder")
    return path


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Return the whole text of ``path``, decoded strictly.

    A byte sequence that is not valid in ``encoding`` raises :class:`DataFormatError` naming
    the line where it sits; a missing file raises :class:`FileNotFoundError`; a directory or an
    empty file (nothing but whitespace) raises :class:`DataFormatError`.
    """
    path = require_file(path)
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataFormatError(
            path,
            f"not valid {encoding} (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            "convert the file or pass the right encoding",
            line=line,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise DataFormatError(path, "the file is empty")
    return text


def iter_lines(path: str | Path, encoding: str = "utf-8"):
    """Yield ``(line_number, line)`` for the non-blank lines of ``path`` (1-based numbers).

    Lines end at "\n" (a "\r" before it is dropped) and nowhere else: text inside a record may
    hold other Unicode line breaks (U+2028, U+0085, ...) that ``str.splitlines`` would cut at."""
    for number, line in enumerate(read_text(path, encoding).split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line


def stream_lines(path: str | Path, encoding: str = "utf-8"):
    """:func:`iter_lines` read a line at a time (memory holds one line, not the file): the same
    numbers and lines, the same errors (a line not valid in ``encoding`` names its number; an empty
    file is a :class:`DataFormatError`)."""
    path = require_file(path)
    any_line = False
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                raise DataFormatError(
                    path, f"not valid {encoding} (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
                    "convert the file or pass the right encoding", line=number,
                ) from None
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            line = line.removesuffix("\n").removesuffix("\r")
            if line.strip():
                any_line = True
                yield number, line
    if not any_line:
        raise DataFormatError(path, "the file is empty")


def parse_json(
    path: Path, text: str, *, line: int | None = None, object_pairs_hook: Callable | None = None
) -> object:
    """``json.loads(text)``; every failure is a :class:`DataFormatError` naming ``path`` and
    ``line`` (the JSONL line; for a whole-file document the line of a syntax error).

    Syntax errors, nesting too deep for the parser (RecursionError) and integers too long to
    convert (ValueError) are all reported; a DataFormatError from ``object_pairs_hook`` passes.
    """
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except DataFormatError:
        raise
    except json.JSONDecodeError as err:
        where = line if line is not None else err.lineno
        raise DataFormatError(path, f"not valid JSON ({err.msg} at column {err.colno})", line=where) from None
    except ValueError:  # an integer literal longer than int() converts (sys.get_int_max_str_digits)
        raise DataFormatError(path, "not valid JSON (a number with too many digits)", line=line) from None
    except RecursionError:
        raise DataFormatError(path, "not valid JSON (nested too deeply)", line=line) from None


def parse_count(token: str) -> int | None:
    """``token`` as an int if it is a plain ASCII non-negative integer of at most 18 digits
    (no sign, underscore, space or other Unicode digit), else None."""
    return int(token) if _PLAIN_INT.fullmatch(token) else None


def csv_rows(path: Path, reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, row)`` from a :func:`csv.reader`, the number of the line where the row
    starts. A :class:`csv.Error` (a field longer than ``csv.field_size_limit()``, 128 KiB by
    default; a line break inside an unquoted field) raises :class:`DataFormatError` at that line."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DataFormatError(path, f"not valid CSV ({err})", line=start) from None
        yield start, row
