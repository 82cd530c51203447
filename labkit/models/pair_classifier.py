"""Deprecated: moved to :mod:`labkit.diva.classifier` (this path is kept for one release)."""

from labkit.deprecation import moved

moved(__name__, "labkit.diva.classifier")
