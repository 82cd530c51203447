"""A DiVa run's state on disk: settings, labels, history and weights, as JSON and safetensors
(never pickle), written atomically (a temporary folder, then renames).

Layout of a state folder::

    state.json          kit version, settings, round, best round, shapes, history
    labels.safetensors  pseudo-labels (all so far, and the last round's) as CSR arrays
    model.safetensors   the classifier's weights (absent before the first training)
    best.safetensors    the weights of the best round so far (if any)

What is saved is :meth:`DiVa.to_state` (less the pending proposals, which a saved state never
holds) and loading is :meth:`DiVa.load_state`: this module reads nothing private of a run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from safetensors.torch import load_file, save_file

from .. import __version__
from ..errors import DataFormatError
from ..io import checked_args, read_json_file
from ..outputs import check_output_folder, write_folder
from .classifier import PairClassifier
from .config import DiVaConfig
from .iteration import DiVa, RoundRecord

STATE_FILES = ("state.json", "labels.safetensors")


def _csr_tensors(name: str, m: sp.csr_matrix) -> dict[str, torch.Tensor]:
    m = sp.csr_matrix(m)
    return {f"{name}.indptr": torch.from_numpy(m.indptr.astype(np.int64)), f"{name}.indices": torch.from_numpy(m.indices.astype(np.int64)),
            f"{name}.data": torch.from_numpy(m.data.astype(np.float64))}


def _csr_from(tensors: dict, name: str, shape: tuple[int, int]) -> sp.csr_matrix:
    parts = [tensors[f"{name}.{key}"].numpy() for key in ("data", "indices", "indptr")]
    return sp.csr_matrix(tuple(parts), shape=shape)


def save_state(run: DiVa, folder: str | Path) -> Path:
    """Write ``run``'s state to ``folder`` atomically: readers see the old state or the new one,
    never a mixture, whenever the writing process is stopped. An existing ``folder`` is replaced
    only when it is an earlier DiVa state (see :func:`labkit.outputs.write_folder`)."""
    check_output_folder(folder, kind="diva-state", option="folder")  # before anything of the run is read
    now = run.to_state()
    state = {
        "labkit_version": __version__, "config": run.config.to_dict(), "round": now["round"],
        "best_round": now["best_round"], "static_done": now["static_done"],
        "shape": list(run.gold.shape), "n_gold": int(run.pairs.space.n_gold),
        "model_args": None if run.model is None else dict(run.model.config),
        "history": now["history"],
    }

    def write(tmp: Path) -> None:
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
        save_file(_csr_tensors("pseudo", now["pseudo"]) | _csr_tensors("round_pseudo", now["round_pseudo"]), tmp / "labels.safetensors")
        if now["model"] is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in now["model"].items()}, tmp / "model.safetensors")
        if now["best"] is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in now["best"].items()}, tmp / "best.safetensors")

    return write_folder(folder, write, kind="diva-state")


def _is_int(value, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < 2**62


def config_from_dict(values: object, path: Path) -> DiVaConfig:
    """A :class:`DiVaConfig` from saved settings, each checked against the type of its default
    (unknown names and values of another type raise :class:`DataFormatError` naming ``path``)."""
    if not isinstance(values, dict):
        raise DataFormatError(path, "field 'config' must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(DiVaConfig)}
    defaults = DiVaConfig()
    for key, value in values.items():
        if key not in fields:
            raise DataFormatError(path, f"unknown setting {key!r} in 'config'")
        default = getattr(defaults, key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float) or key == "subsample":
            ok = value is None if key == "subsample" and value is None else isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        elif isinstance(default, tuple):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, dict)
        if not ok:
            raise DataFormatError(path, f"setting {key!r} has a value of the wrong type ({str(value)[:40]!r})")
    from .config import LEGACY_SETTINGS

    values = {**{k: v for k, v in LEGACY_SETTINGS.items() if k not in values}, **values}  # saved before the setting existed
    try:
        return DiVaConfig(**values)
    except (TypeError, ValueError) as err:
        raise DataFormatError(path, f"the settings do not make a DiVaConfig ({err})") from None


def read_state(folder: str | Path) -> dict:
    """The ``state.json`` of a state folder, checked to be complete and well-formed like any input:
    every field of the expected type, settings a :class:`DiVaConfig` accepts, classifier arguments
    of :class:`PairClassifier` (so nothing read from the folder reaches a constructor unchecked)."""
    folder = Path(folder)
    for name in STATE_FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: not a DiVa state folder (no {name})")
    path = folder / "state.json"
    state = read_json_file(path, allow_nan=True)
    if not isinstance(state, dict):
        raise DataFormatError(path, f"expected a JSON object, found {type(state).__name__}")
    for key in ("config", "round", "shape", "n_gold", "history"):
        if key not in state:
            raise DataFormatError(path, f"missing field {key!r}")
    config_from_dict(state["config"], path)
    shape = state["shape"]
    if not (isinstance(shape, list) and len(shape) == 2 and all(_is_int(v) for v in shape)):
        raise DataFormatError(path, "field 'shape' must be two non-negative integers")
    if not _is_int(state["round"]) or not _is_int(state["n_gold"]):
        raise DataFormatError(path, "fields 'round' and 'n_gold' must be non-negative integers")
    if state.get("best_round") is not None and not _is_int(state["best_round"]):
        raise DataFormatError(path, "field 'best_round' must be a non-negative integer or null")
    if not isinstance(state.get("static_done", False), bool):
        raise DataFormatError(path, "field 'static_done' must be true or false")
    if state.get("model_args") is not None:
        checked_args(PairClassifier, state["model_args"], path)
    fields = {f.name for f in dataclasses.fields(RoundRecord)}
    history = state["history"]
    if not isinstance(history, list):
        raise DataFormatError(path, "field 'history' must be a list")
    for number, record in enumerate(history):
        if not isinstance(record, dict) or not _is_int(record.get("round")):
            raise DataFormatError(path, f"history entry {number} must be an object with a round number")
        for key in ("new_from_classifier", "new_from_joint", "total_pseudo"):
            if key in record and not _is_int(record[key]):
                raise DataFormatError(path, f"history entry {number}: {key!r} must be a non-negative integer")
        for key in ("val_psp5", "val_psndcg5"):
            if key in record and (isinstance(record[key], bool) or not isinstance(record[key], (int, float))):
                raise DataFormatError(path, f"history entry {number}: {key!r} must be a number")
        if not isinstance(record.get("seconds", {}), dict) or not isinstance(record.get("examples", []), list):
            raise DataFormatError(path, f"history entry {number}: 'seconds' must be an object and 'examples' a list")
        unknown = set(record) - fields
        if unknown:
            raise DataFormatError(path, f"history entry {number}: unknown field {sorted(unknown)[0]!r}")
    return state


IGNORED_SETTINGS = ("device", "progress", "extra")  # how a run is shown or where it runs, not what it computes


def settings_differences(saved: dict, config: DiVaConfig) -> list[str]:
    """``"name: saved -> now"`` for every setting (other than device and progress) that differs."""
    now = json.loads(json.dumps(config.to_dict(), default=str))
    before = json.loads(json.dumps(dataclasses.asdict(config_from_dict(saved, Path("state.json"))), default=str))
    return [f"{key}: {before.get(key)!r} -> {now.get(key)!r}" for key in sorted(set(before) | set(now))
            if key not in IGNORED_SETTINGS and before.get(key) != now.get(key)]


def load_state(run: DiVa, folder: str | Path) -> DiVa:
    """Put the state saved in ``folder`` into ``run`` (built over the same candidate space, with the
    same settings: a state saved with other settings is refused, naming the settings that differ)."""
    folder = Path(folder)
    state = read_state(folder)
    if list(run.gold.shape) != state["shape"] or run.pairs.space.n_gold != state["n_gold"]:
        raise ValueError(f"{folder}: saved for {state['shape'][0]} items x {state['shape'][1]} phrases, "
                         f"this run has {run.gold.shape[0]} x {run.gold.shape[1]}")
    different = settings_differences(state["config"], run.config)
    if different:
        raise ValueError(f"{folder}: saved with other settings ({'; '.join(different)})")
    shape = tuple(state["shape"])
    fields = {f.name for f in dataclasses.fields(RoundRecord)}
    try:
        labels = load_file(folder / "labels.safetensors")
        model = load_file(folder / "model.safetensors") if (folder / "model.safetensors").is_file() else None
        best = load_file(folder / "best.safetensors") if (folder / "best.safetensors").is_file() else None
        saved = {
            "round": state["round"], "pseudo": _csr_from(labels, "pseudo", shape), "round_pseudo": _csr_from(labels, "round_pseudo", shape),
            "proposed_classifier": sp.csr_matrix(shape), "proposed_joint": sp.csr_matrix(shape),
            "history": [{k: v for k, v in r.items() if k in fields} for r in state["history"]],
            "static_done": state.get("static_done", False), "model": model,
            "best_round": state.get("best_round") if best is not None else None, "best": best,
        }
    except Exception as err:  # safetensors and scipy raise their own error types on corrupted or inconsistent arrays
        raise DataFormatError(folder, f"cannot read saved tensors ({type(err).__name__}: {str(err)[:120]})") from None
    try:
        run.load_state(saved)
    except RuntimeError as err:
        raise DataFormatError(folder / "model.safetensors", f"the weights do not fit this run's classifier ({str(err).splitlines()[0]})") from None
    return run
