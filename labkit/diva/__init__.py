"""DiVa (seed 000): harvest diverse and valid labels from user comments, and its baselines.

``harvest(train, predict, method=...)`` is the one call; :class:`DiVa` exposes the iteration as
steps (train, infer, joint_score, select, evaluate) for notebooks and widgets.
"""

from .config import VARIANTS, DiVaConfig
from .harvest import METHODS, HarvestResult, harvest
from .iteration import DiVa, RoundRecord
from .pairs import PairSpace

__all__ = ["DiVa", "DiVaConfig", "HarvestResult", "METHODS", "PairSpace", "RoundRecord", "VARIANTS", "harvest"]
