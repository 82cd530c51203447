"""Deprecated: moved to :mod:`labkit.propagation.categories` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.propagation.categories")
