"""Labelling a catalogue (issue 20): synthetic items streamed to JSONL or Parquet, Parquet input,
folders of shards in and out, labelling timed by section, and the Ray engine writing the same bytes
as the local one on a local two-worker cluster."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labkit.cli import main
from labkit.data.itemfiles import count_items, item_shards, stream_items, stream_parquet_items, write_items
from labkit.data.jsonl import prediction_line, read_jsonl_corpus
from labkit.data.synthetic import STREAM_CHUNK, iter_synthetic_items, make_synthetic_corpus
from labkit.diva.catalogue import LabelSettings, label_catalogue
from labkit.errors import DataFormatError
from labkit.timing import recording, section


# ----------------------------------------------------------------------------- synthetic items
def test_synthetic_items_are_seeded_prefixes_labelled_from_the_gold_vocabulary():
    short = list(iter_synthetic_items(50, seed=3))
    longer = list(iter_synthetic_items(STREAM_CHUNK + 5, seed=3))
    assert longer[:50] == short and len(longer) == STREAM_CHUNK + 5
    assert [item.id for item in longer[-2:]] == [f"item-{STREAM_CHUNK + 3:07d}", f"item-{STREAM_CHUNK + 4:07d}"]
    assert list(iter_synthetic_items(50, seed=4)) != short
    vocabulary = set(make_synthetic_corpus(seed=3).gold_vocab)
    assert all(set(item.labels) <= vocabulary and item.comments for item in longer)
    labelled = [item for item in longer if item.labels]
    assert len(labelled) > len(longer) / 2  # most items carry some gold labels
    # a labelled item's comments mention its labels (what DiVa learns from)
    mentioned = sum(any(label in " ".join(item.comments) for label in item.labels) for item in labelled)
    assert mentioned == len(labelled)


def test_synth_items_writes_jsonl_and_parquet_with_the_same_items(tmp_path, capsys):
    jsonl, parquet = tmp_path / "items.jsonl", tmp_path / "items.parquet"
    assert main(["synth", "--items", "120", "--seed", "2", "--out", str(jsonl)]) == 0
    assert main(["synth", "--items", "120", "--seed", "2", "--out", str(parquet)]) == 0
    expected = list(iter_synthetic_items(120, seed=2))
    assert read_jsonl_corpus(jsonl).items == expected
    assert list(stream_parquet_items(parquet, batch_rows=7)) == expected
    assert count_items(jsonl) == count_items(parquet) == 120
    assert main(["synth", "--items", "120", "--out", str(parquet)]) == 0  # its own earlier output: replaced
    capsys.readouterr()
    for argv, option in ((["--items", "0", "--out", str(jsonl)], "--items"), (["--items", "5"], "--out"),
                         (["--items", "5", "--out", str(tmp_path / "items.csv")], "--out")):
        assert main(["synth", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_an_item_file_the_kit_did_not_write_is_never_replaced(tmp_path, capsys):
    foreign = tmp_path / "table.parquet"
    pq.write_table(pa.table({"song": ["a"], "plays": [3]}), foreign)
    before = foreign.read_bytes()
    assert main(["synth", "--items", "10", "--out", str(foreign)]) == 2
    assert "not a labkit parquet-corpus file" in capsys.readouterr().err and foreign.read_bytes() == before
    catalogue = tmp_path / "catalogue.parquet"  # the item columns and more: someone's table, not the kit's
    pq.write_table(pa.table({"id": ["a"], "comments": [["nice"]], "artist": ["x"]}), catalogue)
    before = catalogue.read_bytes()
    assert main(["synth", "--items", "10", "--out", str(catalogue)]) == 2
    assert "not a labkit parquet-corpus file" in capsys.readouterr().err and catalogue.read_bytes() == before
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"note": "mine"}\n')
    with pytest.raises(Exception, match="not a labkit jsonl-corpus file"):
        write_items(iter_synthetic_items(3), notes)
    assert notes.read_text() == '{"note": "mine"}\n'


# ----------------------------------------------------------------------------- Parquet input
def test_parquet_items_are_checked_like_jsonl_items(tmp_path):
    path = tmp_path / "bad.parquet"

    def table(**columns) -> str:
        pq.write_table(pa.table(columns), path)
        return str(path)

    with pytest.raises(DataFormatError, match="no 'comments' column"):
        list(stream_parquet_items(table(id=["a"], text=["x"])))
    with pytest.raises(DataFormatError, match=r"record 'row 2': duplicate id 'a' \(first in row 1\)"):
        list(stream_parquet_items(table(id=["a", "a"], comments=[["x"], ["y"]])))
    with pytest.raises(DataFormatError, match=r"record 'row 2': column 'id' must be a non-empty string"):
        list(stream_parquet_items(table(id=["a", ""], comments=[["x"], ["y"]])))
    with pytest.raises(DataFormatError, match=r"record 'row 1': column 'comments' must hold a list of strings"):
        list(stream_parquet_items(table(id=["a"], comments=["just text"])))
    items = list(stream_parquet_items(table(id=["a", "b"], comments=[["x"], []], labels=[["p", "p", "q"], None], extra=[1, 2])))
    assert [(i.id, i.comments, i.labels) for i in items] == [("a", ("x",), ("p", "q")), ("b", (), None)]
    path.write_text('{"id": "a"}\n')
    with pytest.raises(DataFormatError, match="not a Parquet file"):
        list(stream_parquet_items(path))


def test_a_folder_is_read_as_its_item_shards_in_name_order(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    with pytest.raises(DataFormatError, match="holds no .jsonl or .parquet item files"):
        item_shards(folder)
    items = list(iter_synthetic_items(9))
    write_items(items[4:], folder / "b.parquet")
    write_items(items[:4], folder / "a.jsonl")
    (folder / "notes.txt").write_text("not an item file\n")
    assert [p.name for p in item_shards(folder)] == ["a.jsonl", "b.parquet"]
    assert [item for shard in item_shards(folder) for item in stream_items(shard)] == items
    assert count_items(folder) == 9


# ----------------------------------------------------------------------------- timing
def test_sections_add_their_seconds_only_while_recorded(monkeypatch):
    clock = iter([10.0, 10.5, 20.0, 21.25, 30.0, 30.5])
    monkeypatch.setattr("labkit.timing.time.perf_counter", lambda: next(clock))
    with section("unrecorded"):  # reads no clock at all
        pass
    with recording() as outer:
        with section("a"):  # 0.5 s
            pass
        with recording() as inner:
            with section("a"):  # 1.25 s, in both tables
                pass
        with section("b"):  # 0.5 s
            pass
    assert outer == {"a": 1.75, "b": 0.5} and inner == {"a": 1.25}


# ----------------------------------------------------------------------------- labelling
@pytest.fixture(scope="module")
def harvester_folder(tmp_path_factory):
    """A word-vector harvester (diva-static, word2vec on the comments) trained on 300 synthetic songs."""
    work = tmp_path_factory.mktemp("catalogue")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABKIT_CACHE", str(work / "cache"))
        assert main(["synth", "--songs", "300", "--out", str(work / "corpus")]) == 0
        assert main(["diva", "--method", "diva-static", "--encoder", "word2vec", "--rounds", "0", "--device", "cpu",
                     "--train", str(work / "corpus" / "train.jsonl"), "--predict", str(work / "corpus" / "test_comments.jsonl"),
                     "--out", str(work / "pred.jsonl"), "--save-model", str(work / "harvester")]) == 0
    return work / "harvester"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """(items, a JSONL file of them, a folder of two JSONL shards and one Parquet shard's worth as a Parquet file)."""
    work = tmp_path_factory.mktemp("items")
    items = list(iter_synthetic_items(700, seed=5))
    write_items(items, work / "all.jsonl")
    write_items(items, work / "all.parquet")
    (work / "shards").mkdir()
    write_items(items[:260], work / "shards" / "part-0.jsonl")
    write_items(items[260:], work / "shards" / "part-1.jsonl")
    return items, work


def test_local_labelling_of_files_and_folders_writes_the_harvesters_predictions(harvester_folder, catalogue, tmp_path):
    items, work = catalogue
    settings = LabelSettings(str(harvester_folder), batch_size=100)
    harvester = settings.load()
    expected = [prediction_line(p) for p in harvester.label(items, batch_size=100)]
    assert sum(bool(json.loads(line)["labels"]) for line in expected) > len(items) / 2
    with recording() as seconds:
        assert label_catalogue(settings, work / "all.jsonl", tmp_path / "a.jsonl", harvester=harvester) == (700, 0.5)
    assert (tmp_path / "a.jsonl").read_text().splitlines() == expected
    assert {"extraction", "encoding", "features", "scoring", "ranking", "writing"} <= set(seconds)
    assert label_catalogue(settings, work / "all.parquet", tmp_path / "p.jsonl", harvester=harvester)[0] == 700
    assert (tmp_path / "p.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()
    assert label_catalogue(settings, work / "shards", tmp_path / "out", harvester=harvester)[0] == 700
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["labkit-folder.json", "part-0.jsonl", "part-1.jsonl"]
    parts = [(tmp_path / "out" / name).read_text().splitlines() for name in ("part-0.jsonl", "part-1.jsonl")]
    assert [len(p) for p in parts] == [260, 440] and parts[0] + parts[1] == expected


def test_label_command_takes_folders_and_refuses_what_it_may_not_replace(harvester_folder, catalogue, tmp_path, capsys):
    _, work = catalogue
    out = tmp_path / "out"
    assert main(["label", "--model", str(harvester_folder), "--input", str(work / "shards"), "--out", str(out)]) == 0
    assert "700 items labelled" in capsys.readouterr().err
    assert main(["label", "--model", str(harvester_folder), "--input", str(work / "shards"), "--out", str(out)]) == 0  # its own folder
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("chapter one\n")
    capsys.readouterr()
    cases = [
        (["--input", str(work / "shards"), "--out", str(mine)], "--out"),
        (["--input", str(work / "shards"), "--out", str(tmp_path / "y"), "--engine", "local", "--address", "auto"], "--address"),
        (["--input", str(work / "shards"), "--out", str(tmp_path / "y"), "--engine", "ray", "--device", "cuda"], "--device"),
        (["--input", str(work / "all.jsonl"), "--out", str(tmp_path / "y.parquet")], "not 'y.parquet'"),
        (["--input", str(tmp_path / "twins"), "--out", str(tmp_path / "y")], "would both write a.jsonl"),
        (["--input", str(work / "shards"), "--out", str(tmp_path / "y"), "--workers", "0", "--engine", "ray"], "--workers"),
        (["--input", str(work / "shards"), "--out", str(tmp_path / "y"), "--engine", "ray", "--num-gpus-per-worker", "-1"], "--num-gpus-per-worker"),
        (["--input", str(tmp_path / "empty"), "--out", str(tmp_path / "y")], "holds no .jsonl or .parquet item files"),
        (["--input", str(work / "shards"), "--out", str(tmp_path / "y.jsonl")], "folder of shards"),
    ]
    (tmp_path / "empty").mkdir()
    (tmp_path / "twins").mkdir()
    write_items(iter_synthetic_items(3), tmp_path / "twins" / "a.jsonl")
    write_items(iter_synthetic_items(3), tmp_path / "twins" / "a.parquet")
    for argv, named in cases:
        assert main(["label", "--model", str(harvester_folder), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and named in err and "Traceback" not in err, err
    assert (mine / "thesis.tex").read_text() == "chapter one\n" and not (tmp_path / "y").exists()


# ----------------------------------------------------------------------------- Ray
@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster for the module: two CPU workers and one CPU for the read tasks."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_engine_writes_the_local_engines_bytes(ray_cluster, harvester_folder, catalogue, tmp_path):
    _, work = catalogue
    model = ["--model", str(harvester_folder), "--batch-size", "64"]
    assert main(["label", *model, "--input", str(work / "all.jsonl"), "--out", str(tmp_path / "local.jsonl")]) == 0
    assert main(["label", *model, "--input", str(work / "shards"), "--out", str(tmp_path / "local")]) == 0
    assert main(["label", *model, "--input", str(work / "shards"), "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 0
    for name in ("part-0.jsonl", "part-1.jsonl"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert main(["label", *model, "--input", str(work / "all.parquet"), "--out", str(tmp_path / "ray.jsonl"), "--engine", "ray",
                 "--workers", "2"]) == 0
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


def test_ray_engine_reports_a_bad_record_in_one_line_and_writes_nothing(ray_cluster, harvester_folder, catalogue, tmp_path, capsys):
    _, work = catalogue
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jsonl").write_text((work / "shards" / "part-0.jsonl").read_text() + '{"id": "x", "comments": "oops"}\n')
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["label", "--model", str(harvester_folder), "--input", str(bad), "--out", str(out), "--engine", "ray", "--workers", "2"]) == 2
    errors = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if "error" in line]
    assert len(errors) == 1 and str(bad / "a.jsonl") in errors[0] and "comments" in errors[0] and "oops" in errors[0]
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


# ----------------------------------------------------------------------------- training memory
def test_a_large_fit_projects_the_pair_means_as_it_goes(tiny_bert, monkeypatch):
    """Above CONTEXT_MEMORY the fit never holds the (entries, dim) pair means: with a PCA sample
    covering every entry it gives the exact path's pair context; with a smaller sample, a basis
    fitted on a seeded sample of items, the same items and entries and the same zero rows."""
    import numpy as np

    from labkit.embed import TransformerEncoder, build_candidate_space
    from labkit.embed import space as space_module

    corpus = make_synthetic_corpus(60, seed=2, n_playlists=5)
    encoder = TransformerEncoder(str(tiny_bert), progress=False)

    def build():
        return build_candidate_space(corpus.train.comments, corpus.gold_vocab, encoder, lang="en", cache=False)

    exact = build()
    monkeypatch.setattr(space_module, "CONTEXT_MEMORY", 0)
    monkeypatch.setattr(space_module, "PCA_SAMPLE", exact.counts.nnz + 1)
    whole_sample = build()
    assert exact.counts.nnz > 200
    np.testing.assert_allclose(whole_sample.pair_context, exact.pair_context, atol=2e-4)
    np.testing.assert_allclose(whole_sample.fitted.context.axes, exact.fitted.context.axes, atol=1e-5)
    np.testing.assert_array_equal(whole_sample.item_vectors, exact.item_vectors)
    np.testing.assert_allclose(whole_sample.phrase_vectors, exact.phrase_vectors, atol=1e-6)
    monkeypatch.setattr(space_module, "PCA_SAMPLE", 100)
    sampled = build()
    assert sampled.pair_context.shape == exact.pair_context.shape
    zero = ~np.any(exact.pair_context != 0, axis=1)
    np.testing.assert_array_equal(~np.any(sampled.pair_context != 0, axis=1), zero)
    assert not np.allclose(sampled.fitted.context.axes, exact.fitted.context.axes)  # fitted on the sample alone
    assert np.all(np.abs(sampled.pair_context[~zero]).std(axis=0) > 0)
