"""The widgets driven from Python: set values, click buttons, and check the state and what the
plots hold. (The real-browser test is tests/test_browser.py.)"""

import base64
import importlib.util
import struct

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
    trace = explorer.figure.data[0]
    assert table["cluster"].nunique() == 3 and len(trace.x) == 30
    assert all(len(set(table["cluster"][table["tag"].isin(tags[10 * g: 10 * g + 10])])) == 1 for g in range(3))
    assert list(trace.hovertext) == list(table["tag"]) and list(trace.text) == list(table["tag"])  # a small map: every name drawn
    assert len(explorer.legend.children) == 3 and "tag29" in explorer.legend.children[0].description  # largest cluster, top tag
    explorer.k.value = 2
    assert explorer.table["cluster"].nunique() == 2
    explorer.min_count.value = 21  # tags 20..29 only
    assert len(explorer.table) == 10 and len(explorer.figure.data[0].x) == 10
    explorer.min_count.value = 1
    explorer.k.value = 3
    heard = []
    explorer.on_select(heard.append)
    cluster = int(explorer.table["cluster"][explorer.table["tag"] == "tag00"].iloc[0])
    members = explorer.show_cluster(cluster)
    assert sorted(members) == tags[:10] and heard[-1] == members
    assert members[0] == "tag09"  # most frequent first
    assert "tag09" in explorer.members.value and f"(cluster {cluster})" in explorer.members.value
    # picking a cluster highlights exactly its points on the map
    assert sorted(np.asarray(explorer.figure.data[0].x)[list(trace.selectedpoints)]) == sorted(
        explorer.table["x"][explorer.table["tag"].isin(members)])
    # the selection survives re-projection and re-clustering: the same tags, highlighted where they now are
    explorer.projection.value = "tsne"
    assert explorer.selected == members and sorted(np.asarray(trace.text)[list(trace.selectedpoints)]) == sorted(members)
    explorer.k.value = 4
    assert explorer.selected == members and len(trace.selectedpoints) == 10 and "former cluster" in explorer.members.value
    explorer.min_count.value = 6  # tags 5..29: tag00..tag04 fall out of the map, visibly
    assert "5 selected tag(s) fall below min count 6" in explorer.status.value and len(trace.selectedpoints) == 5
    explorer.min_count.value = 1
    explorer.k.value = 3
    explorer.select_points([0, 1])
    assert heard[-1] == explorer.selected and len(explorer.selected) == 2
    selected = list(explorer.selected)
    merged = explorer.merge()
    assert len(merged) == 1 and explorer.table["cluster"].nunique() == 2
    new = int(explorer.table["cluster"][explorer.table["tag"] == "tag00"].iloc[0])
    assert f"→ cluster {new}" in explorer.status.value  # the merge names the new cluster and the old ones in it
    assert explorer.selected == selected and sorted(np.asarray(trace.text)[list(trace.selectedpoints)]) == sorted(selected)
    # legend: isolate one cluster, then hide clusters
    explorer.legend_clicked(new)
    assert len(trace.x) == 20 and "only" in explorer.figure.layout.title.text
    explorer.legend_mode.value = "hide"
    explorer.legend_clicked(new)
    assert len(trace.x) == 10 and "1 cluster(s) hidden" in explorer.figure.layout.title.text
    explorer.show_all()
    assert len(trace.x) == 30
    # search: the tag and its nearest tags by cosine, with the similarities listed
    found = explorer.search("TAG2", k=5)  # case-insensitive, prefix
    assert found[0] == "tag20" and set(found[1:]) <= set(tags[20:]) and len(found) == 6 and "cos " in explorer.members.value
    assert "tag20" in np.asarray(trace.text)[list(trace.selectedpoints)]
    explorer.search("no-such-tag")
    assert "no tag matches" in explorer.status.value and explorer.selected == found
    explorer.clear_selection()
    assert explorer.selected == [] and trace.selectedpoints is None and heard[-1] == []
    out = explorer.export(tmp_path / "clusters.tsv")
    written = pd.read_csv(out, sep="\t")
    assert list(written.columns) == ["tag", "cluster", "count"] and len(written) == 30
    assert set(explorer._projections) == {"pca", "tsne"}
    with pytest.raises(ValueError, match="differ in length"):
        ClusterExplorer(tags[:5], vectors, counts)
    given = np.arange(60, dtype=float).reshape(30, 2)
    mapped = ClusterExplorer(tags, vectors, counts, k=3, projection="umap", coordinates={"umap": given})
    np.testing.assert_array_equal(np.sort(np.asarray(mapped.figure.data[0].x)), given[:, 0])  # no UMAP fit


def test_cluster_explorer_names_the_largest_and_the_selected_tags_of_a_big_map():
    rng = np.random.default_rng(0)
    n = 3000
    vectors = rng.normal(size=(n, 16)).astype(np.float32)
    counts = rng.integers(1, 500, n)
    tags = [f"t{i}" for i in range(n)]
    explorer = ClusterExplorer(tags, vectors, counts, k=250, projection="pca", coordinates={"pca": rng.normal(size=(n, 2))}, max_labels=40)
    text = np.asarray(explorer.figure.data[0].text)
    top = set(np.asarray(tags)[np.argsort(-counts, kind="stable")[:40]])
    assert {t for t in text if t} == top
    colours = np.asarray(explorer.figure.data[0].marker.color)
    assert len(np.unique(colours)) == 250 and len(explorer.legend.children) == 250  # 250 clusters, 250 colours
    chosen = explorer.show_cluster(120)
    text = np.asarray(explorer.figure.data[0].text)
    assert set(chosen) <= {t for t in text if t}  # the selected ones are named too


def test_map_view_helpers_by_hand():
    from labkit.tagclusters.mapview import distinct_colours, find_tags, labelled, merge_sources, nearest_tags

    colours = distinct_colours(400)
    assert len(set(colours)) == 400 and colours[:3] == ["#1f77b4", "#ff7f0e", "#2ca02c"]
    assert find_tags(["Rock", "rock n roll", "hard rock", "pop"], "rock") == [0, 1, 2]
    assert find_tags(["a"], "  ") == []
    v = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    near, sims = nearest_tags(v, 0, 2)
    assert list(near) == [1, 2] and sims == pytest.approx([0.8, 0.0])
    assert list(labelled(np.array([5, 1, 9]), max_labels=3)) == [True, True, True]
    assert list(labelled(np.array([5, 1, 9, 2]), np.array([False, True, False, False]), max_labels=2)) == [True, True, True, False]
    assert merge_sources(np.array([0, 1, 2, 2, -1]), np.array([0, 0, 1, 1, -1])) == {0: [0, 1]}


def test_threshold_tuner_follows_its_controls(corpus_space):
    corpus, space = corpus_space
    run = new_run(corpus, space)
    run.train()
    rows = run.fit_rows
    tuner = JointScoreTuner(run, complete=[list(corpus.complete[corpus.train.ids[r]]) for r in rows])
    widget = ThresholdTuner(tuner, [corpus.train.ids[r] for r in rows])
    first = widget.view
    assert first.n_joint == run.joint_score().nnz  # the run's own settings
    assert "against the complete labels: coverage" in widget.summary.value and "precision" in widget.summary.value
    assert tuner.items_passing(first)[widget.item.value] > 0  # the default item has something that passes
    widget.classifier_threshold.value = 0.5
    assert widget.view.settings.classifier_threshold == 0.5
    assert widget.view.n_classifier == tuner.view(widget.settings()).n_classifier >= first.n_classifier
    assert f"<b>{widget.view.n_classifier}</b> classifier" in widget.summary.value
    changed = tuner.items_changed(first, widget.view)
    assert changed.any() and widget.item.options[0][0].count("●") == 1 and changed[widget.item.options[0][1]] > 0  # changed items first
    assert [changed[v] > 0 for _, v in widget.item.options] == sorted([changed[v] > 0 for _, v in widget.item.options], reverse=True)
    widget.switches["SN"].value = False
    assert "SN" not in widget.view.settings.use
    bars = widget.figure.data[4]  # G
    g = widget.view.g[tuner.occurs]
    assert int(np.sum(bars.y)) == int((g > 0).sum())
    widget.tau.value = 1e-2
    tau_line = widget.figure.data[6]
    assert list(tau_line.x) == pytest.approx([-2.0, -2.0]) and tau_line.name == "τ = 0.01"
    assert widget.figure.layout.xaxis5.title.text == "log10 G" and widget.figure.layout.yaxis5.title.text == "candidates"
    # coverage and precision against the joint-score threshold, the current setting marked
    sweep = tuner.sweep(widget.settings(), "joint_threshold", [1e-7, 1e-3, 1.0])
    assert list(widget.curves.data[0].y)[0] == pytest.approx(sweep["coverage"][0])
    assert sweep["precision"][2] == pytest.approx(tuner.view(widget.settings(), joint_threshold=1.0).precision, nan_ok=True)
    v = tuner.view(widget.settings())
    assert v.precision == pytest.approx(tuner.in_complete[v.passes].mean())
    widget.item.value = 3
    assert tuner.item_table(3, widget.view)["phrase"].iloc[0] in widget.item_view.value
    assert widget.last_update_seconds > 0
    # a factor constant over every candidate is flagged
    assert all(f"{name} is" in widget.notes.value for name in tuner.constant_factors(widget.view))


def test_tuner_number_format():
    from widgets.threshold_tuner import number

    assert [number(x) for x in (0.95312, 1.2345e-5, 0.0, float("nan"), 12.0)] == ["0.953", "1.23e-05", "0", "-", "12"]


def test_clip_player_steps_selects_marks_and_follows_the_explorer(planted):
    folder = sample_audio_dir()
    table = read_assignments(folder / "tags.tsv")
    gold = table.groupby("item")["tag"].apply(list).to_dict()
    right = gold["clip-00"][0]
    player = ClipPlayer(folder, {"gold": gold, "predicted": {"clip-00": {right: 0.91, "zither": 0.12}}}, sr=16000, held_out=["clip-01"])
    assert "clip-00.wav" in player.title.value and "held out" not in player.title.value
    assert base64.b64encode((folder / "clip-00.wav").read_bytes()).decode() in player.view.value
    assert "labkit-playhead" in player.view.value and "requestAnimationFrame" in player.view.value
    picture = base64.b64decode(player.view.value.split("data:image/png;base64,")[1].split("'")[0])
    width, height = struct.unpack(">II", picture[16:24])
    assert picture[:8] == b"\x89PNG\r\n\x1a\n" and height == 96 and width > 80  # bands x frames
    assert f"✓ {right}" in player.tag_view.value and "✗ zither" in player.tag_view.value and "1 of 2 right" in player.tag_view.value
    player.step(1)
    assert "clip-01.wav" in player.title.value and "held out" in player.title.value
    player.step(-2)
    assert "clip-11.wav" in player.title.value  # wraps around
    found = player.select(player.clips_with_tags(["whistle"]))
    assert found and all("whistle" in gold[c] for c in found)
    assert f"1 of {len(found)}" in player.title.value and " autoplay" not in player.view.value
    tags, vectors, counts, items = planted
    explorer = ClusterExplorer(["bass", "piano", "drums", "whistle", "zither"], np.eye(5), [6, 5, 6, 5, 4], k=2, projection="pca")
    player.follow(explorer)
    explorer.select_points([list(explorer.table["tag"]).index("zither")])
    ids = [player.clip_id(i) for i in player.playlist]
    assert ids == ["clip-00"] and " autoplay" in player.view.value and "clips with zither" in player.title.value  # listen: plays it
    explorer.clear_selection()
    assert len(player.playlist) == 12


@pytest.mark.skipif(importlib.util.find_spec("musicnn") is None, reason="the musicnn package is not installed")
def test_clip_player_lists_a_pretrained_taggers_tags_and_scores(tmp_path):
    from labkit.audio import load_audio, pretrained_tagger, tag_waves

    folder = sample_audio_dir()
    gold = read_assignments(folder / "tags.tsv").groupby("item")["tag"].apply(list).to_dict()
    player = ClipPlayer(folder, {"gold": gold}, sr=16000)
    model = pretrained_tagger("musicnn-mtt", cache_dir=tmp_path)
    source = player.add_tagger(model, top_k=3)
    assert list(player.tags) == ["gold", "musicnn"] and set(source) == {p.stem for p in player.clips}
    expected = tag_waves(model, [load_audio(folder / "clip-00.wav", sr=16000)])[0].top(model.tags, 3)
    assert list(source["clip-00"]) == [t for t, _ in expected]  # best first, the tagger's own names
    assert list(source["clip-00"].values()) == pytest.approx([s for _, s in expected], abs=1e-6)
    tag, score = expected[0]
    assert f"{tag} <small>{score:.2f}</small>" in player.tag_view.value  # shown for the current clip, with its score
    assert "✗" not in player.tag_view.value  # its own vocabulary: not marked against the gold tags


def test_diva_stepper_runs_a_round_by_hand_redoes_it_and_saves(corpus_space, tmp_path):
    corpus, space = corpus_space
    run = new_run(corpus, space)
    stepper = DiVaStepper(run, [*corpus.train.ids, *corpus.test_comments.ids], comments=[*corpus.train.comments, *corpus.test_comments.comments])
    assert "CPU" in stepper.device_label.value
    assert not stepper.buttons["train"].disabled and stepper.buttons["infer"].disabled and stepper.next_button.disabled
    assert stepper.redo_button.disabled and stepper.history_box.layout.display == "none"  # nothing to redo, no chart yet
    stepper.buttons["train"].click()
    assert not stepper.redo_button.disabled and "last step: <b>train</b>" in stepper.round_label.value
    assert stepper.log_lines[-1].startswith("  loss") and "column-reverse" in stepper.log_view.value
    assert stepper.stage == "train" and run.model is not None and stepper.progress.value == 1
    stepper.buttons["infer"].click()
    stepper.buttons["joint score"].click()
    options = stepper.proposal_list.options
    assert len(options) == len(run.proposals()) > 1
    rejected = options[0][1]
    assert stepper.proposal_list.value == rejected  # the first proposal is shown with its evidence
    row, phrase = rejected
    assert f"<mark>{phrase}</mark>" in stepper.evidence.value or "none of the" in stepper.evidence.value
    table = run.proposal_table()
    hit = table[(table["row"] == row) & (table["phrase"] == phrase)].iloc[0]
    assert f"probability <b>{hit['probability']:.3g}</b>" in stepper.evidence.value and f"G <b>{hit['G']:.3g}</b>" in stepper.evidence.value
    assert hit["source"] == "joint score" or hit["probability"] >= run.config.pseudo_threshold
    stepper.key_box.value = "r"  # reject by key: the next proposal is shown
    assert stepper.rejected == {rejected} and stepper.proposal_list.value == options[1][1] and stepper.key_box.value == ""
    stepper.key_box.value = "k"
    assert stepper.proposal_list.value == rejected and stepper.proposal_list.options[0][0].startswith("✗")
    stepper.filter.value = "zzz-no-such-text"
    assert stepper.proposal_list.options == () and stepper.proposal_list.value is None
    stepper.filter.value = ""
    assert stepper.rejected == {rejected}
    stepper.buttons["select"].click()
    row, phrase = rejected
    assert run.pseudo[row, space.phrases.index[phrase]] == 0
    assert run.pseudo.nnz == len(options) - 1
    assert list(stepper.history_figure.data[1].y) == [run.history[0].new_from_joint]
    assert all(np.isfinite(y) for y in stepper.history_figure.data[2].y)  # no placeholder points
    stepper.next_button.click()
    assert stepper.buttons["train"].description == "fine-tune" and run.round == 1
    stepper.buttons["train"].click()
    assert "last step: <b>fine-tune</b>" in stepper.round_label.value and "round 1: fine-tune ..." in stepper.log_lines
    stepper.redo_button.click()
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
    stepper.reject_shown_button.click()  # reject them all
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
