"""Trained weights on disk: ``model.safetensors`` plus ``config.json`` (the model's class, its
constructor arguments and the kit version), written atomically, loaded back with one call.
Nothing is pickled or unpickled.

Models built on a Hugging Face encoder (GUDN, the encoder MLC) also save the encoder's own
configuration and tokenizer files, so that the folder alone rebuilds them, offline.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from .errors import DataFormatError
from .outputs import write_folder
from .registry import load_all, model_name

WEIGHTS, CONFIG = "model.safetensors", "config.json"
model_kind = model_name  # the name earlier versions used


def has_hf_encoder(model: nn.Module) -> bool:
    """Whether ``model`` is built on a Hugging Face encoder (saved as its configuration)."""
    return hasattr(getattr(model, "encoder", None), "config") and hasattr(model.encoder.config, "to_dict")


def checked_args(cls: type, args: object, path: Path) -> dict:
    """Constructor arguments read from a file, checked before anything is built: a JSON object
    whose keys are parameters of ``cls`` and whose values are plain JSON scalars (or lists of
    them) of the annotated kind. Else :class:`DataFormatError` naming ``path``."""
    import inspect

    if not isinstance(args, dict):
        raise DataFormatError(path, f"the model arguments must be a JSON object, found {type(args).__name__}")
    params = inspect.signature(cls.__init__).parameters
    for key, value in args.items():
        if key not in params or key == "self" or params[key].kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
            raise DataFormatError(path, f"the arguments do not build a {cls.__name__}: {key!r} is not one of its arguments")
        kind = str(params[key].annotation)
        ok = (value is None or isinstance(value, (int, float, str))
              or (isinstance(value, list) and all(isinstance(v, (int, float, str)) for v in value)))
        if kind.startswith("int") and not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31):
            ok = False
        if kind.startswith("float") and not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
            ok = False
        if not ok:
            raise DataFormatError(path, f"argument {key!r} of {cls.__name__} has an unusable value {str(value)[:40]!r}")
    return args


def build_matching(make, tensors_shapes: dict[str, tuple[int, ...]], path: Path) -> nn.Module:
    """Build ``make()`` first without memory (on torch's meta device) and check its parameters'
    names and shapes against ``tensors_shapes`` (read from the weights file's header), so that a
    config that does not match the weights is refused before anything is allocated; then build it."""
    with torch.device("meta"):
        skeleton = make()
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    if expected != tensors_shapes:
        missing = sorted(set(expected) - set(tensors_shapes))
        unexpected = sorted(set(tensors_shapes) - set(expected))
        shaped = sorted(k for k in set(expected) & set(tensors_shapes) if expected[k] != tensors_shapes[k])
        what = (f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}" if unexpected
                else f"{shaped[0]} is {tensors_shapes[shaped[0]]} in the weights, {expected[shaped[0]]} in the config")
        raise DataFormatError(path, f"the config does not match model.safetensors ({what})")
    return make()


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the tensors in a safetensors file, read from its header alone."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
    except Exception as err:  # safetensors raises its own error types on corrupted files
        raise DataFormatError(path, f"cannot read the weights ({type(err).__name__}: {err})") from None


def write_pretrained_files(model: nn.Module, folder: Path, *, tokenizer=None, extra: dict | None = None) -> None:
    """Write ``model``'s weights and config (and ``tokenizer``'s files) into the existing ``folder``."""
    kind = model_name(model)
    config = {"labkit_version": __version__, "model": kind, "args": dict(model.config), "extra": extra or {}}
    if has_hf_encoder(model):
        config["encoder"] = model.encoder.config.to_dict()
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, folder / WEIGHTS, metadata={"labkit_model": kind})
    (folder / CONFIG).write_text(json.dumps(config, indent=1, sort_keys=True))
    if tokenizer is not None:
        tokenizer.save_pretrained(folder / "tokenizer")


def save_pretrained(model: nn.Module, folder: str | Path, *, tokenizer=None, extra: dict | None = None) -> Path:
    """Write ``model`` to ``folder``: weights, config, and for encoder models the encoder
    configuration (and ``tokenizer``'s files when given). ``extra`` is kept in the config (label
    names, settings) for whoever loads it. The folder is written as :func:`labkit.outputs.write_folder`
    writes: atomically, and replacing only an earlier saved model (never a folder of other files)."""
    model_name(model)  # a model the kit can load again, checked before anything is written
    return write_folder(folder, lambda tmp: write_pretrained_files(model, tmp, tokenizer=tokenizer, extra=extra), kind="model")


def read_json_file(path: Path, *, allow_nan: bool = False):
    """A small JSON file the kit wrote (a config, a state), read strictly: bad UTF-8, bad JSON,
    nesting too deep or numbers too large raise :class:`DataFormatError` naming the file (NaN and
    Infinity too, unless ``allow_nan``)."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"), parse_constant=None if allow_nan else _refuse_constant)
    except UnicodeDecodeError:
        raise DataFormatError(path, "not valid utf-8") from None
    except json.JSONDecodeError as err:
        raise DataFormatError(path, f"not valid JSON ({err.msg})", line=err.lineno) from None
    except (RecursionError, ValueError) as err:
        raise DataFormatError(path, f"not usable JSON ({type(err).__name__}: {str(err)[:80]})") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number labkit accepts")


def read_config(folder: str | Path) -> dict:
    """The ``config.json`` of a saved model, checked."""
    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name} (not a saved labkit model)")
    config = read_json_file(folder / CONFIG)
    if not isinstance(config, dict):
        raise DataFormatError(folder / CONFIG, f"expected a JSON object, found {type(config).__name__}")
    for key in ("model", "args"):
        if key not in config:
            raise DataFormatError(folder / CONFIG, f"missing field {key!r}")
    if not isinstance(config["model"], str) or config["model"] not in load_all():
        raise DataFormatError(folder / CONFIG, f"unknown model {config['model']!r}")
    return config


def _encoder_from_config(config: dict):
    from transformers import AutoConfig, AutoModel

    encoder_config = dict(config["encoder"])
    model_type = encoder_config.pop("model_type")
    return AutoModel.from_config(AutoConfig.for_model(model_type, **encoder_config))


def from_pretrained(folder: str | Path, *, device: str = "cpu") -> nn.Module:
    """The model saved in ``folder``, in eval mode on ``device``. A missing file, a config that
    does not match the tensors, or a corrupted file raises an error naming the folder; the config's
    arguments are checked (and the model's shapes matched to the weights' header) before anything
    is built, and nothing in the folder is ever executed."""
    folder = Path(folder)
    config = read_config(folder)
    shapes = tensor_shapes(folder / WEIGHTS)
    kind, args = config["model"], config["args"]
    if not isinstance(args, dict):
        raise DataFormatError(folder / CONFIG, f"the model arguments must be a JSON object, found {type(args).__name__}")
    args = dict(args)
    cls = load_all()[kind]
    args.pop("has_clusters", None)  # written by labkit 0.x beside GUDN's arguments; the weights say it now
    args = checked_args(cls, args, folder / CONFIG)
    inputs = {}  # constructor inputs that are no JSON: the encoder (from its saved configuration), saved tensors
    if "encoder" in config:
        if not isinstance(config["encoder"], dict) or not isinstance(config["encoder"].get("model_type"), str):
            raise DataFormatError(folder / CONFIG, "malformed field 'encoder'")
        inputs["encoder"] = _encoder_from_config(config)
    import inspect

    for name in inspect.signature(cls.__init__).parameters:
        if name in shapes and name not in args:
            inputs[name] = _load_weights(folder)[name]  # e.g. GUDN's label clusters, a buffer the constructor takes
    make = lambda: cls(**inputs, **args)  # noqa: E731
    try:
        model = make() if "encoder" in inputs else build_matching(make, shapes, folder / CONFIG)
    except DataFormatError:
        raise
    except (TypeError, KeyError, ValueError, RuntimeError) as err:
        raise DataFormatError(folder / CONFIG, f"the arguments do not build a {kind} ({err})") from None
    tensors = _load_weights(folder)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise DataFormatError(folder, f"config.json does not match model.safetensors: {first}") from None
    return model.to(device).eval()


def _load_weights(folder: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(folder / WEIGHTS)
    except Exception as err:  # safetensors raises its own error types on corrupted files
        raise DataFormatError(folder / WEIGHTS, f"cannot read the weights ({type(err).__name__}: {err})") from None


def load_tokenizer(folder: str | Path):
    """The tokenizer saved beside an encoder model."""
    from transformers import AutoTokenizer

    path = Path(folder) / "tokenizer"
    if not path.is_dir():
        raise FileNotFoundError(f"{folder}: no tokenizer folder (saved without a tokenizer)")
    return AutoTokenizer.from_pretrained(path)


def tensors_equal(a: nn.Module, b: nn.Module) -> bool:
    """Whether two models hold bit-identical parameters and buffers."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)
