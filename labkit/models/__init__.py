"""Deprecated: the models live with their papers (:mod:`labkit.diva.classifier`, :mod:`labkit.mlc`,
:mod:`labkit.gudn.model`, :mod:`labkit.audio.pons`, :mod:`labkit.audio.sample_cnn`) and are found
through :mod:`labkit.registry`; this path is kept for one release."""

import warnings

from ..audio.pons import PonsSpectrogramTagger, PonsWaveformTagger
from ..audio.sample_cnn import SampleCNN, count_parameters
from ..diva.classifier import PairClassifier
from ..mlc import MultiLabelClassifier
from ..registry import MODELS

warnings.warn("labkit.models moved: import the models from their papers' packages, the registry from labkit.registry; "
              "the old path will be removed in the next release", DeprecationWarning, stacklevel=2)

__all__ = ["MODELS", "MultiLabelClassifier", "PairClassifier", "PonsSpectrogramTagger", "PonsWaveformTagger", "SampleCNN", "count_parameters"]
