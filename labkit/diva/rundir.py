"""DiVa run directories: what a run did, round by round, so that a stopped run resumes and a
finished one can be exported.

Layout::

    RUN_DIR/run.json        the settings and what the run was given (method, encoder, data fingerprint)
    RUN_DIR/round-00/       the state after round 0 (see labkit.diva.state: JSON + safetensors)
    RUN_DIR/round-01/ ...

Each round folder is written in a temporary folder and renamed into place, so a folder that exists
is complete: a run killed at any moment leaves its last complete round, and ``DiVa.fit(run_dir)``
goes on from there.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..data.errors import DataFormatError
from ..data.jsonl import atomic_write_text
from .state import load_state, read_state, save_state

ROUND = re.compile(r"^round-(\d+)$")


def round_path(run_dir: str | Path, round_: int) -> Path:
    return Path(run_dir) / f"round-{round_:02d}"


def complete_rounds(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(round, folder) of every complete round in ``run_dir``, in order."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = []
    for path in run_dir.iterdir():
        match = ROUND.match(path.name)
        if match and path.is_dir() and (path / "state.json").is_file() and (path / "labels.safetensors").is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_round(run_dir: str | Path, run=None) -> Path | None:
    """The last complete round's folder (None if there is none); with ``run``, load it into the run."""
    rounds = complete_rounds(run_dir)
    if not rounds:
        return None
    path = rounds[-1][1]
    if run is not None:
        load_state(run, path)
    return path


def save_round(run, path: str | Path) -> Path:
    return save_state(run, path)


def fingerprint(*parts) -> str:
    """A short hash of what a run was given (texts, ids, labels, settings)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def start_run(run_dir: str | Path, description: dict) -> bool:
    """Create ``run_dir`` with ``run.json`` holding ``description``, or check that an existing one
    was started with the same description (else ``ValueError`` naming what differs). Returns
    whether the run directory already held a run."""
    run_dir = Path(run_dir)
    path = run_dir / "run.json"
    description = json.loads(json.dumps(description, sort_keys=True, default=str))  # as JSON reads it back (tuples -> lists)
    if path.is_file():
        try:
            before = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise DataFormatError(path, f"not valid JSON ({err.msg})", line=err.lineno) from None
        different = sorted(k for k in set(before) | set(description) if before.get(k) != description.get(k) and k != "device")
        if different:
            raise ValueError(f"{run_dir} holds a run started with other settings or data ({', '.join(different)} differ): "
                             "use another --run-dir, or delete this one")
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(description, indent=1, sort_keys=True, default=str))
    return False


def export_run(run_dir: str | Path, out: str | Path, *, onnx: bool = False) -> Path:
    """Write the classifier of a run directory's last complete round (its best round's weights,
    as the run would use them) to ``out`` as safetensors + config.json, and with ``onnx`` also
    ``model.onnx`` (checked against PyTorch with onnxruntime)."""
    import torch
    from safetensors.torch import load_file

    from ..io import save_pretrained
    from ..models import PairClassifier

    path = latest_round(run_dir)
    if path is None:
        raise FileNotFoundError(f"{run_dir}: no complete round to export (is it a DiVa run directory?)")
    state = read_state(path)
    if not state.get("model_args"):
        raise DataFormatError(path / "state.json", "no classifier in this round (saved before training)")
    config = state["config"]
    use_best = config.get("select_round") == "best" and config.get("validation_fraction", 0) > 0
    weights = path / ("best.safetensors" if use_best and (path / "best.safetensors").is_file() else "model.safetensors")
    model = PairClassifier(**state["model_args"])
    try:
        model.load_state_dict(load_file(weights))
    except Exception as err:
        raise DataFormatError(weights, f"cannot load the classifier ({type(err).__name__}: {err})") from None
    run_info = json.loads((Path(run_dir) / "run.json").read_text()) if (Path(run_dir) / "run.json").is_file() else {}
    out = save_pretrained(model.eval(), out, extra={"diva_config": state["config"], "round": state["round"],
                                                    "best_round": state["best_round"], "run": run_info})
    if onnx:
        from ..export import export_onnx

        with torch.no_grad():
            export_onnx(model, Path(out) / "model.onnx")
    return Path(out)
