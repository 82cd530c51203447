"""DiVa run directories: rounds saved atomically, resumed after a real process kill with the same
predictions as a run never stopped, refused for other data, exported (safetensors and ONNX)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from labkit.cli import main
from labkit.data import read_predictions, write_jsonl_corpus
from labkit.data.synthetic import make_synthetic_corpus
from labkit.diva.rundir import complete_rounds
from labkit.io import from_pretrained, read_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rundir-corpus")
    corpus = make_synthetic_corpus(120, seed=3, n_playlists=10)
    write_jsonl_corpus(corpus.train, folder / "train.jsonl")
    write_jsonl_corpus(corpus.test_comments, folder / "predict.jsonl")
    return folder


def diva_command(corpus_files, tiny_bert, out, run_dir, rounds=2):
    return [sys.executable, "-m", "labkit", "diva", "--train", str(corpus_files / "train.jsonl"), "--predict",
            str(corpus_files / "predict.jsonl"), "--out", str(out), "--encoder", str(tiny_bert), "--rounds", str(rounds),
            "--device", "cpu", "--run-dir", str(run_dir)]


def test_a_killed_run_resumes_to_the_same_predictions(corpus_files, tiny_bert, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", LABKIT_CACHE=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    whole = subprocess.run(diva_command(corpus_files, tiny_bert, tmp_path / "whole.jsonl", tmp_path / "run-whole"),
                           env=env, capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr[-2000:]
    rounds = [r for r, _ in complete_rounds(tmp_path / "run-whole")]
    assert rounds[0] == 0 and len(rounds) >= 2

    killed_dir = tmp_path / "run-killed"
    process = subprocess.Popen(diva_command(corpus_files, tiny_bert, tmp_path / "killed.jsonl", killed_dir), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not complete_rounds(killed_dir) and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)  # mid-round: round 0 is saved, round 1 is under way
    process.wait()
    assert not (tmp_path / "killed.jsonl").exists()
    saved = [r for r, _ in complete_rounds(killed_dir)]
    assert saved and saved[-1] < rounds[-1]
    leftovers = [p.name for p in killed_dir.iterdir() if p.name.startswith(".")]  # a half-written round, if any, is hidden

    resumed = subprocess.run(diva_command(corpus_files, tiny_bert, tmp_path / "killed.jsonl", killed_dir),
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert [r for r, _ in complete_rounds(killed_dir)] == rounds
    a, b = read_predictions(tmp_path / "whole.jsonl"), read_predictions(tmp_path / "killed.jsonl")
    assert [(p.id, p.labels) for p in a] == [(p.id, p.labels) for p in b]
    np.testing.assert_allclose([s for p in a for s in p.scores], [s for p in b for s in p.scores], rtol=0, atol=1e-6)
    assert all(name.startswith(".round-") for name in leftovers)

    # another corpus in the same run directory is refused, naming what differs
    other = make_synthetic_corpus(120, seed=4, n_playlists=10)
    write_jsonl_corpus(other.train, tmp_path / "other.jsonl")
    command = diva_command(corpus_files, tiny_bert, tmp_path / "x.jsonl", killed_dir)
    command[command.index("--train") + 1] = str(tmp_path / "other.jsonl")
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "data differ" in refused.stderr

    # export: safetensors + config, and ONNX checked against PyTorch
    assert main(["export", "--run-dir", str(killed_dir), "--out", str(tmp_path / "export"), "--onnx"]) == 0
    exported = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert exported == ["config.json", "labkit-folder.json", "model.onnx", "model.safetensors"]
    config = read_config(tmp_path / "export")
    assert config["model"] == "pair_classifier" and config["extra"]["round"] == rounds[-1]
    assert from_pretrained(tmp_path / "export").config == config["args"]
    run_info = json.loads((killed_dir / "run.json").read_text())
    assert run_info["method"] == "diva" and len(run_info["data"]) == 16


def test_export_of_an_empty_folder_says_so(tmp_path, capsys):
    assert main(["export", "--run-dir", str(tmp_path), "--out", str(tmp_path / "out")]) != 0
    assert "no complete round" in capsys.readouterr().err
