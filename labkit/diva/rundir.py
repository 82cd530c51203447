"""DiVa run directories: what a run did, round by round, so that a stopped run resumes and a
finished one can be exported.

Layout::

    RUN_DIR/run.json        the settings and what the run was given (method, encoder, data fingerprint)
    RUN_DIR/round-00/       the state after round 0 (see labkit.diva.state: JSON + safetensors)
    RUN_DIR/round-01/ ...

Each round folder is written in a temporary folder and renamed into place, so a folder that exists
is complete: a run killed at any moment leaves its last complete round, and
:func:`fit_in_run_dir` goes on from there.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..errors import DataFormatError, OutputError
from ..outputs import atomic_write_text, check_output_folder
from .config import LEGACY_SETTINGS, DiVaConfig
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


def fit_in_run_dir(run, run_dir: str | Path):
    """``run.fit()`` with each finished round saved to ``run_dir`` (atomically, as ``round-NN``);
    a run directory that holds rounds already is resumed after its last complete one (loaded
    into ``run``), ending with the same predictions as a run never stopped. Returns ``run``."""
    resumed = latest_round(run_dir, run) is not None
    return run.fit(on_round=lambda r: save_round(r, round_path(run_dir, r.round)), resume=resumed)


def fingerprint(*parts) -> str:
    """A short hash of what a run was given (texts, ids, labels, settings)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def _differences(before: dict, now: dict, prefix: str = "") -> list[str]:
    """``"name: before -> now"`` for every entry that differs (settings by name, not as one block).

    A setting that an older run.json lacks counts as the value it was made with: its
    :data:`LEGACY_SETTINGS` entry, else its :class:`DiVaConfig` default."""
    out = []
    defaults = {}
    if prefix == "settings.":
        defaults = {**json.loads(json.dumps(DiVaConfig().to_dict(), default=str)), **LEGACY_SETTINGS}
    for key in sorted(set(before) | set(now)):
        if key == "device":
            continue
        a, b = before.get(key, defaults.get(key)), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}" if key != "data" else "data differ (another corpus, other labels or another encoder)")
    return out


def check_run_dir(run_dir: str | Path, *, option: str = "--run-dir") -> Path:
    """Check, before any work, that ``run_dir`` can hold a run: a new or empty folder, or a run
    directory (one with ``run.json``). A folder with rounds but no ``run.json`` is refused: the
    settings that made those rounds cannot be known."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputError(f"{option} {run_dir} is a file, not a folder")
    if run_dir.is_dir() and not (run_dir / "run.json").is_file() and any(run_dir.iterdir()):
        if complete_rounds(run_dir) or any(ROUND.match(p.name) for p in run_dir.iterdir()):
            raise OutputError(f"{option} {run_dir} holds round folders but no run.json, so the settings that made them are "
                              "unknown: use a new --run-dir (or restore run.json)")
        raise OutputError(f"{option} {run_dir} is not empty and is not a labkit run directory (no run.json): use a new or empty folder")
    if not run_dir.exists():
        check_output_folder(run_dir, kind="run", option=option)  # a folder the kit can create
    return run_dir


def start_run(run_dir: str | Path, description: dict) -> bool:
    """Create ``run_dir`` with ``run.json`` holding ``description``, or check that an existing one
    was started with the same description (else ``ValueError`` naming each setting that differs,
    with its value then and now). Returns whether the run directory already held a run."""
    from ..io import read_json_file

    run_dir = check_run_dir(run_dir)
    path = run_dir / "run.json"
    description = json.loads(json.dumps(description, sort_keys=True, default=str))  # as JSON reads it back (tuples -> lists)
    if path.is_file():
        before = read_json_file(path)
        if not isinstance(before, dict):
            raise DataFormatError(path, f"expected a JSON object, found {type(before).__name__}")
        different = _differences(before, description)
        if different:
            raise ValueError(f"{run_dir} holds a run started with other settings or data ({'; '.join(different)}): "
                             "use another --run-dir, or delete this one")
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(description, indent=1, sort_keys=True, default=str))
    return False


def export_run(run_dir: str | Path, out: str | Path, *, onnx: bool = False) -> Path:
    """Write the classifier of a run directory's last complete round (its best round's weights,
    as the run would use them) to ``out`` as safetensors + config.json, and with ``onnx`` also
    ``model.onnx`` (checked against PyTorch with onnxruntime), all in one atomic folder write.
    ``out`` must be new, empty or an earlier exported model, and never the run directory itself."""
    import torch
    from safetensors.torch import load_file

    from ..io import build_matching, read_json_file, tensor_shapes, write_pretrained_files
    from ..outputs import write_folder
    from .classifier import PairClassifier

    check_export(run_dir, out)
    path = latest_round(run_dir)
    state = read_state(path)
    if not state.get("model_args"):
        raise DataFormatError(path / "state.json", "no classifier in this round (saved before training)")
    config = state["config"]
    use_best = config.get("select_round") == "best" and config.get("validation_fraction", 0) > 0
    weights = path / ("best.safetensors" if use_best and (path / "best.safetensors").is_file() else "model.safetensors")
    if not weights.is_file():
        raise DataFormatError(path, f"no {weights.name} in this round")
    model = build_matching(lambda: PairClassifier(**state["model_args"]), tensor_shapes(weights), path / "state.json")
    try:
        model.load_state_dict(load_file(weights))
    except Exception as err:
        raise DataFormatError(weights, f"cannot load the classifier ({type(err).__name__}: {err})") from None
    run_info = read_json_file(Path(run_dir) / "run.json")
    extra = {"diva_config": state["config"], "round": state["round"], "best_round": state.get("best_round"), "run": run_info}

    def write(tmp: Path) -> None:
        write_pretrained_files(model.eval(), tmp, extra=extra)
        if onnx:
            from ..export import export_onnx

            with torch.no_grad():
                export_onnx(model, tmp / "model.onnx")

    return write_folder(out, write, kind="model", option="--out")


def check_export(run_dir: str | Path, out: str | Path) -> None:
    """Check ``labkit export``'s folders before any work: ``run_dir`` a run directory with a
    complete round, ``out`` a folder that may take a model and is not (and does not hold) the run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise OutputError(f"--run-dir {run_dir}: " + ("is a file, not a folder" if run_dir.exists() else "no such folder"))
    if not (run_dir / "run.json").is_file():
        raise DataFormatError(run_dir, "no complete round to export (no run.json: not a DiVa run directory)")
    if latest_round(run_dir) is None:
        raise DataFormatError(run_dir, "no complete round to export (is it a DiVa run directory?)")
    check_output_folder(out, kind="model", inputs=[run_dir], option="--out")


def export_harvester(folder: str | Path, out: str | Path, *, onnx: bool = False) -> Path:
    """Write the pair classifier of a harvester folder to ``out`` as safetensors + config.json (the
    harvester's config kept under ``extra``), and with ``onnx`` also ``model.onnx`` (checked against
    PyTorch with onnxruntime): the same files as :func:`export_run`."""
    import torch

    from ..io import from_pretrained, read_json_file, write_pretrained_files
    from ..outputs import write_folder
    from .harvester import FORMAT

    folder = Path(folder)
    config = read_json_file(folder / "config.json") if (folder / "config.json").is_file() else None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise DataFormatError(folder, "not a labkit harvester folder (no harvester config.json)")
    model = from_pretrained(folder / "classifier").cpu().eval()
    extra = {"harvester": config}

    def write(tmp: Path) -> None:
        write_pretrained_files(model, tmp, extra=extra)
        if onnx:
            from ..export import export_onnx

            with torch.no_grad():
                export_onnx(model, tmp / "model.onnx")

    return write_folder(out, write, kind="model", option="--out")
