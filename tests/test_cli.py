import json
import subprocess
import sys

import pytest

from labkit.cli import COMMANDS, main


def jsonl(path, *objs):
    path.write_text("\n".join(json.dumps(o) for o in objs) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    truth = jsonl(
        tmp_path / "truth.jsonl",
        {"id": "a", "comments": ["x"], "labels": ["sad", "piano"]},
        {"id": "b", "comments": ["y"], "labels": ["rock"]},
        {"id": "c", "comments": ["z"], "labels": ["jazz"]},
    )
    pred = jsonl(
        tmp_path / "pred.jsonl",
        {"id": "a", "labels": ["sad", "rock"], "scores": [0.9, 0.2]},
        {"id": "b", "labels": ["rock"]},
        {"id": "zzz", "labels": ["rock"]},
    )
    train = jsonl(tmp_path / "train.jsonl", {"id": "t1", "comments": [], "labels": ["sad"]}, {"id": "t2", "comments": [], "labels": []})
    return truth, pred, train


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_eval_json(files, capsys):
    truth, pred, train = files
    assert main(["eval", "--pred", str(pred), "--truth", str(truth), "--train", str(train), "--k", "1", "2", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    # a: P=1/2 R=1/2 J=1/3; b: 1, 1, 1; c (missing -> empty): 0
    assert result["precision"] == pytest.approx(0.5)
    assert result["coverage"] == pytest.approx((1 / 3 + 1) / 3)
    assert result["P@1"] == pytest.approx(2 / 3) and result["P@2"] == pytest.approx((1 / 2 + 1 / 2) / 3)
    assert {"recall", "f1", "nDCG@1", "nDCG@2", "PSP@1", "PSnDCG@2"} <= set(result)
    assert "1 predicted id(s)" in captured.err and "'zzz'" in captured.err
    assert "1 item(s)" in captured.err


def test_eval_table_without_train(files, capsys):
    truth, pred, _ = files
    assert main(["eval", "--pred", str(pred), "--truth", str(truth)]) == 0
    out = capsys.readouterr().out
    assert "coverage" in out and "P@5" in out and "PSP" not in out


def test_eval_bad_input_names_file_and_line(files, tmp_path, capsys):
    truth, _, _ = files
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "labels": ["x"]}\n{"id": "b", "labels": "x"}\n')
    assert main(["eval", "--pred", str(bad), "--truth", str(truth)]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    assert main(["eval", "--pred", str(tmp_path / "missing.jsonl"), "--truth", str(truth)]) == 2


def test_eval_musiccaps_gold_coverage(musiccaps_protocol):
    out = subprocess.run(
        [sys.executable, "-m", "labkit", "eval", "--pred", str(musiccaps_protocol / "test1.jsonl"),
         "--truth", str(musiccaps_protocol / "test2.jsonl"), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert f"{json.loads(out)['coverage']:.4f}" == "0.2710"


def test_synth_and_demo(tmp_path, capsys, tiny_bert):
    assert main(["synth", "--out", str(tmp_path), "--songs", "80"]) == 0
    assert main(["demo", "--data", str(tmp_path), "--encoder", str(tiny_bert), "--methods", "tfidf,eq2,diva", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for fragment in ("vocabulary match", "| diva |", "| eq2 |", "coverage", "PSP@5", "SF1"):
        assert fragment in out


def test_console_script_is_installed():
    import shutil
    from pathlib import Path

    script = Path(sys.executable).parent / "labkit"
    exe = str(script) if script.exists() else shutil.which("labkit")
    assert exe, "the labkit console script is not installed"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "eval" in out
