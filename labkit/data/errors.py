"""The one error type every reader raises for input it cannot accept."""

from __future__ import annotations

from os import PathLike


class DataFormatError(ValueError):
    """Malformed input, with the file and the line (or record) where it was found.

    ``str(err)`` reads ``path:line: message`` (or ``path: record 'x': message``), the form editors
    and terminals link to.
    """

    def __init__(
        self,
        path: str | PathLike | None,
        message: str,
        *,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.record = record
        self.reason = message
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        if record is not None:
            where += f": record {record!r}"
        super().__init__(f"{where}: {message}")
