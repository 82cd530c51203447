"""Shared by the benchmark scripts: print a Markdown report and write it to a file."""

from __future__ import annotations

from pathlib import Path


def write_report(lines: list[str], out: Path) -> None:
    """Print the report and write it to ``out`` (folders created)."""
    report = "\n".join(lines)
    print(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
