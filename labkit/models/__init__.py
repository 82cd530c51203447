"""Torch modules of the kit; every one returns logits (losses live in :mod:`labkit.losses`)."""

from .mlc import MultiLabelClassifier
from .pair_classifier import PairClassifier

MODELS = {"pair_classifier": PairClassifier, "mlc": MultiLabelClassifier}

__all__ = ["MODELS", "MultiLabelClassifier", "PairClassifier"]
