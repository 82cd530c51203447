"""ipywidgets front-ends of labkit: the cluster explorer, threshold tuner, clip player and DiVa stepper.

Everything they compute comes from the headless ``labkit`` package; this package only lays out
controls and plots. Use them in JupyterLab; ``labkit`` itself never imports ipywidgets.
"""

from .clip_player import ClipPlayer
from .cluster_explorer import ClusterExplorer
from .diva_stepper import DiVaStepper
from .threshold_tuner import ThresholdTuner

__all__ = ["ClipPlayer", "ClusterExplorer", "DiVaStepper", "ThresholdTuner"]
