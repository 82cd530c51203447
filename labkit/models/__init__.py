"""Torch modules of the kit; every one returns logits (losses live in :mod:`labkit.losses`)."""

from .mlc import MultiLabelClassifier
from .pair_classifier import PairClassifier
from .pons import PonsSpectrogramTagger, PonsWaveformTagger
from .sample_cnn import SampleCNN, count_parameters

MODELS = {
    "pair_classifier": PairClassifier, "mlc": MultiLabelClassifier, "sample_cnn": SampleCNN,
    "pons_spectrogram": PonsSpectrogramTagger, "pons_waveform": PonsWaveformTagger,
}

__all__ = ["MODELS", "MultiLabelClassifier", "PairClassifier", "PonsSpectrogramTagger", "PonsWaveformTagger", "SampleCNN", "count_parameters"]
