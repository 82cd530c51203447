"""Deprecated: moved to :mod:`labkit.gudn.model` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.gudn.model")
