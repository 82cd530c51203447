"""Old import paths kept for one release: each old module is the new one under its old name."""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType


def moved(old: str, new: str, *, submodules: tuple[str, ...] = ()) -> ModuleType:
    """Make ``import old`` (and ``import old.sub`` for each of ``submodules``) give the module
    ``new`` itself, with a DeprecationWarning naming the new path. Call it from the old module."""
    warnings.warn(f"{old} moved to {new}; the old path will be removed in the next release", DeprecationWarning, stacklevel=3)
    module = importlib.import_module(new)
    sys.modules[old] = module
    for name in submodules:
        sys.modules[f"{old}.{name}"] = importlib.import_module(f"{new}.{name}")
    return module


def moved_names(old: str, names: dict[str, str]):
    """A module ``__getattr__`` for names that moved out of module ``old``: ``names`` maps each
    name to its new module; reading one warns and returns it from there."""

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(f"{old}.{name} moved to {names[name]}.{name}; the old path will be removed in the next release",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__
