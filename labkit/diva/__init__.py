"""DiVa (seed 000): harvest diverse and valid labels from user comments, and its baselines.

``harvest(train, predict, method=...)`` is the one call; :class:`DiVa` exposes the iteration as
steps (train, infer, joint_score, select, evaluate, next_round) for notebooks and widgets, and its
state as plain values (``to_state`` / ``load_state``; on disk: :mod:`labkit.diva.state`, run
directories that resume: :func:`labkit.diva.rundir.fit_in_run_dir`). A trained run becomes a
:class:`Harvester` (``harvest(...).harvester()``) that is saved, loaded and labels new comments.
"""

from .config import VARIANTS, DiVaConfig
from .harvest import METHODS, HarvestResult, harvest
from .harvester import Harvester
from .iteration import DiVa, RoundRecord
from .pairs import PairSpace

__all__ = ["DiVa", "DiVaConfig", "HarvestResult", "Harvester", "METHODS", "PairSpace", "RoundRecord", "VARIANTS", "harvest"]
