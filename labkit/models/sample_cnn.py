"""Deprecated: moved to :mod:`labkit.audio.sample_cnn` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.audio.sample_cnn")
