"""Deprecated: moved to :mod:`labkit.mlc` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.mlc")
