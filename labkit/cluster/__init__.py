"""Deprecated: moved to :mod:`labkit.tagclusters` (spherical k-means to :mod:`labkit.kmeans`,
projections to :mod:`labkit.embed.projection`); this path is kept for one release."""

import sys

from labkit.deprecation import moved

moved(__name__, "labkit.tagclusters", submodules=("agglomerative", "cooccurrence", "filtering", "pipeline", "quality"))
sys.modules[__name__ + ".kmeans"] = sys.modules["labkit.kmeans"]
sys.modules[__name__ + ".projection"] = sys.modules["labkit.embed.projection"]
