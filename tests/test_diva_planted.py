"""DiVa against EQ. 2 on the planted out-of-vocabulary labels of the bundled synthetic corpus.

``data/synthetic`` plants label groups whose less frequent members are outside the experts'
vocabulary (``label_groups.tsv``, column ``in_gold_vocab``); each test item's complete label set
(``test2.jsonl``) holds 2.4 such labels on average, 288 over the 120 test items, and every one of
them is a candidate phrase of its item's comments. Both methods run with the default settings
(seed 0, on the CPU so that a GPU's different arithmetic cannot move the numbers) on one candidate
space of the bundled MiniLM, and are measured on the test items by

- OOV recall: the share of the 288 planted OOV labels that are predicted for their item;
- OOV precision: of the predicted labels outside the gold vocabulary, the share that are in the
  item's complete label set.

Measured on CPU with seed 0: DiVa 53/288 = 0.184 recall, 53/63 = 0.841 precision; EQ. 2
52/288 = 0.181 recall, 52/69 = 0.754 precision. So with seed 0 they are level on recall (one
label apart), DiVa being the more precise. That is not a general DiVa win: with seeds 1, 2
and 3, EQ. 2 reached 0.510, 0.222 and 0.382 OOV recall (precision 0.875, 0.790, 0.803) against
DiVa's 0.177, 0.125 and 0.177 (precision 0.785, 0.766, 0.773). The test below checks what holds
with seed 0, and fails if either method's rates drop, or if one pulls clearly ahead of the other.
"""

from __future__ import annotations

import csv

import pytest

from labkit.data.protocol import read_protocol
from labkit.diva import DiVaConfig, harvest
from labkit.embed import build_candidate_space, get_encoder
from labkit.paths import sample_data_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(protocol, gold vocabulary, encoder, candidate space over train + test comments), built once."""
    folder = sample_data_dir()
    protocol = read_protocol(folder)
    with open(folder / "label_groups.tsv", encoding="utf-8", newline="") as f:
        groups = list(csv.DictReader(f, delimiter="\t"))
    in_vocab = {row["label"] for row in groups if row["in_gold_vocab"] == "1"}
    assert in_vocab == set(protocol.vocabulary)  # label_groups.tsv and gold_vocab.txt agree
    encoder = get_encoder("all-MiniLM-L6-v2", progress=False)
    with pytest.MonkeyPatch.context() as mp:  # a module-wide cache folder: the autouse one is per test
        mp.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("planted-space-cache")))
        space = build_candidate_space([*protocol.train.comments, *protocol.test.comments], protocol.vocabulary, encoder,
                                      n_fit=len(protocol.train))
    return protocol, in_vocab, encoder, space


def oov_rates(predictions, protocol, in_vocab) -> dict:
    """Pooled over the test items: planted OOV labels found, and predicted OOV labels that are right."""
    assert [p.id for p in predictions] == protocol.test.ids
    planted = [set(labels) - in_vocab for labels in protocol.complete]
    predicted = [set(p.labels) for p in predictions]
    found = sum(len(p & o) for p, o in zip(predicted, planted))
    predicted_oov = [p - in_vocab for p in predicted]
    right = sum(len(p & set(c)) for p, c in zip(predicted_oov, protocol.complete))
    n_planted, n_predicted_oov = sum(map(len, planted)), sum(map(len, predicted_oov))
    return {"found": found, "planted": n_planted, "recall": found / n_planted,
            "right": right, "predicted_oov": n_predicted_oov, "precision": right / n_predicted_oov if n_predicted_oov else 0.0}


def test_diva_and_eq2_harvest_planted_oov_labels(planted):
    protocol, in_vocab, encoder, space = planted
    rates = {}
    for method in ("diva", "eq2"):
        result = harvest(protocol.train, protocol.test, method=method, gold_vocabulary=protocol.vocabulary,
                         config=DiVaConfig(seed=0, progress=False, device="cpu"), encoder=encoder, space=space)
        rates[method] = oov_rates(result.predictions, protocol, in_vocab)
        r = rates[method]
        print(f"{method}: OOV recall {r['found']}/{r['planted']} = {r['recall']:.3f}, "
              f"OOV precision {r['right']}/{r['predicted_oov']} = {r['precision']:.3f}")
    diva, eq2 = rates["diva"], rates["eq2"]
    assert diva["planted"] == eq2["planted"] == 288
    # measured before issue 17 (space fitted on train and test together): DiVa 0.184 recall / 0.841
    # precision, EQ. 2 0.181 / 0.754; fitted on the training songs alone, in the environment CI had on
    # 2026-12-01: DiVa 46/288 = 0.160 / 0.885, EQ. 2 50/288 = 0.174 / 0.758. The same code (028bc3a) in a
    # fresh install on 2026-12-02 (transformers 5.24.0, torch 2.13.0, scikit-learn 1.9.1, numpy 2.4.6)
    # gives DiVa 84/288 = 0.292 / 84/99 = 0.848 and EQ. 2 51/288 = 0.177 / 51/69 = 0.739: the seed-0
    # outcome moves with the installed libraries, so the bounds hold both measurements
    assert diva["recall"] >= 0.15 and diva["precision"] >= 0.84
    assert eq2["recall"] >= 0.16 and eq2["precision"] >= 0.72
    # neither measurement has EQ. 2 harvesting clearly more planted OOV labels than DiVa (50 vs 46, then 51 vs 84)
    assert eq2["found"] <= diva["found"] + 5
    # DiVa's predicted OOV labels are the more precise with seed 0 (53/63 vs 52/69; 84/99 vs 51/69; not with seeds 1-3)
    assert diva["precision"] > eq2["precision"]
