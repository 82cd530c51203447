"""Harvesters (issue 17): trained once, saved, loaded in a fresh process, labelling new comments
exactly as the run that trained them; inductive by construction; folders checked like any input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import SMALL_DIVA
from test_diva_run import chinese_corpus

from labkit.cli import main
from labkit.data.corpus import Corpus, Item
from labkit.data.jsonl import read_jsonl_corpus, read_predictions, stream_jsonl_items, write_jsonl_corpus
from labkit.diva import DiVaConfig, harvest
from labkit.diva.harvester import Harvester
from labkit.embed import StaticEncoder, build_candidate_space
from labkit.embed.space import transform_space
from labkit.errors import DataFormatError
from labkit.paths import sample_data_dir

FAST = dict(SMALL_DIVA, rounds=1)


def _fresh_label(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "labkit", "label", *args], capture_output=True, text=True, env=env)


def test_saved_harvester_labels_the_bundled_test_songs_as_the_run_did_in_a_fresh_process(tmp_path):
    data = sample_data_dir()
    pred, model = tmp_path / "pred.jsonl", tmp_path / "harvester"
    assert main(["diva", "--train", str(data / "train.jsonl"), "--predict", str(data / "test_comments.jsonl"), "--out", str(pred),
                 "--save-model", str(model), "--device", "cpu"]) == 0
    again = tmp_path / "again.jsonl"
    done = _fresh_label(["--model", str(model), "--input", str(data / "test_comments.jsonl"), "--out", str(again), "--batch-size", "50",
                         "--device", "cpu"])
    assert done.returncode == 0, done.stderr
    before, after = read_predictions(pred), read_predictions(again)
    assert [p.id for p in before] == [p.id for p in after] == read_jsonl_corpus(data / "test_comments.jsonl").ids
    assert sum(len(p.labels) for p in before) > len(before)  # it labels, and not by chance alone
    for a, b in zip(before, after):
        assert a.labels == b.labels
        # files round scores to 6 decimals: raw scores within 5e-7 may round one step apart
        assert np.max(np.abs(np.subtract(a.scores, b.scores)), initial=0) <= 1e-6 + 1e-9
    config = json.loads((model / "config.json").read_text())
    assert config["format"] == "labkit-harvester" and config["encoder"]["kind"] == "transformer"
    assert config["space"]["n_items"] == len(read_jsonl_corpus(data / "train.jsonl"))  # fitted on the training songs only
    assert {"phrases.json", "labels.json", "space.safetensors", "encoder.safetensors", "joint.safetensors"} <= {p.name for p in model.iterdir()}
    labels = json.loads((model / "labels.json").read_text())
    assert any(entry["pseudo"] > 0 and entry["gold"] == 0 for entry in labels)  # the harvested vocabulary is kept


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    """(harvest result, train corpus, test corpus) of a small DiVa run on the tiny BERT."""
    from labkit.data.synthetic import make_synthetic_corpus

    corpus = make_synthetic_corpus(120, seed=1, n_playlists=10)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("harvester-cache")))
        result = harvest(corpus.train, corpus.test_comments, method="diva", encoder=str(tiny_bert), config=DiVaConfig(**FAST, device="cpu"))
    return result, corpus.train, corpus.test_comments


def test_scores_match_the_run_and_do_not_depend_on_the_batch(trained, tmp_path):
    result, train, test = trained
    harvester = result.harvester()
    rows = np.arange(len(train), len(train) + len(test))
    in_run = result.run.predict(rows)[rows]
    space, scores = harvester.score(test.comments)
    # the same candidates in the same order of phrases; new phrases may sit in other columns
    for i in range(len(test)):
        a = {result.run.pairs.space.phrases[j]: v for j, v in zip(in_run[i].indices, in_run[i].data)}
        b = {space.phrases[j]: v for j, v in zip(scores[i].indices, scores[i].data)}
        assert a.keys() == b.keys()
        assert max(abs(a[k] - b[k]) for k in a) <= 1e-6
    whole = list(harvester.label(test, batch_size=len(test)))
    for batch_size in (1, 7):
        parts = list(harvester.label(test, batch_size=batch_size))
        assert [p.labels for p in parts] == [p.labels for p in whole]
        assert max(np.max(np.abs(np.subtract(a.scores, b.scores)), initial=0) for a, b in zip(parts, whole)) <= 1e-6
    # an item's labels do not depend on which other items are labelled with it
    alone = list(harvester.label([test.items[3]], batch_size=1))[0]
    assert alone.labels == whole[3].labels
    # saved and loaded in this process: the same scores
    saved = harvester.save_pretrained(tmp_path / "h")
    loaded = Harvester.from_pretrained(saved)
    again = list(loaded.label(test, batch_size=32))
    assert [p.labels for p in again] == [p.labels for p in whole]
    assert max(np.max(np.abs(np.subtract(a.scores, b.scores)), initial=0) for a, b in zip(again, whole)) <= 1e-6


def test_top_k_and_threshold(trained):
    result, _, test = trained
    harvester = result.harvester()
    loose = list(harvester.label(test, threshold=0.0, top_k=3))
    assert all(len(p.labels) == 3 for p in loose)
    assert all(list(p.scores) == sorted(p.scores, reverse=True) for p in loose)
    strict = list(harvester.label(test, threshold=0.99))
    assert sum(len(p.labels) for p in strict) < sum(len(p.labels) for p in harvester.label(test, threshold=0.01))


def test_training_never_sees_the_items_it_labels(tiny_bert):
    """The items to label change nothing in training: the same classifier, the same fitted space."""
    from labkit.data.synthetic import make_synthetic_corpus

    corpus = make_synthetic_corpus(120, seed=1, n_playlists=10)
    other = Corpus([Item(f"x{i}", ("loud trumpet fanfare with marching drums", "an odd new sound")) for i in range(15)])
    config = DiVaConfig(**FAST, device="cpu")
    a = harvest(corpus.train, corpus.test_comments, method="diva", encoder=str(tiny_bert), config=config)
    b = harvest(corpus.train, other, method="diva", encoder=str(tiny_bert), config=config)
    wa, wb = a.run.model.state_dict(), b.run.model.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    fa, fb = a.run.pairs.space.fitted, b.run.pairs.space.fitted
    assert fa.phrases == fb.phrases and np.array_equal(fa.phrase_vectors, fb.phrase_vectors) and np.array_equal(fa.idf, fb.idf)
    assert np.array_equal(fa.context.axes, fb.context.axes)


def test_new_phrases_get_the_encoders_vector_and_the_fitted_idf():
    comments = [["sad piano ballad"], ["happy guitar song"], ["sad guitar"]]
    encoder = StaticEncoder.train(["\n".join(c) for c in comments] + ["violin solo"], dim=8, seed=0)
    space = build_candidate_space(comments, ["piano"], encoder, lang="en", cache=False)
    new = transform_space(space.fitted, [["violin solo", "sad piano"]], encoder)
    assert new.phrases.tokens[: len(space.phrases)] == space.phrases.tokens
    added = new.phrases.tokens[len(space.phrases):]
    assert added == sorted(added) and "violin" in added  # new phrases after the fitted ones, alphabetically
    j = new.phrases.index["violin"]
    np.testing.assert_allclose(new.phrase_vectors[j], encoder.encode(["violin"])[0], atol=1e-6)
    assert new.idf[j] == pytest.approx(np.log(3)) and new.idf[new.phrases.index["sad"]] == pytest.approx(np.log(3 / 2))
    with pytest.raises(ValueError, match="fitted with encoder"):
        transform_space(space.fitted, [["sad"]], StaticEncoder.train(["other words"], dim=8))


def test_chinese_harvester_carries_its_word_vectors(tmp_path):
    train, test = chinese_corpus(80, 0, True), chinese_corpus(20, 1, False)
    write_jsonl_corpus(train, tmp_path / "train.jsonl")
    write_jsonl_corpus(test, tmp_path / "in.jsonl")
    pred, model = tmp_path / "pred.jsonl", tmp_path / "zh-harvester"
    assert main(["diva", "--train", str(tmp_path / "train.jsonl"), "--predict", str(tmp_path / "in.jsonl"), "--out", str(pred),
                 "--save-model", str(model), "--device", "cpu", "--rounds", "0"]) == 0
    encoder = json.loads((model / "encoder.json").read_text())
    assert encoder["kind"] == "static" and encoder["subword"] and "伤感" in encoder["words"]
    again = tmp_path / "again.jsonl"
    done = _fresh_label(["--model", str(model), "--input", str(tmp_path / "in.jsonl"), "--out", str(again), "--batch-size", "6"])
    assert done.returncode == 0, done.stderr
    before, after = read_predictions(pred), read_predictions(again)
    assert [p.labels for p in before] == [p.labels for p in after] and any(p.labels for p in after)
    assert max(np.max(np.abs(np.subtract(a.scores, b.scores)), initial=0) for a, b in zip(before, after)) <= 1e-6 + 1e-9


@pytest.fixture
def saved(trained, tmp_path):
    return trained[0].harvester().save_pretrained(tmp_path / "saved")


def test_loading_checks_the_folder(saved, tmp_path, tiny_bert):
    config = json.loads((saved / "config.json").read_text())
    with pytest.raises(DataFormatError, match="no such folder"):
        Harvester.from_pretrained(tmp_path / "nothing")
    (saved / "joint.safetensors").rename(tmp_path / "joint.safetensors")
    with pytest.raises(DataFormatError, match="joint.safetensors.*missing"):
        Harvester.from_pretrained(saved)
    (tmp_path / "joint.safetensors").rename(saved / "joint.safetensors")
    phrases = json.loads((saved / "phrases.json").read_text())
    (saved / "phrases.json").write_text(json.dumps(phrases[::-1]))
    with pytest.raises(DataFormatError, match="phrases.json.*SHA-256"):
        Harvester.from_pretrained(saved)
    (saved / "phrases.json").write_text(json.dumps(phrases))
    Harvester.from_pretrained(saved)  # as saved: loads
    (saved / "config.json").write_text(json.dumps(dict(config, kit_version="0.0.1")))
    with pytest.raises(DataFormatError, match="saved by labkit 0.0.1"):
        Harvester.from_pretrained(saved)
    assert Harvester.from_pretrained(saved, allow_other_version=True).config.predict_threshold == config["settings"]["predict_threshold"]
    (saved / "config.json").write_text(json.dumps(dict(config, format="something-else")))
    with pytest.raises(DataFormatError, match="not a labkit harvester"):
        Harvester.from_pretrained(saved)
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match="not the one this harvester was trained with"):
        Harvester.from_pretrained(saved, encoder="all-MiniLM-L6-v2")  # another encoder: other probe vectors


def test_label_command_reports_bad_input_in_one_line_and_writes_nothing(saved, tmp_path, capsys):
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"id": "a", "comments": ["soft piano"]}\n{"id": "b", "comments": "soft piano"}\n')
    out = tmp_path / "pred.jsonl"
    assert main(["label", "--model", str(saved), "--input", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.replace("\r", "\n").splitlines() if "error" in line]
    assert len(errors) == 1 and f"{bad}:2:" in errors[0] and "Traceback" not in err and "Loading weights" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".pred")]
    keep = tmp_path / "notes.txt"
    keep.write_text("my notes\n")
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "a", "comments": ["soft piano"]}\n')
    assert main(["label", "--model", str(saved), "--input", str(good), "--out", str(keep)]) == 2
    assert keep.read_text() == "my notes\n"
    assert main(["label", "--model", str(tmp_path), "--input", str(good), "--out", str(out)]) == 2
    assert "not a labkit harvester folder" in capsys.readouterr().err
    assert main(["label", "--model", str(saved), "--input", str(good), "--out", str(out), "--threshold", "2"]) == 2
    assert main(["label", "--model", str(saved), "--input", str(good), "--out", str(out), "--top-k", "1"]) == 0
    assert len(read_predictions(out)[0].labels) <= 1


def test_save_model_is_checked_before_training(tmp_path, capsys):
    data = sample_data_dir()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    base = ["diva", "--train", str(data / "train.jsonl"), "--predict", str(data / "test_comments.jsonl"), "--out", str(tmp_path / "p.jsonl")]
    assert main([*base, "--save-model", str(foreign)]) == 2
    assert "thesis.tex" in capsys.readouterr().err and (foreign / "thesis.tex").read_text() == "x"
    assert main([*base, "--method", "eq2", "--save-model", str(tmp_path / "new")]) == 2
    assert "--save-model" in capsys.readouterr().err and not (tmp_path / "p.jsonl").exists()


def test_export_covers_a_harvesters_classifier(saved, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    out = tmp_path / "exported"
    assert main(["export", "--harvester", str(saved), "--out", str(out), "--onnx"]) == 0
    assert {"model.onnx", "model.safetensors", "config.json"} <= {p.name for p in out.iterdir()}
    harvester = Harvester.from_pretrained(saved)
    items, labels = harvester.fitted.phrase_vectors[:3], harvester.fitted.phrase_vectors[3:6]
    features = np.zeros((3, harvester.model.config["n_features"]), np.float32)
    got = ort.InferenceSession(str(out / "model.onnx")).run(["logits"], {"items": items, "labels": labels, "features": features})[0]
    with torch.no_grad():
        expected = harvester.model(torch.from_numpy(items), torch.from_numpy(labels), torch.from_numpy(features)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_streamed_items_are_the_corpus_items(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes('\ufeff{"id": "a", "comments": ["x"]}\r\n\n{"id": "b", "comments": ["y\u2028z"], "labels": ["l", "l"]}\n'.encode())
    assert list(stream_jsonl_items(path)) == read_jsonl_corpus(path).items
    path.write_bytes(b'{"id": "a", "comments": ["x"]}\n{"id": "a", "comments": ["\xff"]}\n')
    with pytest.raises(DataFormatError, match=":2:"):
        list(stream_jsonl_items(path))


def test_a_new_phrase_takes_its_vector_from_its_own_items_comments(tiny_bert):
    from labkit.embed import TransformerEncoder

    encoder = TransformerEncoder(str(tiny_bert), cache=False, progress=False)
    space = build_candidate_space([["sad piano"], ["happy guitar"], ["sad guitar"]], ["piano"], encoder, lang="en", cache=False)
    new = transform_space(space.fitted, [["soft drums"], ["loud drums, sad"]], encoder)
    j = new.phrases.index["drums"]
    assert j >= len(space.phrases)
    entries = [int(np.flatnonzero((np.repeat(np.arange(2), np.diff(new.counts.indptr)) == i) & (new.counts.indices == j))[0])
               for i in range(2)]
    rows = [int(np.flatnonzero(new.own_entries == e)[0]) for e in entries]
    first, second = new.own_vectors[rows[0]], new.own_vectors[rows[1]]
    assert np.linalg.norm(first) == pytest.approx(1, abs=1e-5) and not np.allclose(first, second)  # its use in each item
    alone = transform_space(space.fitted, [["loud drums, sad"]], encoder)
    np.testing.assert_allclose(alone.own_vectors[int(np.flatnonzero(alone.counts.indices[alone.own_entries] == alone.phrases.index["drums"])[0])],
                               second, atol=1e-6)  # the same in any batch
    assert not any(new.counts.indices[new.own_entries] < len(space.phrases))  # known phrases keep their fitted vectors


def test_items_built_in_batches_are_the_items_built_at_once():
    comments = [["sad piano ballad"], ["happy guitar song"], ["sad guitar"]]
    encoder = StaticEncoder.train(["\n".join(c) for c in comments] + ["violin solo cello duet drums"], dim=8, seed=0)
    space = build_candidate_space(comments, ["piano"], encoder, lang="en", cache=False)
    new = [["violin solo", "sad piano"], ["cello duet"], ["drums, violin"], [], ["happy cello"]]
    whole = transform_space(space.fitted, new, encoder, batch_size=100)
    parts = transform_space(space.fitted, new, encoder, batch_size=2)
    assert parts.phrases == whole.phrases and (parts.counts != whole.counts).nnz == 0
    assert (parts.comment_share != whole.comment_share).nnz == 0 and np.array_equal(parts.idf, whole.idf)
    np.testing.assert_array_equal(parts.pair_bounds, whole.pair_bounds)
    np.testing.assert_array_equal(parts.item_vectors, whole.item_vectors)
    np.testing.assert_allclose(parts.phrase_vectors, whole.phrase_vectors, atol=1e-7)
