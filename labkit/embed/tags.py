"""Deprecated: moved to :mod:`labkit.tagclusters.vectors` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.tagclusters.vectors")
