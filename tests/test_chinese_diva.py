"""DiVa on Chinese comments: candidate forms, language defaults, the encoder trained on the
comments, the vocabulary features, every candidate as a negative, nnPU's gradient ascent, and
scoring gold ∪ harvested labels (``--keep-gold``, ``labkit eval --gold``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from test_diva_run import chinese_corpus

from labkit.cli import main
from labkit.data.corpus import Corpus, Item
from labkit.data.jsonl import Prediction, read_predictions, write_jsonl_corpus
from labkit.diva import DiVaConfig
from labkit.diva.config import CHINESE_DEFAULTS
from labkit.diva.harvest import choose_encoder, keep_gold
from labkit.diva.losses import nnpu
from labkit.diva.pairs import PairSpace, sample_training_pairs
from labkit.embed import DEFAULT_MODEL, StaticEncoder, build_candidate_space
from labkit.text.candidates import candidate_phrases


def test_chinese_candidates_take_the_label_forms_of_muchin():
    phrases = candidate_phrases("声音温暖磁性而又富有质感，感性的情绪，歌曲有张力", lang="zh", max_words=2)
    assert {"感性的", "有张力", "温暖", "磁性"} <= set(phrases)
    assert "有代入感" in candidate_phrases("歌曲有代入感", lang="zh", max_words=3)  # jieba: 有 / 代入 / 感
    assert "的" not in phrases and "有" not in phrases  # alone they are still stopwords
    assert not any(p.startswith("的") for p in phrases)
    # English keeps its rules: "of" closes nothing, and "have" (a stopword) opens nothing
    assert candidate_phrases("the sound of strings, have drums", lang="en") == ["sound", "sound of strings", "strings", "drums"]


def test_language_defaults():
    assert DiVaConfig.for_language("en") == DiVaConfig()
    zh = DiVaConfig.for_language("zh", seed=3)
    assert zh.seed == 3 and all(getattr(zh, k) == v for k, v in CHINESE_DEFAULTS.items())
    assert DiVaConfig.for_language("zh", predict_threshold=0.4).predict_threshold == 0.4  # the caller's settings win
    with pytest.raises(ValueError, match="unknown language"):
        DiVaConfig.for_language("fr")
    assert choose_encoder("auto", "zh")[0] == "fasttext" and choose_encoder(None, "en")[0] == DEFAULT_MODEL
    assert choose_encoder("some/model", "zh") == ("some/model", "as asked")


def _space():
    comments = [["这首歌很伤感，钢琴很美"], ["伤感的吉他"], ["欢快的鼓点，钢琴"]]
    encoder = StaticEncoder.train(["\n".join(c) for c in comments], lang="zh", dim=8, fasttext=True, seed=0)
    return build_candidate_space(comments, ["伤感", "钢琴", "民谣"], encoder, lang="zh", cache=False)


def test_vocabulary_features_are_a_one_hot_of_the_occurring_entry():
    space = _space()
    plain = PairSpace.build(space, include_absent_vocabulary=True)
    with_vocab = PairSpace.build(space, include_absent_vocabulary=True, vocabulary_features=True)
    assert with_vocab.n_features == plain.n_features + 3
    index = space.phrases.index
    items = np.array([0, 0, 1, 2, 0])
    phrases = np.array([index["伤感"], index["钢琴"], index["伤感"], index["钢琴"], index["民谣"]])
    f = with_vocab.features(items, phrases)
    np.testing.assert_array_equal(f[:, : plain.n_features], plain.features(items, phrases))  # stored features unchanged
    np.testing.assert_array_equal(f[:, plain.n_features:], [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])  # 民谣 never occurs
    rows, occurring = with_vocab.occurring_features(items, phrases)
    np.testing.assert_array_equal(rows, [0, 1, 2, 3])
    np.testing.assert_array_equal(occurring, f[:4])
    other = next(j for j, p in enumerate(space.phrases.tokens) if j >= space.n_gold and p in ("欢快", "鼓点", "吉他"))
    assert not with_vocab.features(np.array([2]), np.array([other]))[:, plain.n_features:].any()  # outside the vocabulary


def test_every_candidate_can_be_a_negative():
    space = _space()
    pairs = PairSpace.build(space, include_absent_vocabulary=False)
    positives = sp.csr_matrix((np.ones(2), ([0, 1], [space.phrases.index["伤感"], space.phrases.index["伤感"]])), shape=pairs.candidates.shape)
    rows = np.array([0, 1])
    items, phrases, targets = sample_training_pairs(pairs, positives, rows, np.random.default_rng(0), negatives_per_positive=0, subsample=None)
    got = {(int(i), int(p), int(t)) for i, p, t in zip(items, phrases, targets)}
    expected = {(int(i), int(p), int(positives[i, p] > 0)) for i in rows for p in pairs.candidates[i].indices}
    assert got == expected and len(items) == len(expected)  # each candidate pair once, labelled by the positives
    # diva-light: the other known labels are not negatives
    known = sp.csr_matrix((np.ones(1), ([0], [space.phrases.index["钢琴"]])), shape=pairs.candidates.shape)
    items, phrases, targets = sample_training_pairs(pairs, positives, rows, np.random.default_rng(0), negatives_per_positive=0, subsample=None,
                                                    not_negatives=known)
    assert {(int(i), int(p), int(t)) for i, p, t in zip(items, phrases, targets)} == expected - {(0, space.phrases.index["钢琴"], 0)}


def test_nnpu_gradient_ascent_when_the_negative_risk_falls_below_zero():
    logits = torch.tensor([4.0, 3.0, 2.0], requires_grad=True)  # two unlabelled pairs scored high: R_u^- large
    positive = torch.tensor([True, False, False])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    r_p_plus = bce(logits[:1], torch.ones(1))
    neg = bce(logits[1:], torch.zeros(2)) - 0.5 * bce(logits[:1], torch.zeros(1))
    assert neg.item() > 0  # above zero both forms agree with the hand-computed risk
    for ascent in (False, True):
        assert nnpu(logits, positive, 0.5, ascent=ascent).item() == pytest.approx((0.5 * r_p_plus + neg).item(), rel=1e-6)
    # prior 0.9 with one confident unlabelled pair: R_u^- - pi R_p^- < 0
    logits = torch.tensor([-3.0, -4.0], requires_grad=True)
    positive = torch.tensor([True, False])
    neg = bce(logits[1:], torch.zeros(1)) - 0.9 * bce(logits[:1], torch.zeros(1))
    assert neg.item() < 0
    clamped = nnpu(logits, positive, 0.9)
    assert clamped.item() == pytest.approx(0.9 * bce(logits[:1], torch.ones(1)).item(), rel=1e-6)
    ascent = nnpu(logits, positive, 0.9, ascent=True, gamma=1.0)
    assert ascent.item() == pytest.approx(-neg.item(), rel=1e-6)
    ascent.backward()
    # the objective is -R_u^- + ...: a descent step raises the unlabelled pair's loss as a negative, i.e. its logit
    assert logits.grad[1] < 0
    clamped_logits = logits.detach().clone().requires_grad_(True)
    nnpu(clamped_logits, positive, 0.9).backward()
    assert clamped_logits.grad[1] == 0  # clamping alone leaves the unlabelled pair without any gradient
    # a batch with no unlabelled pair has no negative risk to climb: both forms are pi R_p^+
    only_positive = torch.tensor([-3.0])
    assert nnpu(only_positive, torch.tensor([True]), 0.9, ascent=True).item() == pytest.approx(
        0.9 * bce(only_positive, torch.ones(1)).item(), rel=1e-6)


def test_keep_gold_puts_the_gold_labels_first():
    preds = [Prediction("a", ("x", "g1", "y"), (0.9, 0.8, 0.7)), Prediction("b", (), ())]
    out = keep_gold(preds, [("g1", "g2"), ("g3",)])
    assert out[0] == Prediction("a", ("g1", "g2", "x", "y"), (1.0, 1.0, 0.9, 0.7))
    assert out[1] == Prediction("b", ("g3",), (1.0,))


def test_command_on_chinese_text_with_the_encoder_trained_offline(tmp_path, capsys):
    train, test = chinese_corpus(80, 0, True), chinese_corpus(20, 1, True)
    gold = Corpus([Item(i.id, i.comments, i.labels[:1]) for i in test])  # the experts named one label of two
    write_jsonl_corpus(train, tmp_path / "train.jsonl")
    write_jsonl_corpus(gold, tmp_path / "test1.jsonl")
    write_jsonl_corpus(test, tmp_path / "test2.jsonl")
    base = ["diva", "--train", str(tmp_path / "train.jsonl"), "--predict", str(tmp_path / "test1.jsonl"), "--device", "cpu"]
    assert main([*base, "--out", str(tmp_path / "alone.jsonl")]) == 0
    assert "Chinese (detected); encoder fasttext" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "union.jsonl"), "--keep-gold"]) == 0
    alone, union = read_predictions(tmp_path / "alone.jsonl"), read_predictions(tmp_path / "union.jsonl")
    for a, u, g in zip(alone, union, gold):
        assert u.labels[: len(g.labels)] == g.labels and set(u.labels) == set(a.labels) | set(g.labels)
    hits = sum(len(set(p.labels) & set(test[p.id].labels)) for p in alone)
    assert hits / max(sum(len(p.labels) for p in alone), 1) > 0.5  # mostly the planted labels
    capsys.readouterr()
    # labkit eval --gold scores gold ∪ predictions: the same figures as scoring the --keep-gold file
    truth = ["--truth", str(tmp_path / "test2.jsonl"), "--json"]
    assert main(["eval", "--pred", str(tmp_path / "alone.jsonl"), "--gold", str(tmp_path / "test1.jsonl"), *truth]) == 0
    with_gold = json.loads(capsys.readouterr().out)
    assert main(["eval", "--pred", str(tmp_path / "union.jsonl"), *truth]) == 0
    kept = json.loads(capsys.readouterr().out)
    for key in ("precision", "recall", "coverage"):
        assert with_gold[key] == pytest.approx(kept[key], abs=1e-12)
    mean = lambda values: sum(values) / len(values)
    sets = [(set(a.labels) | set(g.labels), set(t.labels)) for a, g, t in zip(alone, gold, test)]
    assert with_gold["coverage"] == pytest.approx(mean([len(p & t) / len(p | t) for p, t in sets]), abs=1e-12)


def test_eval_gold_names_an_item_it_lacks(tmp_path, capsys):
    write_jsonl_corpus(Corpus([Item("a", ("c",), ("x",)), Item("b", ("c",), ("y",))]), tmp_path / "truth.jsonl")
    write_jsonl_corpus(Corpus([Item("a", ("c",), ("x",))]), tmp_path / "gold.jsonl")
    (tmp_path / "pred.jsonl").write_text('{"id": "a", "labels": ["x"]}\n')
    assert main(["eval", "--pred", str(tmp_path / "pred.jsonl"), "--truth", str(tmp_path / "truth.jsonl"), "--gold",
                 str(tmp_path / "gold.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "gold.jsonl: record 'b': 1 item(s)" in err
