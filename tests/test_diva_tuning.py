"""The joint-score tuner: at the run's own settings it makes the run's decisions; settings move
what passes the way the equations say; coverage by hand."""

import copy
import dataclasses

import numpy as np
import pytest
from conftest import new_small_run

from labkit.diva import DiVaConfig
from labkit.diva.tuning import JointScoreTuner, TunerSettings


@pytest.fixture(scope="module")
def trained(synthetic_space):
    corpus, space = synthetic_space
    run = new_small_run(corpus, space)
    run.train()
    return corpus, run


def pairs_of(matrix):
    coo = matrix.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist()))


def test_tuner_at_the_run_settings_makes_the_run_decisions(trained):
    _, run = trained
    tuner = JointScoreTuner(run)
    view = tuner.view()
    from_classifier, from_joint = run.infer(), run.joint_score()
    assert from_joint.nnz > 0
    entries = lambda mask: set(zip(tuner.entry_item[mask].tolist(), tuner.entry_phrase[mask].tolist()))
    assert entries(view.by_classifier) == pairs_of(from_classifier)
    assert entries(view.by_joint) == pairs_of(from_joint)
    assert view.n_joint == from_joint.nnz


@pytest.mark.parametrize("changes", [
    dict(continuous=True), dict(joint_candidates="all", joint_validity="paper"), dict(scores=("SN", "PV", "DA")),
    dict(tau=0.05, joint_threshold=0.0), dict(pseudo_threshold=0.5, max_joint_per_item=3),
], ids=lambda c: ",".join(c))
def test_tuner_and_run_decide_alike_at_other_settings(trained, changes):
    _, run = trained
    other = copy.copy(run)  # the same classifier and labels, other decision settings
    other.config = dataclasses.replace(run.config, **changes)
    tuner = JointScoreTuner(other)
    view = tuner.view()
    from_classifier, from_joint = other.infer(), other.joint_score()
    assert from_classifier.nnz + from_joint.nnz > 0
    entries = lambda mask: set(zip(tuner.entry_item[mask].tolist(), tuner.entry_phrase[mask].tolist()))
    assert entries(view.by_classifier) == pairs_of(from_classifier)
    assert entries(view.by_joint) == pairs_of(from_joint)


def test_tuner_defaults_are_the_run_defaults():
    assert TunerSettings() == TunerSettings.from_config(DiVaConfig())
    assert TunerSettings().joint_threshold == DiVaConfig().joint_threshold


def test_settings_move_what_passes_as_the_equations_say(trained):
    _, run = trained
    tuner = JointScoreTuner(run)
    base = TunerSettings.from_run(run)
    loose, strict = tuner.view(base, classifier_threshold=0.5), tuner.view(base, classifier_threshold=0.99)
    assert loose.n_classifier >= strict.n_classifier
    assert not (strict.by_classifier & ~loose.by_classifier).any()  # a stricter threshold only removes
    free = dict(budget=False, pair_validity=False)
    g_all = tuner.view(base, **free).g
    without_sn = tuner.view(base, use=("SI", "PV", "DA"), **free).g
    sn = tuner.semantic_novelty(base.n_clusters, base.runs)[tuner.entry_phrase]
    np.testing.assert_allclose(g_all, without_sn * sn)
    assert tuner.view(base, tau=10.0, **free).g.max() == 0  # no phrase reaches PV >= 10
    assert set(tuner._sn) == {(base.n_clusters, base.runs)}  # SN computed once per (K, m)
    tuner.view(base, n_clusters=2, runs=1)
    assert (2, 1) in tuner._sn
    capped = tuner.view(base, joint_threshold=0.0)
    counts = np.bincount(tuner.entry_row[capped.by_joint], minlength=len(tuner.rows))
    assert (counts <= tuner.budget).all()
    with pytest.raises(ValueError, match="score parts"):
        tuner.view(base, use=("SI", "XX"))


def test_coverage_and_item_table_by_hand(trained):
    corpus, run = trained
    rows = run.fit_rows[:5]
    complete = [list(corpus.complete[corpus.train.ids[r]]) for r in rows]
    tuner = JointScoreTuner(run, rows=rows, complete=complete)
    view = tuner.view(classifier_threshold=0.5)
    phrases = tuner.phrases
    expected = []
    for pos, _row in enumerate(rows):
        known = {phrases[int(j)] for j in tuner.known_matrix[pos].indices}
        mask = (tuner.entry_row == pos) & (view.by_classifier | view.by_joint)
        predicted = known | {phrases[int(j)] for j in tuner.entry_phrase[mask]}
        truth = set(complete[pos])
        expected.append(len(predicted & truth) / len(predicted | truth))
    assert view.coverage == pytest.approx(np.mean(expected))
    table = tuner.item_table(0, view)
    assert list(table["G"]) == sorted(table["G"], reverse=True)
    assert set(table["passes"]) <= {"", "classifier", "joint score"}
    assert table["complete"].sum() >= 1
    with pytest.raises(ValueError, match="label sets"):
        JointScoreTuner(run, rows=rows, complete=complete[:2])
