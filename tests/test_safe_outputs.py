"""The kit never deletes or replaces what it did not write, and every user error is one line with
exit status 2, found before any work. One test per case of issue 14 (``test_caseNN_...``), plus a
property test that no command ever changes a file it was given as input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.cli import main
from labkit.data import Corpus, Item, write_jsonl_corpus
from labkit.data.errors import DataFormatError
from labkit.data.synthetic import make_synthetic_corpus, write_synthetic_corpus
from labkit.io import from_pretrained, save_pretrained
from labkit.mlc import MultiLabelClassifier

MARKER = "labkit-folder.json"  # labkit.outputs.MARKER (imported inside the tests that need the module)


def folder_kind(folder):
    from labkit.outputs import folder_kind as kind

    return kind(folder)


def output_error():
    from labkit.errors import OutputError

    return OutputError

TINY_DIVA = dict(epochs=2, finetune_epochs=1, rounds=1, kmeans_runs=1, n_clusters=3, pv_sample=8, progress=False, tower=8,
                 hidden=8, min_steps=20, joint_threshold=1e-4)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def one_error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no message"
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith(f"labkit {command}: error: "), err
    return err[-1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder of inputs for every command: a small corpus, word vectors, a tag table, playlists."""
    folder = tmp_path_factory.mktemp("inputs")
    corpus = make_synthetic_corpus(60, seed=2, n_playlists=12)
    write_jsonl_corpus(corpus.train, folder / "train.jsonl")
    write_jsonl_corpus(corpus.test_comments, folder / "predict.jsonl")
    (folder / "vocab.txt").write_text("\n".join(corpus.gold_vocab) + "\n")
    words = sorted({w for item in corpus.train for c in item.comments for w in c.lower().split()})
    rng = np.random.default_rng(0)
    (folder / "vectors.txt").write_text(f"{len(words)} 8\n" + "".join(f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=8)) + "\n"
                                                                      for w in words))
    rows = "".join(f"i{i}\t{t}\n" for i in range(12) for t in ("rock", "pop", "jazz", "blues"))
    (folder / "assignments.tsv").write_text("item\ttag\n" + rows)
    (folder / "core.txt").write_text("rock\n")
    (folder / "playlists.txt").write_text("0 1 2 3\n5 5 5 5\n0 1 2\n1 2 3\n")
    (folder / "tags.txt").write_text("0 1\n1\n#\n0\n")
    return folder


@pytest.fixture(scope="module")
def run_dir(files, tmp_path_factory) -> Path:
    """A finished DiVa run directory (one round, word vectors, tiny classifier)."""
    from labkit.data import read_jsonl_corpus
    from labkit.diva import DiVaConfig, harvest
    from labkit.embed import StaticEncoder

    folder = tmp_path_factory.mktemp("run") / "run"
    train, predict = read_jsonl_corpus(files / "train.jsonl", require_labels=True), read_jsonl_corpus(files / "predict.jsonl")
    encoder = StaticEncoder.from_word2vec_text(files / "vectors.txt")
    harvest(train, predict, method="diva", encoder=encoder, config=DiVaConfig(**TINY_DIVA), run_dir=folder)
    assert (folder / "run.json").is_file() and (folder / "round-00" / "model.safetensors").is_file()
    return folder


@pytest.fixture
def run_copy(run_dir, tmp_path) -> Path:
    copy = tmp_path / "run-copy"
    shutil.copytree(run_dir, copy)
    return copy


def last_round(run: Path) -> Path:
    from labkit.diva.rundir import complete_rounds

    return complete_rounds(run)[-1][1]


def diva_args(files: Path, out, *extra: str) -> list[str]:
    return ["diva", "--train", str(files / "train.jsonl"), "--predict", str(files / "predict.jsonl"), "--out", str(out), *extra]


# ----------------------------------------------------------------------------- case 1
def test_case01_export_never_deletes_a_folder_it_did_not_write(run_copy, tmp_path, capsys, monkeypatch):
    work = tmp_path / "mywork"
    work.mkdir()
    (work / "thesis.tex").write_text("precious\n")
    before_run = snapshot(run_copy)
    assert main(["export", "--run-dir", str(run_copy), "--out", str(work)]) == 2
    assert "thesis.tex" in one_error_line(capsys, "export")
    assert (work / "thesis.tex").read_text() == "precious\n" and sorted(p.name for p in work.iterdir()) == ["thesis.tex"]

    assert main(["export", "--run-dir", str(run_copy), "--out", str(run_copy)]) == 2  # the run itself
    assert "also an input" in one_error_line(capsys, "export")
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--run-dir", str(run_copy), "--out", "."]) == 2  # the working folder, holding the run
    assert "holds an input" in one_error_line(capsys, "export")
    assert main(["export", "--run-dir", str(run_copy), "--out", str(run_copy / "round-00")]) == 2  # a round inside the run
    assert "diva-state folder, not a model folder" in one_error_line(capsys, "export")
    assert snapshot(run_copy) == before_run

    # a new folder is written; the same export again replaces it (it is the kit's own)
    out = tmp_path / "exported"
    assert main(["export", "--run-dir", str(run_copy), "--out", str(out)]) == 0
    assert folder_kind(out) == ("model", [])
    assert main(["export", "--run-dir", str(run_copy), "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine\n")  # ... until the user puts a file of theirs in it
    assert main(["export", "--run-dir", str(run_copy), "--out", str(out)]) == 2
    assert "notes.txt" in one_error_line(capsys, "export") and (out / "notes.txt").read_text() == "mine\n"


def test_case01_save_functions_never_replace_a_users_folder(run_dir, tmp_path):
    from labkit.diva.state import save_state

    work = tmp_path / "mywork"
    work.mkdir()
    (work / "thesis.tex").write_text("precious\n")
    model = MultiLabelClassifier(4, 3, hidden=4)
    with pytest.raises(output_error(), match="not a folder labkit wrote"):
        save_pretrained(model, work)

    class Run:  # save_state refuses before it reads anything of the run
        pass

    with pytest.raises(output_error(), match="not a folder labkit wrote"):
        save_state(Run(), work)
    assert snapshot(work) == {"thesis.tex": b"precious\n"}
    with pytest.raises(output_error(), match="is a labkit diva-state folder, not a model folder"):
        save_pretrained(model, run_dir / "round-00")


def test_case01_folders_saved_before_the_marker_are_still_replaced(tmp_path):
    """A model folder written by labkit before labkit-folder.json (config.json + weights) is known by its layout."""
    model = MultiLabelClassifier(4, 3, hidden=4)
    legacy = save_pretrained(model, tmp_path / "old")
    (legacy / MARKER).unlink()
    assert folder_kind(legacy) == ("model", [])
    save_pretrained(model, legacy)
    assert (legacy / MARKER).is_file()
    (legacy / MARKER).unlink()
    (legacy / "README").write_text("mine")
    with pytest.raises(output_error(), match="not a folder labkit wrote"):
        save_pretrained(model, legacy)


# ----------------------------------------------------------------------------- case 2
def output_on_input_cases(files: Path) -> list[tuple[list[str], str]]:
    """(command line, the input its output names)."""
    f = {name: str(files / name) for name in ("train.jsonl", "predict.jsonl", "vocab.txt", "assignments.tsv", "core.txt",
                                               "playlists.txt", "tags.txt", "vectors.txt")}
    diva = ["diva", "--train", f["train.jsonl"], "--predict", f["predict.jsonl"], "--gold-vocab", f["vocab.txt"], "--method", "tfidf",
            "--encoder", f["vectors.txt"], "--out"]
    xmc = ["xmc", "--train", f["train.jsonl"], "--predict", f["predict.jsonl"], "--out"]
    clusters = ["clusters", "--assignments", f["assignments.tsv"], "--method", "embed", "--vectors", f["vectors.txt"], "--core", f["core.txt"],
                "--out"]
    propagate = ["propagate", "--playlists", f["playlists.txt"], "--tags", f["tags.txt"], "--format", "yes", "--out"]
    return ([(diva + [f[n]], n) for n in ("train.jsonl", "predict.jsonl", "vocab.txt", "vectors.txt")]
            + [(xmc + [f[n]], n) for n in ("train.jsonl", "predict.jsonl")]
            + [(clusters + [f[n]], n) for n in ("assignments.tsv", "core.txt", "vectors.txt")]
            + [(propagate + [f[n]], n) for n in ("playlists.txt", "tags.txt")])


def test_case02_an_output_that_is_an_input_is_refused(files, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr("labkit.cli.read_jsonl_corpus", no_work)
    before = snapshot(files)
    for argv, _name in output_on_input_cases(files):
        assert main(argv) == 2, argv
        assert "is also an input" in one_error_line(capsys, argv[0])
    assert snapshot(files) == before


def test_case02_the_same_file_by_another_name_is_refused(files, tmp_path, capsys):
    link, hard = tmp_path / "link.jsonl", tmp_path / "hard.jsonl"
    link.symlink_to(files / "train.jsonl")
    os.link(files / "train.jsonl", hard)
    before = snapshot(files)
    for out in (link, hard, files / "." / ".." / files.name / "train.jsonl"):
        assert main(diva_args(files, out, "--method", "tfidf")) == 2
        assert "is also an input" in one_error_line(capsys, "diva")
    assert snapshot(files) == before


# ----------------------------------------------------------------------------- case 3
def test_case03_a_run_directory_without_run_json_is_not_resumed(files, run_copy, capsys):
    (run_copy / "run.json").unlink()
    before = snapshot(run_copy)
    assert main(diva_args(files, run_copy.parent / "p.jsonl", "--run-dir", str(run_copy), "--seed", "1")) == 2
    assert "holds round folders but no run.json" in one_error_line(capsys, "diva")
    assert snapshot(run_copy) == before and not (run_copy / "run.json").exists()
    assert main(["export", "--run-dir", str(run_copy), "--out", str(run_copy.parent / "m")]) == 2
    assert "no run.json" in one_error_line(capsys, "export")


def test_case03_rounds_saved_with_other_settings_are_not_resumed(files, run_copy):
    from labkit.data import read_jsonl_corpus
    from labkit.diva import DiVaConfig, harvest
    from labkit.embed import StaticEncoder

    path = last_round(run_copy) / "state.json"
    state = json.loads(path.read_text())
    state["config"]["lr"] = 0.5  # the round says it was trained otherwise than run.json says
    path.write_text(json.dumps(state))
    train, predict = read_jsonl_corpus(files / "train.jsonl", require_labels=True), read_jsonl_corpus(files / "predict.jsonl")
    encoder = StaticEncoder.from_word2vec_text(files / "vectors.txt")
    with pytest.raises(ValueError, match=r"saved with other settings \(lr: 0.5 -> 0.001\)"):
        harvest(train, predict, method="diva", encoder=encoder, config=DiVaConfig(**TINY_DIVA), run_dir=run_copy)


# ----------------------------------------------------------------------------- case 5
def test_case05_outputs_are_checked_before_any_work(files, tmp_path, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the outputs were checked")

    for target in ("labkit.cli.read_jsonl_corpus", "labkit.data.tagging.read_assignments", "labkit.data.playlists.read_yes_playlists",
                   "labkit.data.synthetic.write_synthetic_corpus", "labkit.diva.rundir.export_run"):
        monkeypatch.setattr(target, no_work)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    commands = [argv[:-1] for argv, _ in output_on_input_cases(files)[::3]]
    for argv in commands:
        assert main(argv + [str(folder)]) == 2
        assert "is a folder; give a file name" in one_error_line(capsys, argv[0])

    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o555)
    real_access = os.access
    if os.geteuid() == 0:  # root writes anywhere: make the folder read-only as a user would see it
        monkeypatch.setattr("labkit.outputs.os.access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    for argv in commands:
        assert main(argv + [str(locked / "out.tsv")]) == 2
        assert "cannot write in" in one_error_line(capsys, argv[0])
    assert main(["synth", "--out", str(locked / "corpus")]) == 2
    assert "cannot write in" in one_error_line(capsys, "synth")
    locked.chmod(0o755)


# ----------------------------------------------------------------------------- case 6
def test_case06_user_errors_are_one_line_without_a_traceback(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    (tmp_path / "no-model").mkdir()
    (tmp_path / "a-file").write_text("x\n")
    out = str(tmp_path / "p.jsonl")
    cases = [
        (diva_args(files, out, "--device", "cuda"), "--device: cuda was asked for, but torch sees no CUDA GPU"),
        (diva_args(files, out, "--encoder", str(tmp_path / "missing")), "no such folder"),
        (diva_args(files, out, "--encoder", "./missing/model"), "no such folder"),
        (diva_args(files, out, "--encoder", str(tmp_path / "no-model")), "without config.json"),
        (diva_args(files, out, "--encoder", str(tmp_path / "missing.txt")), "no such file"),
        (diva_args(files, out, "--run-dir", str(tmp_path / "a-file")), "is a file, not a folder"),
        (["diva", "--train", str(files), "--predict", str(files / "predict.jsonl"), "--out", out], "--train: "),
        (["synth", "--out", str(tmp_path / "a-file")], "is a file, not a folder"),
        (["synth", "--out", str(tmp_path / "c"), "--songs", "0"], "--songs: must be at least 20 (got 0)"),
        (["xmc", "--train", str(files / "train.jsonl"), "--predict", str(files / "predict.jsonl"), "--out", out, "--device", "cuda"],
         "--device"),
        (["demo", "--data", str(tmp_path / "missing")], "--data: "),
        (["eval", "--pred", str(files), "--truth", str(files / "train.jsonl")], "--pred: "),
    ]
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        assert fragment in one_error_line(capsys, argv[0]), argv


def test_case06_a_hub_name_offline_and_uncached_is_named(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-hf-home" / "hub"))
    assert main(diva_args(files, tmp_path / "p.jsonl", "--encoder", "someone/no-such-model")) == 2
    assert "not in the Hugging Face cache" in one_error_line(capsys, "diva")


def test_debug_shows_the_traceback(files, tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="--device"):
        main(["--debug", *diva_args(files, tmp_path / "p.jsonl", "--device", "cuda")])


# ----------------------------------------------------------------------------- case 9
@pytest.mark.parametrize("change, fragment", [
    (lambda s: s["model_args"].update(tower=10**12), "argument 'tower' of PairClassifier has an unusable value"),
    (lambda s: s["model_args"].update(__class__="os.system"), "'__class__' is not one of its arguments"),
    (lambda s: s["model_args"].update(hidden="rm -rf /"), "argument 'hidden'"),
    (lambda s: s["config"].update(no_such_setting=1), "unknown setting 'no_such_setting'"),
    (lambda s: s["config"].update(rounds="3"), "setting 'rounds' has a value of the wrong type"),
    (lambda s: s.update(round=-1), "'round' and 'n_gold' must be non-negative integers"),
    (lambda s: s.update(shape=[1]), "'shape' must be two non-negative integers"),
    (lambda s: s.update(history={"x": 1}), "'history' must be a list"),
    (lambda s: s.__setitem__("history", [{"round": 0, "val_psp5": "high"}]), "'val_psp5' must be a number"),
])
def test_case09_state_json_is_validated_like_any_input(run_copy, tmp_path, capsys, change, fragment):
    path = last_round(run_copy) / "state.json"
    state = json.loads(path.read_text())
    change(state)
    path.write_text(json.dumps(state))
    assert main(["export", "--run-dir", str(run_copy), "--out", str(tmp_path / "m")]) == 2
    line = one_error_line(capsys, "export")
    assert str(path) in line and fragment in line
    assert not (tmp_path / "m").exists()


def test_case09_state_json_shapes_must_match_the_weights(run_copy, tmp_path, capsys):
    path = last_round(run_copy) / "state.json"
    state = json.loads(path.read_text())
    state["model_args"]["tower"] += 1  # plausible, but not what the weights hold: refused before anything is built
    path.write_text(json.dumps(state))
    assert main(["export", "--run-dir", str(run_copy), "--out", str(tmp_path / "m")]) == 2
    assert "does not match model.safetensors" in one_error_line(capsys, "export")
    path.write_text("[" * 100000)
    assert main(["export", "--run-dir", str(run_copy), "--out", str(tmp_path / "m")]) == 2
    assert "state.json" in one_error_line(capsys, "export")


def test_case09_saved_model_configs_are_checked_before_building(tmp_path):
    folder = save_pretrained(MultiLabelClassifier(4, 3, hidden=4), tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["args"]["hidden"] = 2**30  # would allocate gigabytes if built before the check
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match="does not match model.safetensors"):
        from_pretrained(folder)
    config["args"] = ["not", "an", "object"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match="must be a JSON object"):
        from_pretrained(folder)


# ----------------------------------------------------------------------------- case 10
@pytest.mark.parametrize("argv", [
    ["eval", "--pred", "P", "--truth", "T", "--k", "0"],
    ["clusters", "--assignments", "A", "--method", "npmi", "--min-count", "0", "--out", "O"],
    ["clusters", "--assignments", "A", "--method", "npmi", "--k", "0", "--out", "O"],
    ["clusters", "--assignments", "A", "--method", "npmi", "--merge-m", "-1", "--out", "O"],
    ["propagate", "--playlists", "L", "--tags", "G", "--format", "yes", "--r", "1.5", "--out", "O"],
    ["xmc", "--train", "T", "--predict", "P", "--out", "O", "--epochs", "0"],
    ["xmc", "--train", "T", "--predict", "P", "--out", "O", "--max-length", "4"],
    ["xmc", "--train", "T", "--predict", "P", "--out", "O", "--label-length", "1"],
    ["xmc", "--train", "T", "--predict", "P", "--out", "O", "--top-k", "0"],
    ["xmc", "--train", "T", "--predict", "P", "--out", "O", "--label-clusters", "-1"],
    ["diva", "--train", "T", "--predict", "P", "--out", "O", "--rounds", "-3"],
    ["synth", "--songs", "5"],
    ["diva", "--train", "T", "--predict", "P", "--out", "O", "--method", "nope"],  # argparse's own checks exit 2 as well
])
def test_case10_every_failed_option_check_exits_2(argv, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = {"P": "predict.jsonl", "T": "train.jsonl", "A": "assignments.tsv", "L": "playlists.txt", "G": "tags.txt"}
    argv = [str(files / names[a]) if a in names else ("out" if a == "O" else a) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


# ----------------------------------------------------------------------------- case 11
def test_case11_nothing_is_silently_accepted(files, tmp_path, capsys, run_dir):
    out = str(tmp_path / "p.jsonl")
    assert main(diva_args(files, out, "--rounds", "-3")) == 2
    assert "--rounds: must be at least 0" in one_error_line(capsys, "diva")
    assert main(diva_args(files, out, "--method", "tfidf", "--run-dir", str(tmp_path / "r"))) == 2
    assert "--run-dir: saves DiVa rounds" in one_error_line(capsys, "diva") and not (tmp_path / "r").exists()
    for methods, fragment in (("", "names no method"), (" , ", "names no method"), ("diva,nope", "unknown method 'nope'")):
        assert main(["demo", "--methods", methods]) == 2
        assert f"--methods: {fragment}" in one_error_line(capsys, "demo")
    assert main(["xmc", "--train", str(files / "train.jsonl"), "--predict", str(files / "predict.jsonl"), "--out", out,
                 "--label-clusters", "100000"]) == 2
    assert "--label-clusters: 100000 clusters for the" in one_error_line(capsys, "xmc")


def test_case11_a_refused_resume_names_each_setting_that_differs(tmp_path):
    from labkit.diva.rundir import start_run

    start_run(tmp_path / "r", {"method": "diva", "settings": {"seed": 0, "lr": 0.001}, "data": "abc"})
    with pytest.raises(ValueError, match=r"settings.lr: 0.001 -> 0.01; settings.seed: 0 -> 1"):
        start_run(tmp_path / "r", {"method": "diva", "settings": {"seed": 1, "lr": 0.01}, "data": "abc"})
    with pytest.raises(ValueError, match=r"data differ"):
        start_run(tmp_path / "r", {"method": "diva", "settings": {"seed": 0, "lr": 0.001}, "data": "xyz"})


# ----------------------------------------------------------------------------- case 12
def test_case12_an_interrupted_synth_leaves_the_old_corpus_whole(tmp_path, monkeypatch):
    folder = write_synthetic_corpus(tmp_path / "corpus", n_songs=40, n_playlists=5)
    before = snapshot(folder)
    calls = []

    def interrupted(corpus, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        write_jsonl_corpus.__wrapped__(corpus, path) if hasattr(write_jsonl_corpus, "__wrapped__") else real(corpus, path)

    real = write_jsonl_corpus
    monkeypatch.setattr("labkit.data.synthetic.write_jsonl_corpus", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_corpus(folder, n_songs=80, n_playlists=5, seed=9)
    assert len(calls) == 2 and snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]  # no temporary folder left behind


def test_case12_files_and_folders_are_flushed_and_get_one_mode(tmp_path, monkeypatch, run_dir):
    from labkit.outputs import atomic_write_text

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr("labkit.outputs.os.fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    atomic_write_text(tmp_path / "x.txt", "hello\n")
    assert [Path(p).name.startswith(".x.txt.") for p in synced] == [True, False]  # the file before its rename ...
    assert synced[1] == str(tmp_path)  # ... then its folder, so that the rename survives a crash

    mask = os.umask(0o022)
    try:
        out = tmp_path / "exported"
        assert main(["export", "--run-dir", str(run_dir), "--out", str(out), "--onnx"]) == 0
    finally:
        os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.rglob("*")}
    assert set(modes) == {"config.json", "model.safetensors", "model.onnx", MARKER}
    assert set(modes.values()) == {0o644} and out.stat().st_mode & 0o777 == 0o755
    assert sorted(json.loads((out / MARKER).read_text())["files"]) == ["config.json", "model.onnx", "model.safetensors"]


def test_earlier_outputs_of_the_same_kind_are_replaced_others_are_not(files, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    args = diva_args(files, out, "--method", "tfidf", "--encoder", str(files / "vectors.txt"))
    assert main(args) == 0
    first = out.read_bytes()
    assert main(args) == 0 and out.read_bytes() == first  # an earlier prediction file is the kit's own
    out.write_text("my notes\n")
    assert main(args) == 2 and out.read_text() == "my notes\n"
    assert "is not a labkit predictions file" in one_error_line(capsys, "diva")
    out.write_text("")  # an empty file holds nothing to lose
    assert main(args) == 0 and out.read_bytes() == first


# ----------------------------------------------------------------------------- property
SPELLINGS = ("as given", "dot-dot", "symlink", "hard link", "folder")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.integers(min_value=0, max_value=100), spelling=st.sampled_from(SPELLINGS))
def test_no_command_ever_changes_a_file_it_was_given(files, tmp_path_factory, case, spelling):
    """Whatever output a command is pointed at among its own inputs (by any name, or the folder
    holding them), it exits 2 and every input keeps its bytes and its modification time."""
    cases = output_on_input_cases(files)
    argv, name = cases[case % len(cases)]
    work = tmp_path_factory.mktemp("prop")
    target = Path(argv[-1])
    if spelling == "dot-dot":
        target = target.parent / ".." / target.parent.name / target.name
    elif spelling == "symlink":
        target = work / "link"
        target.symlink_to(files / name)
    elif spelling == "hard link":
        target = work / "hard"
        os.link(files / name, target)
    elif spelling == "folder":
        target = files
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files.iterdir() if p.is_file()}
    assert main([*argv[:-1], str(target)]) == 2
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files.iterdir() if p.is_file()} == before


def test_no_folder_command_ever_changes_the_folder_of_its_inputs(files, run_dir, tmp_path, capsys):
    before_inputs, before_run = snapshot(files), snapshot(run_dir)
    assert main(["synth", "--out", str(files)]) == 2
    assert main(["export", "--run-dir", str(run_dir), "--out", str(run_dir.parent)]) == 2
    assert main(diva_args(files, tmp_path / "p.jsonl", "--run-dir", str(files))) == 2
    capsys.readouterr()
    assert snapshot(files) == before_inputs and snapshot(run_dir) == before_run


def test_empty_items_corpus_round_trip_respects_the_rule(tmp_path):
    path = tmp_path / "c.jsonl"
    write_jsonl_corpus(Corpus([Item("a", ("x",))]), path)
    write_jsonl_corpus(Corpus([Item("b", ("y",))]), path)  # a corpus replaces a corpus
    path.write_text("id,comments\n")
    with pytest.raises(output_error(), match="not a labkit jsonl-corpus file"):
        write_jsonl_corpus(Corpus([Item("c", ("z",))]), path)
    assert torch is not None
