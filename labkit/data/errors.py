"""The one error type every reader raises for input it cannot accept (defined in :mod:`labkit.errors`)."""

from ..errors import DataFormatError

__all__ = ["DataFormatError"]
