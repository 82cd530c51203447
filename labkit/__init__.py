"""labkit: a headless research kit for harvesting music labels.

The package holds data readers, text processing, metrics and (in later modules) the models,
losses and scoring functions behind the notebooks. It never imports ipywidgets: the
interactive front-ends live in the separate ``widgets`` package.
"""

__version__ = "0.1.0"
