"""The errors that mean the user gave something the kit cannot use (as opposed to a bug in the kit).

The ``labkit`` command prints any of them as one line naming the file, line, record or option, and
exits with status 2; other exceptions are bugs and keep their traceback.
"""

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


class UsageError(ValueError):
    """An option with a value the kit cannot use: ``str(err)`` names the option first."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


class OutputError(ValueError):
    """An output the kit must not or cannot write (in the way of a user's file, an input, unwritable)."""


USER_ERRORS = (DataFormatError, UsageError, OutputError)
