"""Reading text files strictly: the right encoding, and an error naming the line when it is not."""

from __future__ import annotations

from pathlib import Path

from .errors import DataFormatError


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Return the whole text of ``path``, decoded strictly.

    A byte sequence that is not valid in ``encoding`` raises :class:`DataFormatError` naming
    the line where it sits; a missing file raises :class:`FileNotFoundError`; an empty file
    (nothing but whitespace) raises :class:`DataFormatError`.
    """
    path = Path(path)
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
