"""Deprecated: moved to :mod:`labkit.propagation.plots` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.propagation.plots")
