"""A DiVa run's state on disk: settings, labels, history and weights, as JSON and safetensors
(never pickle), written atomically (a temporary folder, then renames).

Layout of a state folder::

    state.json          kit version, settings, round, best round, shapes, history
    labels.safetensors  pseudo-labels (all so far, and the last round's) as CSR arrays
    model.safetensors   the classifier's weights (absent before the first training)
    best.safetensors    the weights of the best round so far (if any)
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
from ..data.errors import DataFormatError
from ..io import write_folder_atomically
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
    never a mixture, whenever the writing process is stopped."""
    state = {
        "labkit_version": __version__, "config": run.config.to_dict(), "round": run.round,
        "best_round": None if run._best is None else run._best[0], "static_done": run._static_done,
        "shape": list(run.gold.shape), "n_gold": int(run.pairs.space.n_gold),
        "model_args": None if run.model is None else dict(run.model.config),
        "history": [dataclasses.asdict(r) for r in run.history],
    }

    def write(tmp: Path) -> None:
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
        save_file(_csr_tensors("pseudo", run.pseudo) | _csr_tensors("round_pseudo", run._round_pseudo), tmp / "labels.safetensors")
        if run.model is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in run.model.state_dict().items()}, tmp / "model.safetensors")
        if run._best is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in run._best[1].items()}, tmp / "best.safetensors")

    return write_folder_atomically(folder, write)


def read_state(folder: str | Path) -> dict:
    """The ``state.json`` of a state folder, checked to be complete."""
    folder = Path(folder)
    for name in STATE_FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: not a DiVa state folder (no {name})")
    try:
        return json.loads((folder / "state.json").read_text())
    except json.JSONDecodeError as err:
        raise DataFormatError(folder / "state.json", f"not valid JSON ({err.msg})", line=err.lineno) from None


def load_state(run: DiVa, folder: str | Path) -> DiVa:
    """Put the state saved in ``folder`` into ``run`` (built over the same candidate space)."""
    folder = Path(folder)
    state = read_state(folder)
    if list(run.gold.shape) != state["shape"] or run.pairs.space.n_gold != state["n_gold"]:
        raise ValueError(f"{folder}: saved for {state['shape'][0]} items x {state['shape'][1]} phrases, "
                         f"this run has {run.gold.shape[0]} x {run.gold.shape[1]}")
    shape = tuple(state["shape"])
    try:
        labels = load_file(folder / "labels.safetensors")
        model = load_file(folder / "model.safetensors") if (folder / "model.safetensors").is_file() else None
        best = load_file(folder / "best.safetensors") if (folder / "best.safetensors").is_file() else None
    except Exception as err:  # safetensors raises its own error types on corrupted files
        raise DataFormatError(folder, f"cannot read saved tensors ({type(err).__name__}: {err})") from None
    fields = {f.name for f in dataclasses.fields(RoundRecord)}
    run.restore({
        "round": state["round"], "pseudo": _csr_from(labels, "pseudo", shape), "round_pseudo": _csr_from(labels, "round_pseudo", shape),
        "proposed_classifier": sp.csr_matrix(shape), "proposed_joint": sp.csr_matrix(shape),
        "history": [RoundRecord(**{k: v for k, v in r.items() if k in fields}) for r in state["history"]],
        "static_done": state["static_done"], "best": None if best is None else (state["best_round"], best), "model": model,
    })
    return run
