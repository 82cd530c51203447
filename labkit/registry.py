"""One registry of the kit's model classes. ``save_pretrained``, ``from_pretrained`` and the ONNX
export find a model's name, its saved constructor arguments and how to rebuild it here.

A class registers with ``@register_model("name")``; the registry then records the arguments each
instance was built with in ``model.config`` (once, from the constructor's own signature), leaving out
those named in ``not_saved`` (modules and tensors, which the weights file or the saved encoder
configuration carries).
"""

from __future__ import annotations

import functools
import inspect

from torch import nn

MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str, *, not_saved: tuple[str, ...] = ()):
    """Class decorator: add ``cls`` to :data:`MODELS` under ``name`` and capture its config."""

    def decorate(cls: type[nn.Module]) -> type[nn.Module]:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is taken by {MODELS[name].__name__}")
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def __init__(self, *args, **kwargs) -> None:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            init(self, *args, **kwargs)
            if type(self) is cls:
                self.config = {k: v for k, v in bound.arguments.items() if k != "self" and k not in not_saved}

        cls.__init__ = __init__
        cls.registry_name = name
        MODELS[name] = cls
        return cls

    return decorate


def model_name(model: nn.Module) -> str:
    """The registry name of ``model``'s class (``TypeError`` for a class the kit cannot reload)."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise TypeError(f"{type(model).__name__} is not one of the kit's models: {sorted(MODELS)}")


def load_all() -> dict[str, type[nn.Module]]:
    """:data:`MODELS` with every model module of the kit imported (so that each has registered)."""
    import importlib

    for module in ("labkit.mlc", "labkit.diva.classifier", "labkit.gudn.model", "labkit.audio.pons", "labkit.audio.sample_cnn", "labkit.audio.musicnn"):
        importlib.import_module(module)
    return MODELS
