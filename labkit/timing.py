"""Where labelling's time goes: named sections of work add their seconds to a table while one is
being recorded (``with recording() as seconds: ...``), and read no clock otherwise.

    from labkit.timing import recording, section
    with recording() as seconds:
        ...                      # code that runs ``with section("encoding"): ...`` inside
    seconds                      # {"encoding": 12.3, ...}
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

_tables: list[dict[str, float]] = []


@contextlib.contextmanager
def recording() -> Iterator[dict[str, float]]:
    """A table of seconds by section name, filled by every :func:`section` run inside the block."""
    table: dict[str, float] = {}
    _tables.append(table)
    try:
        yield table
    finally:
        _tables.remove(table)


@contextlib.contextmanager
def section(name: str) -> Iterator[None]:
    """Add the block's seconds to ``name`` in every table being recorded."""
    if not _tables:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - start
        for table in _tables:
            table[name] = table.get(name, 0.0) + spent


def add_seconds(name: str, seconds: float) -> None:
    """Add ``seconds`` measured elsewhere to ``name`` in every table being recorded."""
    for table in _tables:
        table[name] = table.get(name, 0.0) + seconds
