"""The widgets driven from Python: set values, click buttons, and check the state and what the
plots hold. (The real-browser test is tests/test_browser.py.)"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import new_small_run as new_run

from labkit.data.tagging import read_assignments
from labkit.diva.state import load_state
from labkit.diva.tuning import JointScoreTuner
from labkit.paths import sample_audio_dir
from widgets import ClipPlayer, ClusterExplorer, DiVaStepper, ThresholdTuner


@pytest.fixture(scope="module")
def corpus_space(synthetic_space):
    return synthetic_space


@pytest.fixture
def planted():
    """Three tight groups of 10 tags on a circle; tags of groups 0 and 1 always co-occur."""
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5
    vectors = np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(30, 8))
    tags = [f"tag{i:02d}" for i in range(30)]
    counts = np.arange(30) + 1
    items = sp.lil_matrix((40, 30))
    for item in range(40):
        group = (0, 1) if item < 20 else (2,)
        for g in group:
            items[item, 10 * g + item % 10] = 1
    return tags, vectors, counts, items.tocsr()


def test_cluster_explorer_reclusters_selects_merges_and_exports(planted, tmp_path):
    tags, vectors, counts, items = planted
    explorer = ClusterExplorer(tags, vectors, counts, items_by_tags=items, k=3, projection="pca")
    table = explorer.table
    assert table["cluster"].nunique() == 3 and len(explorer.figure.data[0].x) == 30
    assert all(len(set(table["cluster"][table["tag"].isin(tags[10 * g: 10 * g + 10])])) == 1 for g in range(3))
    assert list(explorer.figure.data[0].text) == list(table["tag"])
    explorer.k.value = 2
    assert explorer.table["cluster"].nunique() == 2
    explorer.min_count.value = 21  # tags 20..29 only
    assert len(explorer.table) == 10 and len(explorer.figure.data[0].x) == 10
    explorer.min_count.value = 1
    explorer.k.value = 3
    heard = []
    explorer.on_select(heard.append)
    members = explorer.show_cluster(int(explorer.table["cluster"][explorer.table["tag"] == "tag00"].iloc[0]))
    assert sorted(members) == tags[:10] and heard[-1] == members
    assert members[0] == "tag09"  # most frequent first
    assert "tag09" in explorer.members.value
    explorer.select_points([0, 1])
    assert heard[-1] == explorer.selected and len(explorer.selected) == 2
    merged = explorer.merge()
    assert len(merged) == 1 and explorer.table["cluster"].nunique() == 2
    out = explorer.export(tmp_path / "clusters.tsv")
    written = pd.read_csv(out, sep="\t")
    assert list(written.columns) == ["tag", "cluster", "count"] and len(written) == 30
    explorer.projection.value = "tsne"
    assert set(explorer._projections) == {"pca", "tsne"}
    with pytest.raises(ValueError, match="differ in length"):
        ClusterExplorer(tags[:5], vectors, counts)
    given = np.arange(60, dtype=float).reshape(30, 2)
    mapped = ClusterExplorer(tags, vectors, counts, k=3, projection="umap", coordinates={"umap": given})
    np.testing.assert_array_equal(np.sort(np.asarray(mapped.figure.data[0].x)), given[:, 0])  # no UMAP fit


def test_threshold_tuner_follows_its_controls(corpus_space):
    corpus, space = corpus_space
    run = new_run(corpus, space)
    run.train()
    rows = run.fit_rows
    tuner = JointScoreTuner(run, complete=[list(corpus.complete[corpus.train.ids[r]]) for r in rows])
    widget = ThresholdTuner(tuner, [corpus.train.ids[r] for r in rows])
    first = widget.view
    assert first.n_joint == run.joint_score().nnz  # the run's own settings
    assert "coverage against complete labels" in widget.summary.value
    widget.classifier_threshold.value = 0.5
    assert widget.view.settings.classifier_threshold == 0.5
    assert widget.view.n_classifier == tuner.view(widget.settings()).n_classifier >= first.n_classifier
    assert f"<b>{widget.view.n_classifier}</b> classifier" in widget.summary.value
    widget.switches["SN"].value = False
    assert "SN" not in widget.view.settings.use
    g_hist = np.asarray(widget.figure.data[4].x)
    np.testing.assert_allclose(np.sort(g_hist), np.sort(np.log10(widget.view.g[tuner.occurs][widget.view.g[tuner.occurs] > 0])))
    widget.tau.value = 1e-2
    shapes = widget.figure.layout.shapes
    assert shapes[0].x0 == pytest.approx(-2.0)
    widget.item.value = 3
    assert tuner.item_table(3, widget.view)["phrase"].iloc[0] in widget.item_view.value
    assert widget.last_update_seconds > 0


def test_clip_player_steps_selects_and_follows_the_explorer(planted):
    folder = sample_audio_dir()
    table = read_assignments(folder / "tags.tsv")
    gold = table.groupby("item")["tag"].apply(list).to_dict()
    player = ClipPlayer(folder, {"gold": gold, "predicted": {"clip-00": {"bass": 0.91, "piano": 0.12}}}, sr=16000)
    assert "clip-00.wav" in player.title.value and player.audio.value == (folder / "clip-00.wav").read_bytes()
    assert "0.91" in player.tag_view.value and "bass" in player.tag_view.value
    z = np.asarray(player.figure.data[0].z)
    assert z.shape[0] == 96 and z.shape[1] > 80
    player.step(-1)
    assert "clip-11.wav" in player.title.value  # wraps around
    found = player.select(player.clips_with_tags(["whistle"]))
    assert found and all("whistle" in gold[c] for c in found)
    assert f"1 of {len(found)}" in player.title.value
    tags, vectors, counts, items = planted
    explorer = ClusterExplorer(["bass", "piano", "drums", "whistle", "fast"], np.eye(5), [6, 5, 6, 5, 4], k=2, projection="pca")
    player.follow(explorer)
    explorer.select_points([list(explorer.table["tag"]).index("piano")])
    ids = [player.clip_id(i) for i in player.playlist]
    assert ids == sorted({c for c, ts in gold.items() if "piano" in ts} | {"clip-00"})  # clip-00: predicted piano
    player.select(None)
    assert len(player.playlist) == 12


def test_diva_stepper_runs_a_round_by_hand_redoes_it_and_saves(corpus_space, tmp_path):
    corpus, space = corpus_space
    run = new_run(corpus, space)
    stepper = DiVaStepper(run, [*corpus.train.ids, *corpus.test_comments.ids])
    assert "CPU" in stepper.device_label.value
    assert not stepper.buttons["train"].disabled and stepper.buttons["infer"].disabled and stepper.next_button.disabled
    stepper.buttons["train"].click()
    assert stepper.stage == "train" and run.model is not None and stepper.progress.value == 1
    stepper.buttons["infer"].click()
    stepper.buttons["joint score"].click()
    options = stepper.proposal_list.options
    assert len(options) == len(run.proposals()) > 1
    rejected = options[0][1]
    stepper.proposal_list.value = (rejected,)
    stepper.filter.value = "zzz-no-such-text"
    assert stepper.proposal_list.options == () and stepper.proposal_list.value == ()
    stepper.filter.value = ""
    stepper.proposal_list.value = (rejected,)
    stepper.buttons["select"].click()
    row, phrase = rejected
    assert run.pseudo[row, space.phrases.index[phrase]] == 0
    assert run.pseudo.nnz == len(options) - 1
    assert list(stepper.history_figure.data[1].y) == [run.history[0].new_from_joint]
    stepper.next_button.click()
    assert stepper.buttons["train"].description == "fine-tune" and run.round == 1
    before = run.pseudo.copy()
    weights = {k: v.clone() for k, v in run.model.state_dict().items()}
    stepper.buttons["train"].click()
    stepper.buttons["infer"].click()
    stepper.redo_button.click()
    assert run.round == 1 and stepper.stage == "start" and (run.pseudo != before).nnz == 0
    assert all(torch_equal(v, run.model.state_dict()[k]) for k, v in weights.items())
    saved = stepper.save(tmp_path / "state")
    again = load_state(new_run(corpus, space), saved)
    rows = np.arange(len(corpus.train), space.n_items)
    assert (again.predict(rows) != run.predict(rows)).nnz == 0 and (again.pseudo != run.pseudo).nnz == 0
    assert again.round == 1 and len(again.history) == len(run.history)
    # a round that adds (almost) nothing ends the run: fit's stop rule, so "next round" is disabled and refused
    stepper.buttons["train"].click()
    stepper.buttons["infer"].click()
    stepper.buttons["joint score"].click()
    stepper.proposal_list.value = tuple(value for _, value in stepper.proposal_list.options)  # reject them all
    stepper.buttons["select"].click()
    assert run.history[-1].new_from_classifier + run.history[-1].new_from_joint == 0
    assert run.stop_reason() is not None and stepper.next_button.disabled and "min_new_fraction" in stepper.next_button.tooltip
    state = run.to_state()
    assert stepper.next_round() is False and run.round == 1 and stepper.stage == "select"
    assert len(run.history) == len(state["history"]) and (run.pseudo != state["pseudo"]).nnz == 0


def torch_equal(a, b):
    import torch

    return torch.equal(a, b)


def test_diva_stepper_saves_a_harvester_that_labels_new_comments(corpus_space, tiny_bert, tmp_path):
    from labkit.diva.harvester import Harvester
    from labkit.embed import TransformerEncoder

    corpus, space = corpus_space
    run = new_run(corpus, space)
    stepper = DiVaStepper(run, [*corpus.train.ids, *corpus.test_comments.ids], encoder=TransformerEncoder(str(tiny_bert), progress=False))
    assert stepper.harvester_button.disabled and "train" in stepper.harvester_button.tooltip  # no classifier yet
    stepper.buttons["train"].click()
    assert not stepper.harvester_button.disabled and not stepper.label_button.disabled
    stepper.harvester_path.value = str(tmp_path / "harvester")
    stepper.harvester_button.click()
    loaded = Harvester.from_pretrained(tmp_path / "harvester")
    comments = list(corpus.test_comments.items[0].comments)
    stepper.new_comments.value = "\n".join(comments)
    stepper.label_button.click()
    expected = next(loaded.label([comments]))
    assert expected.labels and all(label in stepper.label_output.value for label in expected.labels)
    rows = np.array([len(corpus.train)])
    in_run = run.predict(rows)[rows]
    _, fresh = loaded.score([comments])
    assert sorted(fresh.data) == pytest.approx(sorted(in_run.data), abs=1e-6)  # the run's classifier, saved and loaded
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    stepper.harvester_path.value = str(mine)
    stepper.harvester_button.click()  # refused in the log, nothing touched
    assert (mine / "notes.txt").read_text() == "x" and not (mine / "config.json").exists()
