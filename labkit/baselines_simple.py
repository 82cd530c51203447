"""Deprecated: moved to :mod:`labkit.diva.string_match` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.diva.string_match")
