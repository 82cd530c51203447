"""Trained weights on disk: ``model.safetensors`` plus ``config.json`` (the model's class, its
constructor arguments and the kit version), written atomically, loaded back with one call.
Nothing is pickled or unpickled.

Models built on a Hugging Face encoder (GUDN, the encoder MLC) also save the encoder's own
configuration and tokenizer files, so that the folder alone rebuilds them, offline.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from .data.errors import DataFormatError
from .models import MODELS
from .models.gudn import GUDN, EncoderMLC

ENCODER_MODELS = {"gudn": GUDN, "encoder_mlc": EncoderMLC}
WEIGHTS, CONFIG = "model.safetensors", "config.json"


def model_kind(model: nn.Module) -> str:
    """The registry name of ``model``'s class."""
    for name, cls in {**MODELS, **ENCODER_MODELS}.items():
        if type(model) is cls:
            return name
    raise TypeError(f"{type(model).__name__} is not one of the kit's models: {sorted({**MODELS, **ENCODER_MODELS})}")


def write_folder_atomically(folder: str | Path, write) -> Path:
    """Call ``write(tmp)`` on a temporary folder beside ``folder``, flush its files to disk, then
    rename it into place (an existing ``folder`` is replaced): readers see the old folder or the
    new one, never a mixture, whenever the writing process is stopped."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write(tmp)
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def save_pretrained(model: nn.Module, folder: str | Path, *, tokenizer=None, extra: dict | None = None) -> Path:
    """Write ``model`` to ``folder`` (replaced atomically): weights, config, and for encoder
    models the encoder configuration (and ``tokenizer``'s files when given). ``extra`` is kept in
    the config (label names, settings) for whoever loads it."""
    kind = model_kind(model)
    config = {"labkit_version": __version__, "model": kind, "args": dict(model.config), "extra": extra or {}}
    if kind in ENCODER_MODELS:
        config["encoder"] = model.encoder.config.to_dict()
        if kind == "gudn":
            config["args"]["has_clusters"] = model.cluster_head is not None
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file(tensors, tmp / WEIGHTS, metadata={"labkit_model": kind})
        (tmp / CONFIG).write_text(json.dumps(config, indent=1, sort_keys=True))
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp / "tokenizer")

    return write_folder_atomically(folder, write)


def read_config(folder: str | Path) -> dict:
    """The ``config.json`` of a saved model, checked."""
    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name} (not a saved labkit model)")
    try:
        config = json.loads((folder / CONFIG).read_text())
    except json.JSONDecodeError as err:
        raise DataFormatError(folder / CONFIG, f"not valid JSON ({err.msg})", line=err.lineno) from None
    for key in ("model", "args"):
        if key not in config:
            raise DataFormatError(folder / CONFIG, f"missing field {key!r}")
    if config["model"] not in {**MODELS, **ENCODER_MODELS}:
        raise DataFormatError(folder / CONFIG, f"unknown model {config['model']!r}")
    return config


def _encoder_from_config(config: dict):
    from transformers import AutoConfig, AutoModel

    encoder_config = dict(config["encoder"])
    model_type = encoder_config.pop("model_type")
    return AutoModel.from_config(AutoConfig.for_model(model_type, **encoder_config))


def from_pretrained(folder: str | Path, *, device: str = "cpu") -> nn.Module:
    """The model saved in ``folder``, in eval mode on ``device``. A missing file, a config that
    does not match the tensors, or a corrupted file raises an error naming the folder."""
    folder = Path(folder)
    config = read_config(folder)
    try:
        tensors = load_file(folder / WEIGHTS)
    except Exception as err:  # safetensors raises its own error types on corrupted files
        raise DataFormatError(folder / WEIGHTS, f"cannot read the weights ({type(err).__name__}: {err})") from None
    kind, args = config["model"], dict(config["args"])
    try:
        if kind in ENCODER_MODELS:
            encoder = _encoder_from_config(config)
            if kind == "gudn":
                has_clusters = args.pop("has_clusters", False)
                n_labels = args.pop("n_labels")
                clusters = tensors["clusters"] if has_clusters else None
                model = GUDN(encoder, n_labels, clusters=clusters, **args)
            else:
                model = EncoderMLC(encoder, args.pop("n_labels"), **args)
        else:
            model = MODELS[kind](**args)
    except (TypeError, KeyError) as err:
        raise DataFormatError(folder / CONFIG, f"the arguments do not build a {kind} ({err})") from None
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise DataFormatError(folder, f"config.json does not match model.safetensors: {first}") from None
    return model.to(device).eval()


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
