"""Deprecated: moved to :mod:`labkit.gudn.training` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.gudn.training")
