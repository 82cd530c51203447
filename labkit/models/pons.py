"""Deprecated: moved to :mod:`labkit.audio.pons` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.audio.pons")
