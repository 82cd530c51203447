"""Shared by the benchmark scripts: time a repeated call, print a Markdown report and write it to a file."""

from __future__ import annotations

import statistics
import time
from pathlib import Path


def write_report(lines: list[str], out: Path) -> None:
    """Print the report and write it to ``out`` (folders created)."""
    report = "\n".join(lines)
    print(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")


def median_seconds(fn, values) -> float:
    """Median wall time of ``fn(value)`` over ``values``."""
    times = []
    for value in values:
        start = time.perf_counter()
        fn(value)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
