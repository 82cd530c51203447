"""Folders saved by labkit at main d2a9804 (tests/fixtures/d2a9804) still load, export and resume to
the numbers that version computed, through the new import paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from labkit.data import Corpus, Item
from labkit.diva import DiVaConfig, harvest
from labkit.diva.config import LEGACY_SETTINGS
from labkit.diva.rundir import export_run
from labkit.embed import StaticEncoder
from labkit.io import from_pretrained
from labkit.outputs import folder_kind

OLD = Path(__file__).parent / "fixtures" / "d2a9804"
EXPECTED = json.loads((OLD / "expected.json").read_text())
CONFIG = dict(epochs=1, finetune_epochs=1, rounds=1, kmeans_runs=1, n_clusters=2, pv_sample=4, progress=False, tower=4, hidden=4,
              min_steps=4, joint_threshold=1e-4)


def test_saved_models_load_to_the_same_outputs():
    x = torch.linspace(-1, 1, 12).reshape(2, 6)
    with torch.no_grad():
        np.testing.assert_allclose(from_pretrained(OLD / "mlc")(x).numpy(), EXPECTED["mlc_logits"], rtol=0, atol=1e-6)
        spec = torch.linspace(-1, 1, 16 * 40).reshape(1, 16, 40)
        np.testing.assert_allclose(from_pretrained(OLD / "pons")(spec).numpy(), EXPECTED["pons_logits"], rtol=0, atol=1e-6)
    assert folder_kind(OLD / "mlc") == ("model", []) and folder_kind(OLD / "run" / "round-00") == ("diva-state", [])


def test_an_old_run_directory_exports_and_resumes(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(OLD / "run", run)
    exported = from_pretrained(export_run(run, tmp_path / "m"))
    inputs = [torch.tensor(t) for t in EXPECTED["exported_inputs"]]
    with torch.no_grad():
        np.testing.assert_allclose(exported(*inputs).numpy(), EXPECTED["exported_logits"], rtol=0, atol=1e-6)

    corpus = json.loads((OLD / "corpus.json").read_text())
    train = Corpus([Item(i, tuple(c), tuple(labels)) for i, c, labels in corpus["train"]])
    predict = Corpus([Item(i, tuple(c)) for i, c in corpus["predict"]])
    encoder = StaticEncoder.train([c for item in train for c in item.comments], dim=16, epochs=1, seed=0)
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    # settings added since (LEGACY_SETTINGS) changed what a run computes: the old run resumes with
    # their old values, and with today's defaults it is refused, naming each such setting
    with pytest.raises(ValueError, match="settings.experts_weigh_negatives: False -> True"):
        harvest(train, predict, method="diva", encoder=encoder, config=DiVaConfig(**CONFIG), run_dir=run)
    config = DiVaConfig(**CONFIG, **LEGACY_SETTINGS)
    # that run was fitted on its training and predicted items together (before issue 17): on such a
    # space it resumes at its end and predicts as it did; harvest() now fits on the training items only
    from labkit.diva.harvest import gold_matrix, to_predictions
    from labkit.diva.iteration import DiVa
    from labkit.diva.rundir import fit_in_run_dir
    from labkit.embed import build_candidate_space

    space = build_candidate_space([*train.comments, *predict.comments], train.label_vocabulary().tokens, encoder, lang="en")
    resumed = fit_in_run_dir(DiVa(space, np.arange(len(train)), gold_matrix(space, train.label_sets, space.n_items), config), run)
    rows = np.arange(len(train), space.n_items)
    result = harvest(train, predict, method="diva", encoder=encoder, config=config, run_dir=run)  # finished: resumes at its end
    assert [p.id for p in result.predictions] == predict.ids
    result.predictions = to_predictions(predict.ids, resumed.predict(rows)[rows], space, threshold=config.predict_threshold,
                                        nested=config.suppress_nested)
    assert [[p.id, list(p.labels)] for p in result.predictions] == [[i, labels] for i, labels, _ in EXPECTED["predictions"]]
    np.testing.assert_allclose([s for p in result.predictions for s in p.scores], [s for _, _, ss in EXPECTED["predictions"] for s in ss],
                               rtol=0, atol=1e-6)
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # nothing of the old run rewritten
