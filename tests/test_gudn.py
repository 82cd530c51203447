"""GUDN and the encoder MLC (seed 003), end to end on a tiny random BERT: losses by hand, label
reinforcement, dynamic negative sampling, the ablation switches, and ``labkit xmc``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from labkit.cli import main
from labkit.gudn.model import GUDN, cls_layers, load_encoder
from labkit.gudn.training import XMCConfig, label_clusters, reinforce_labels, train_xmc

TEXTS = [
    "a mellow piano ballad with soft female vocal", "loud electric guitar rock with male vocal", "mellow piano and strings",
    "energetic rock drums and electric guitar", "soft female vocal over piano", "male vocal rock anthem with drums",
] * 2
LABELS = [["piano", "mellow", "female vocal"], ["rock", "guitar", "male vocal"], ["piano", "mellow"],
          ["rock", "drums", "guitar"], ["female vocal", "piano"], ["male vocal", "rock", "drums"]] * 2


def model_probabilities(model, texts) -> np.ndarray:
    """(n_texts, n_labels) sigmoid of the network's logits, by a forward pass written out here
    (not through ``XMCModel.scores``/``predict``), on one batch as ``predict`` takes them."""
    enc = model.tokenizer(list(texts), padding=True, truncation=True, max_length=model.config.max_length, return_tensors="pt")
    model.model.eval()
    with torch.no_grad():
        return torch.sigmoid(model.model(enc["input_ids"], enc["attention_mask"])).numpy()


def check_top_k(ranked, probs: np.ndarray, tokens, k: int, *, atol: float = 1e-7) -> None:
    """Each item's k labels are the k most probable (ties by vocabulary order), best first, and
    each written score is the model's probability of that label."""
    assert k < probs.shape[1], "top_k must be below the label count, or any ranking would do"
    assert len(ranked) == len(probs)
    for (labels, scores), p in zip(ranked, probs):
        best = sorted(range(len(tokens)), key=lambda j: (-p[j], j))[:k]
        assert list(labels) == [tokens[j] for j in best]
        np.testing.assert_allclose(scores, p[best], rtol=1e-6, atol=atol)


@pytest.fixture(scope="module")
def xmc_bert(tmp_path_factory):
    from conftest import make_tiny_bert

    words = sorted({w for t in TEXTS for w in t.split()} | {w for ls in LABELS for label in ls for w in label.split()} | {","})
    return make_tiny_bert(tmp_path_factory.mktemp("xmc-bert"), words)


def test_label_reinforcement_fills_the_input(xmc_bert):
    _, tokenizer = load_encoder(str(xmc_bert))
    ordered = reinforce_labels(["rock", "male vocal"], tokenizer, 12)
    assert ordered.startswith("rock, male vocal, rock, male vocal")
    assert len(tokenizer(ordered, add_special_tokens=False)["input_ids"]) >= 12
    shuffled = reinforce_labels(["a", "b", "c"], tokenizer, 30, fill="disordered", rng=np.random.default_rng(0))
    parts = shuffled.split(", ")
    assert len(parts) % 3 == 0 and all(sorted(parts[i : i + 3]) == ["a", "b", "c"] for i in range(0, len(parts), 3))
    assert reinforce_labels([], tokenizer, 10) == ""


def test_gudn_losses_by_hand(xmc_bert):
    encoder, tokenizer = load_encoder(str(xmc_bert))
    torch.manual_seed(0)
    model = GUDN(encoder, 4, text_layers=2, label_extra_layers=1, dim=8, hidden=6, dropout=0.0, activation="softmax").eval()
    assert model.text_layers == 2 and model.label_layers == 3  # capped by the tiny model's 3 hidden states
    text = tokenizer(["mellow piano"], return_tensors="pt")
    labels = tokenizer(["piano, mellow"], return_tensors="pt")
    targets = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    text, labels = ({k: v for k, v in t.items() if k != "token_type_ids"} for t in (text, labels))
    parts = model.losses(text, labels, targets)
    e_t, e_l = model.text_features(**text), model.label_features(**labels)
    assert parts["feature"].item() == pytest.approx(0.5 * ((model.guide(e_t) - e_l) ** 2).sum().item(), rel=1e-5)
    link = torch.nn.functional.binary_cross_entropy_with_logits(model.ranker(e_l), targets, reduction="sum")  # sum over labels
    assert parts["link"].item() == pytest.approx(link.item(), rel=1e-5)
    h = torch.softmax(model.ranker.mlp(e_t), dim=-1)  # Eq. 6: W_c softmax(W_1 E + b_1)
    torch.testing.assert_close(model(**text), model.ranker.classifier(h))
    assert set(model.losses(text, labels, targets, feature_guide=False)) == {"class", "link"}


def test_feature_guide_gradient_reaches_the_label_side_only_when_asked(xmc_bert):
    encoder, tokenizer = load_encoder(str(xmc_bert))
    text = {k: v for k, v in tokenizer(["mellow piano"], return_tensors="pt").items() if k != "token_type_ids"}
    labels = {k: v for k, v in tokenizer(["piano, mellow"], return_tensors="pt").items() if k != "token_type_ids"}
    targets = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    for stop, reaches in ((True, False), (False, True)):
        torch.manual_seed(0)
        model = GUDN(encoder, 4, text_layers=2, dim=8, hidden=6, dropout=0.0, stop_label_gradient=stop)
        model.zero_grad()
        model.losses(text, labels, targets, link_guide=False)["feature"].backward()
        grad = model.label_extractor.linear.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) == reaches
        assert model.guide.weight.grad.abs().sum() > 0 and model.text_extractor.linear.weight.grad.abs().sum() > 0


def test_mean_pooling_averages_the_real_tokens(xmc_bert):
    encoder, tokenizer = load_encoder(str(xmc_bert))
    enc = tokenizer(["mellow piano tune", "piano"], padding=True, return_tensors="pt")
    pooled = cls_layers(encoder, enc["input_ids"], enc["attention_mask"], 2, "mean")
    states = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True).hidden_states
    n = int(enc["attention_mask"][1].sum())  # the short text: padding left out of its mean
    torch.testing.assert_close(pooled[1], torch.cat([states[-2][1, :n].mean(0), states[-1][1, :n].mean(0)]))
    torch.testing.assert_close(cls_layers(encoder, enc["input_ids"], enc["attention_mask"], 1), states[-1][:, 0])
    with pytest.raises(ValueError, match="pooling"):
        cls_layers(encoder, enc["input_ids"], enc["attention_mask"], 1, "max")


def test_dynamic_negative_sampling_scores_only_candidate_clusters(xmc_bert):
    encoder, tokenizer = load_encoder(str(xmc_bert))
    clusters = torch.tensor([0, 0, 1, 1, 2, 2])
    model = GUDN(encoder, 6, text_layers=2, dim=8, hidden=6, dropout=0.0, clusters=clusters, top_clusters=1).eval()
    text = {k: v for k, v in tokenizer(["rock drums", "piano"], return_tensors="pt", padding=True).items() if k != "token_type_ids"}
    logits = model(**text)
    finite = torch.isfinite(logits)
    assert (finite.sum(dim=1) == 2).all()  # one cluster of two labels per item
    targets = torch.tensor([[0, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0]])
    cand = model.candidates(model.text_features(**text), targets)
    assert 4 in cand[0].tolist() and 0 in cand[1].tolist()  # the true labels' clusters are always scored
    assert "cluster" in model.losses(text, None, targets)


def test_label_clusters_group_labels_of_similar_texts():
    from labkit.data.vocab import Vocabulary

    vocab = Vocabulary(dict.fromkeys(sorted({label for ls in LABELS for label in ls})))
    groups = label_clusters(TEXTS, vocab.label_matrix(LABELS), 2)
    index = vocab.index
    assert groups[index["rock"]] == groups[index["drums"]] and groups[index["piano"]] == groups[index["mellow"]]
    assert groups[index["rock"]] != groups[index["piano"]]


@pytest.mark.parametrize("options", [dict(method="mlc"), dict(method="gudn", feature_guide=False, fill="disordered"),
                                     dict(method="gudn", feature_guide=False, link_guide=False),
                                     dict(method="gudn", feature_guide=False, label_clusters=3, top_clusters=2, schedule="constant")])
def test_training_end_to_end_learns_the_items(xmc_bert, options):
    """(The cluster variant keeps a constant rate: in these 80 steps the linear decay leaves its
    cluster head one item short; the schedule has its own test below.)"""
    config = XMCConfig(encoder=str(xmc_bert), epochs=40, max_length=24, batch_size=6, dim=32, hidden=32, dropout=0.0, head_lr=3e-3,
                       encoder_lr=1e-3, text_layers=2, device="cpu", progress=False, **options)
    model = train_xmc(TEXTS, LABELS, config)
    assert model.losses[-1] < model.losses[0] and len(model.epoch_seconds) == 40
    ranked = model.predict(TEXTS[:6], top_k=3)
    hits = np.mean([ranked[i][0][0] in LABELS[i] for i in range(6)])
    assert hits >= 5 / 6
    check_top_k(ranked, model_probabilities(model, TEXTS[:6]), model.labels.tokens, 3)


def test_full_gudn_trains_end_to_end(xmc_bert):
    """With the feature guide on, a tiny random encoder's ranking falls back to the label priors
    (the same for every item; seen on MusicCaps after one epoch too): this checks that the whole
    model trains and ranks, not that it separates the items."""
    config = XMCConfig(encoder=str(xmc_bert), epochs=10, max_length=24, batch_size=6, dim=32, hidden=32, dropout=0.1, head_lr=1e-2,
                       encoder_lr=1e-3, text_layers=2, device="cpu", progress=False)
    model = train_xmc(TEXTS, LABELS, config)
    assert model.losses[-1] < model.losses[0]
    ranked = model.predict(TEXTS[:2], top_k=3)  # 3 of the 7 labels
    check_top_k(ranked, model_probabilities(model, TEXTS[:2]), model.labels.tokens, 3)


def test_labkit_xmc_command(xmc_bert, write, tmp_path, monkeypatch):
    import labkit.gudn.training as training

    trained, real_train = [], training.train_xmc

    def keep_model(*args, **kwargs):  # the command's model, to recompute its probabilities here
        trained.append(real_train(*args, **kwargs))
        return trained[-1]

    monkeypatch.setattr(training, "train_xmc", keep_model)
    train = write("train.jsonl", "".join(json.dumps({"id": f"t{i}", "comments": [t], "labels": ls}) + "\n" for i, (t, ls) in enumerate(zip(TEXTS, LABELS))))
    items = write("in.jsonl", "".join(json.dumps({"id": f"p{i}", "comments": [t]}) + "\n" for i, t in enumerate(TEXTS[:3])))
    out = tmp_path / "pred.jsonl"
    assert main(["xmc", "--method", "gudn", "--train", str(train), "--predict", str(items), "--out", str(out), "--encoder", str(xmc_bert),
                 "--epochs", "2", "--max-length", "24", "--device", "cpu", "--top-k", "3"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["p0", "p1", "p2"]
    (model,) = trained
    assert sorted(model.labels.tokens) == sorted({label for ls in LABELS for label in ls})  # 7 labels, 3 written
    # the written labels are the 3 most probable of the trained model, with its probabilities (6 decimals)
    check_top_k([(r["labels"], r["scores"]) for r in rows], model_probabilities(model, TEXTS[:3]), model.labels.tokens, 3, atol=6e-7)


def test_prior_logits_by_hand():
    from labkit.gudn.training import prior_logits

    y = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.float32)  # counts 3, 1, 0 of n = 4
    p = np.array([3.5, 1.5, 0.5]) / 5
    assert np.allclose(prior_logits(y).numpy(), np.log(p / (1 - p)), atol=1e-6)


def test_linear_schedule_rises_then_falls_to_zero():
    from labkit.gudn.training import linear_schedule

    weight = torch.nn.Parameter(torch.zeros(1))
    optimiser = torch.optim.SGD([{"params": [weight], "lr": 2.0}])
    schedule = linear_schedule(optimiser, total_steps=10, warmup=0.2)  # 2 steps up, 8 down
    rates = []
    for _ in range(10):
        rates.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        schedule.step()
    assert np.allclose(rates, [1.0, 2.0, 2.0, 1.75, 1.5, 1.25, 1.0, 0.75, 0.5, 0.25])
    assert optimiser.param_groups[0]["lr"] == 0.0
    constant = linear_schedule(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), total_steps=4, warmup=0.0)
    assert constant.get_last_lr() == [1.0]


@pytest.mark.parametrize("method", ["gudn", "mlc"])
def test_training_starts_from_the_label_priors_and_follows_the_schedule(xmc_bert, method, monkeypatch):
    """With prior_bias the output biases start at the priors' logits (so before any step every item
    ranks the frequent labels first); the linear schedule ends at a learning rate of 0."""
    import labkit.gudn.training as training
    from labkit.gudn.training import prior_logits

    seen = {}
    real_fit = training.fit

    def spy(model, batches, loss, **kwargs):
        head = model.out if method == "mlc" else model.ranker.classifier
        seen["bias"] = head.bias.detach().clone()
        seen["scheduler"] = kwargs["scheduler"]
        return real_fit(model, batches, loss, **kwargs)

    monkeypatch.setattr(training, "fit", spy)
    config = XMCConfig(method=method, encoder=str(xmc_bert), epochs=2, max_length=24, batch_size=5, dim=8, hidden=8, text_layers=2,
                       device="cpu", progress=False)
    model = train_xmc(TEXTS, LABELS, config)
    y = torch.from_numpy(model.labels.label_matrix(LABELS).toarray().astype(np.float32))
    assert torch.allclose(seen["bias"], prior_logits(y))
    assert seen["scheduler"].last_epoch == 2 * 3  # 12 items in batches of 5: 3 steps an epoch
    assert all(rate == 0.0 for rate in seen["scheduler"].get_last_lr())
    flat = XMCConfig(method=method, encoder=str(xmc_bert), epochs=1, max_length=24, batch_size=5, dim=8, hidden=8, text_layers=2,
                     device="cpu", progress=False, prior_bias=False, schedule="constant")
    train_xmc(TEXTS, LABELS, flat)
    assert seen["scheduler"] is None and not torch.allclose(seen["bias"], prior_logits(y))


@pytest.mark.parametrize("options, message", [(dict(schedule="cosine"), "schedule must be one of"), (dict(warmup=1.0), "warmup is a fraction"),
                                              (dict(label_length=1), "label_length must be at least 2")])
def test_config_refuses_unknown_schedules(options, message):
    with pytest.raises(ValueError, match=message):
        XMCConfig(**options)


def test_label_length_sets_the_reinforced_label_sequence(xmc_bert, monkeypatch):
    """GUDN's label side is ``label_length`` tokens wide (special tokens included), and as wide as
    the text's ``max_length`` when it is not given (the paper)."""
    widths = []
    real_losses = GUDN.losses

    def record(self, text, labels, targets, **kwargs):
        widths.append(labels["input_ids"].shape[1])
        return real_losses(self, text, labels, targets, **kwargs)

    monkeypatch.setattr(GUDN, "losses", record)
    options = dict(encoder=str(xmc_bert), epochs=1, max_length=24, batch_size=6, dim=8, hidden=8, text_layers=2, device="cpu", progress=False)
    train_xmc(TEXTS, LABELS, XMCConfig(**options, label_length=6))
    assert widths == [6, 6]  # 12 items in batches of 6
    widths.clear()
    train_xmc(TEXTS, LABELS, XMCConfig(**options))
    assert widths == [24, 24]
