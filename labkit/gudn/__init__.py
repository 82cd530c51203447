"""GUDN (seed 003): the guide network for extreme multi-label text classification, and the encoder
MLC baseline. :mod:`.model` holds the torch modules (feature extractors, guides, ranking classifier,
label clusters), :mod:`.training` label reinforcement, label clusters, training and ranked prediction.
"""

from .model import GUDN, EncoderMLC, load_encoder
from .training import XMCConfig, XMCModel, label_clusters, reinforce_labels, train_xmc

__all__ = ["EncoderMLC", "GUDN", "XMCConfig", "XMCModel", "label_clusters", "load_encoder", "reinforce_labels", "train_xmc"]
