"""DiVa's public state API: to_state / load_state round trips, next_round honours fit's stop rule,
reading a run never changes it, and the modules depend one way (iteration knows neither the state
files nor run directories)."""

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import SMALL_DIVA, new_small_run
from safetensors.torch import save_file

from labkit.diva import DiVa, DiVaConfig, RoundRecord
from labkit.diva.harvest import gold_matrix
from labkit.diva.state import load_state, save_state

DIVA = Path(__file__).resolve().parents[1] / "labkit" / "diva"


def same_state(a: dict, b: dict) -> bool:
    """Two to_state dicts hold the same values (matrices, weights, history, numbers)."""
    if set(a) != set(b):
        return False
    for key, x in a.items():
        y = b[key]
        if sp.issparse(x) or sp.issparse(y):
            if not (sp.issparse(x) and sp.issparse(y) and x.shape == y.shape and (x != y).nnz == 0):
                return False
        elif isinstance(x, dict) or isinstance(y, dict):
            if x is None or y is None or set(x) != set(y) or not all(torch.equal(x[k], y[k]) for k in x):
                return False
        elif key == "history":
            if json.dumps(x) != json.dumps(y):  # NaN scores compare equal as text
                return False
        elif x != y:
            return False
    return True


def imported_names(path: Path) -> set[str]:
    """Every module-path part and imported name of every import statement of ``path``, anywhere in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {part for alias in node.names for part in alias.name.split(".")}
        elif isinstance(node, ast.ImportFrom):
            names |= set((node.module or "").split(".")) | {alias.name for alias in node.names}
    return names


def test_iteration_imports_neither_state_nor_rundir():
    names = imported_names(DIVA / "iteration.py")
    assert "scoring" in names  # the check sees relative imports
    assert not names & {"state", "rundir", "load_state", "save_state", "latest_round", "save_round"}


@pytest.mark.parametrize("name", ["state.py", "rundir.py"])
def test_state_files_and_run_directories_use_only_the_public_api(name):
    private = sorted({node.attr for node in ast.walk(ast.parse((DIVA / name).read_text()))
                      if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")})
    assert not private, f"labkit/diva/{name} reads private attributes {private}"


@pytest.fixture
def run(synthetic_space):
    corpus, space = synthetic_space
    return new_small_run(corpus, space)


def with_history(run: DiVa, round_: int, new: list[int]) -> DiVa:
    """``run`` put (with load_state, no training) at ``round_`` with one record per round, record r adding new[r]."""
    records = [dataclasses.asdict(RoundRecord(r, new_from_classifier=n)) for r, n in enumerate(new)]
    shape = run.gold.shape
    return run.load_state({"round": round_, "pseudo": sp.csr_matrix(shape), "round_pseudo": sp.csr_matrix(shape),
                           "history": records, "model": None})


def test_next_round_refuses_to_go_past_the_stop_rule(run):
    enough = int(np.ceil(run.config.min_new_fraction * run.gold.nnz))
    assert run.config.rounds == 2 and enough >= 1

    def refused(r):
        before = r.to_state()
        assert r.stop_reason() is not None and r.next_round() is False
        assert same_state(before, r.to_state())

    refused(run)  # round 0 has not started: nothing to go on from
    assert with_history(run, 0, [0]).next_round() and run.round == 1  # round 0 always goes on, however little it added
    refused(with_history(run, 1, [5, enough - 1]))  # round 1 added fewer than min_new_fraction of the gold labels
    assert with_history(run, 1, [5, enough]).next_round() and run.round == 2
    refused(run)  # round 2 is the last (rounds=2), whatever it added
    assert "last" in with_history(run, 2, [5, 5, 10 * enough]).stop_reason()


def test_diva_static_stops_after_round_one(synthetic_space):
    corpus, space = synthetic_space
    gold = gold_matrix(space, corpus.train.label_sets, space.n_items)
    static = DiVa(space, np.arange(len(corpus.train)), gold, DiVaConfig(**(SMALL_DIVA | dict(variant="diva-static"))))
    assert static.total_rounds == 1
    assert with_history(static, 0, [0]).next_round() and static.next_round() is False and static.round == 1


def test_fit_stops_by_the_same_rule_and_calls_on_round(synthetic_space):
    corpus, space = synthetic_space
    gold = gold_matrix(space, corpus.train.label_sets, space.n_items)
    config = DiVaConfig(**(SMALL_DIVA | dict(rounds=3, min_new_fraction=1e9, validation_fraction=0.2)))
    seen = []
    run = DiVa(space, np.arange(len(corpus.train)), gold, config).fit(on_round=lambda r: seen.append((r.round, len(r.history))))
    assert seen == [(0, 1), (1, 2)]  # round 1 added fewer than 1e9 gold labels' worth: fit stops there
    assert run.round == 1 and run.next_round() is False and run.best_round in (0, 1)
    # the state after fit round-trips, best round included
    state = run.to_state()
    assert state["best_round"] is not None and state["best"] is not None
    again = DiVa(space, np.arange(len(corpus.train)), gold, config).load_state(state)
    rows = np.arange(len(corpus.train), space.n_items)
    assert (again.predict(rows) != run.predict(rows)).nnz == 0
    assert same_state(again.to_state(), state)


def test_reading_a_run_changes_nothing(run):
    for _ in range(2):
        assert run.record is None and run.history == []
    assert run.stop_reason() is not None and run.history == []
    run.train()
    before = run.to_state()
    for _ in range(2):
        assert run.record is run.history[-1] and len(run.history) == 1
        run.history, run.positives(), run.known_labels(), run.proposals(), run.stop_reason(), run.joint_budget()
        run.to_state(), run.snapshot()
    assert same_state(before, run.to_state())
    assert run.current_record() is run.history[-1] and len(run.history) == 1  # the round's record exists: not added again


def test_to_state_and_load_state_round_trip(run, synthetic_space, tmp_path):
    corpus, space = synthetic_space
    rows = np.arange(len(corpus.train), space.n_items)
    run.train()
    run.infer()
    run.joint_score()
    run.select(rejected={(r, p) for r, p, _ in run.proposals()[:2]})
    run.evaluate()
    assert run.next_round()
    run.train()
    run.infer()
    state = run.to_state()  # mid-round: pending classifier proposals included
    assert isinstance(state["round"], int) and all(sp.issparse(state[k]) for k in ("pseudo", "round_pseudo", "proposed_classifier"))
    assert all(isinstance(r, dict) for r in state["history"]) and all(isinstance(v, torch.Tensor) for v in state["model"].values())
    json.dumps(state["history"])  # plain values

    again = new_small_run(corpus, space).load_state(state)
    assert same_state(again.to_state(), state)
    assert (again.predict(rows) != run.predict(rows)).nnz == 0 and again.proposals() == run.proposals()
    # both go on alike
    assert (again.joint_score() != run.joint_score()).nnz == 0
    assert again.select() == run.select() and (again.pseudo != run.pseudo).nnz == 0
    # the state is a copy: the run moved on, the state did not, and it loads again (a redo)
    assert not same_state(state, run.to_state())
    run.restore(state)
    assert same_state(run.to_state(), state)
    run.select()
    run.restore(state)
    assert same_state(run.to_state(), state)

    # through a state folder: the same, less the pending proposals (a saved state never holds them)
    loaded = load_state(new_small_run(corpus, space), save_state(run, tmp_path / "state")).to_state()
    for key in ("proposed_classifier", "proposed_joint"):
        assert loaded[key].nnz == 0
        loaded[key] = state[key]
    assert same_state(loaded, state)

    with pytest.raises(ValueError, match="this run's labels"):
        new_small_run(corpus, space).load_state(state | {"pseudo": sp.csr_matrix((3, 3))})


def test_a_state_folder_in_the_saved_format_loads(run, tmp_path):
    """The on-disk format is unchanged: a folder written field by field (as earlier versions did) loads."""
    shape = run.gold.shape
    pseudo = sp.csr_matrix((np.ones(2), ([0, 1], [0, 1])), shape=shape)
    folder = tmp_path / "old"
    folder.mkdir()
    history = [{"round": 0, "new_from_classifier": 2, "new_from_joint": 0, "total_pseudo": 2, "val_psp5": float("nan"),
                "val_psndcg5": float("nan"), "seconds": {"train": 1.0}, "examples": ["a"]}]
    (folder / "state.json").write_text(json.dumps({
        "labkit_version": "0.1.0", "config": run.config.to_dict(), "round": 0, "best_round": None, "static_done": True,
        "shape": list(shape), "n_gold": int(run.pairs.space.n_gold), "model_args": None, "history": history}))
    tensors = {}
    for name in ("pseudo", "round_pseudo"):
        tensors |= {f"{name}.indptr": torch.from_numpy(pseudo.indptr.astype(np.int64)),
                    f"{name}.indices": torch.from_numpy(pseudo.indices.astype(np.int64)),
                    f"{name}.data": torch.from_numpy(pseudo.data.astype(np.float64))}
    save_file(tensors, folder / "labels.safetensors")
    loaded = load_state(run, folder)
    state = loaded.to_state()
    assert state["round"] == 0 and state["static_done"] is True and state["model"] is None and state["best"] is None
    assert (state["pseudo"] != pseudo).nnz == 0 and (state["round_pseudo"] != pseudo).nnz == 0
    assert state["history"][0]["examples"] == ["a"] and loaded.record.new_from_classifier == 2
    assert loaded.next_round() and loaded.round == 1
