"""Extreme multi-label text classification with GUDN or the MLC baseline: label reinforcement,
label clusters for dynamic negative sampling, training and ranked prediction (``labkit xmc``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data.vocab import Vocabulary
from ..embed.transformer import DEFAULT_MODEL, pick_device
from ..training import fit, index_batches, predict_batches
from .model import GUDN, EncoderMLC, cls_layers, load_encoder

XMC_METHODS = ("gudn", "mlc")
SCHEDULES = ("linear", "constant")


def prior_logits(y: torch.Tensor) -> torch.Tensor:
    """(n_labels,) log(p / (1 - p)) of each label's smoothed frequency p = (count + 0.5) / (n + 1)
    in the (n_items, n_labels) 0/1 targets ``y``."""
    p = (y.sum(dim=0) + 0.5) / (len(y) + 1)
    return torch.log(p) - torch.log1p(-p)


def linear_schedule(optimiser: torch.optim.Optimizer, total_steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Each group's learning rate times a factor rising linearly from 0 over the first
    ``warmup * total_steps`` steps to 1, then falling linearly to 0 at ``total_steps``."""
    rise = max(1, round(warmup * total_steps)) if warmup > 0 else 0

    def factor(step: int) -> float:
        if step < rise:
            return (step + 1) / rise
        return max(0.0, (total_steps - step) / max(1, total_steps - rise))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)


@dataclass
class XMCConfig:
    """method: ``gudn`` or ``mlc``; fill: label reinforcement, ``ordered`` or ``disordered``;
    feature_guide / link_guide: GUDN's two guides (the Table 6 ablation turns them off);
    activation: of the ranking classifier's hidden layer, ``relu`` or Eq. 6's ``softmax``;
    pooling: ``cls`` (the paper) or ``mean`` token vectors, for GUDN and MLC alike (default ``mean``,
    what sentence encoders like the default MiniLM were trained with; chosen on a validation fifth of
    MusicCaps' training part, where after one epoch GUDN reached P@1 0.378 with it and 0.223 with cls);
    stop_label_gradient: E_l is a fixed target in L_feature (see :meth:`GUDN.losses`);
    label_clusters: number of label clusters for dynamic negative sampling (0: full output layer);
    encoder_lr / head_lr: learning rates of the pre-trained encoder and of the new layers;
    schedule: ``linear`` (rise over the first ``warmup`` fraction of the steps, then fall to 0 at
    the last) or ``constant``; prior_bias: the output layer's biases start at the logit of each
    label's frequency in the training items rather than 0 (every label then starts near its base
    rate, instead of the first steps going to pushing hundreds of logits below 0);
    label_length: tokens of the reinforced label sequence (None: ``max_length``, as the paper fills
    it to the text's length; shorter makes GUDN's label side, about half of each step, cheaper)."""

    method: str = "gudn"
    encoder: str = DEFAULT_MODEL
    epochs: int = 5
    max_length: int = 128
    label_length: int | None = None
    batch_size: int = 16
    encoder_lr: float = 5e-5
    head_lr: float = 1e-3
    schedule: str = "linear"
    warmup: float = 0.1
    prior_bias: bool = True
    text_layers: int = 8
    label_extra_layers: int = 2
    dim: int = 512
    hidden: int = 512
    dropout: float = 0.5
    activation: str = "relu"
    pooling: str = "mean"
    stop_label_gradient: bool = True
    fill: str = "ordered"
    feature_guide: bool = True
    link_guide: bool = True
    label_clusters: int = 0
    top_clusters: int = 10
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.method not in XMC_METHODS:
            raise ValueError(f"unknown method {self.method!r}: choose from {XMC_METHODS}")
        if self.fill not in ("ordered", "disordered"):
            raise ValueError(f"fill must be 'ordered' or 'disordered', got {self.fill!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.label_length is not None and self.label_length < 2:
            raise ValueError(f"label_length must be at least 2 tokens (or None: max_length), got {self.label_length}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup is a fraction of the steps in [0, 1), got {self.warmup}")


def reinforce_labels(labels: Sequence[str], tokenizer, max_length: int, *, fill: str = "ordered",
                     rng: np.random.Generator | None = None, sep: str = ", ") -> str:
    """Label reinforcement (seed 003, Sec. 3.5): the label sequence repeated until it fills
    ``max_length`` tokens, in order (``ordered``) or as shuffled copies (``disordered``)."""
    labels = list(labels)
    if not labels:
        return ""
    one = len(tokenizer(sep.join(labels), add_special_tokens=False)["input_ids"]) + 1
    copies = max(1, math.ceil(max_length / max(one, 1)))
    if fill == "ordered":
        parts = labels * copies
    else:
        rng = rng or np.random.default_rng(0)
        parts = [label for _ in range(copies) for label in rng.permutation(labels).tolist()]
    return sep.join(parts)


def label_clusters(texts: Sequence[str], label_matrix, n_clusters: int, *, seed: int = 0) -> np.ndarray:
    """(n_labels,) cluster of each label: labels described by the TF-IDF bag of words of the
    texts that hold them (as LightXML and GUDN), reduced by SVD, then spherical k-means."""
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ..kmeans import SphericalKMeans

    x = TfidfVectorizer(min_df=1).fit_transform(texts)
    reps = sp.csr_matrix(label_matrix).T @ x  # (n_labels, vocabulary)
    dims = max(1, min(64, reps.shape[1] - 1, reps.shape[0] - 1))
    dense = TruncatedSVD(dims, random_state=seed).fit_transform(reps) if dims < reps.shape[1] else reps.toarray()
    dense = dense + 1e-9 * np.random.default_rng(seed).normal(size=dense.shape)  # no zero rows
    return SphericalKMeans(n_clusters=min(n_clusters, len(dense)), random_state=seed).fit(dense).labels_


@dataclass
class XMCModel:
    """A trained classifier with its tokenizer, label vocabulary, settings and seconds per epoch."""

    model: torch.nn.Module
    tokenizer: object
    labels: Vocabulary
    config: XMCConfig
    epoch_seconds: list = field(default_factory=list)
    losses: list = field(default_factory=list)

    def scores(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(n_texts, n_labels) probabilities (0 for labels outside the best clusters)."""
        if not len(texts):
            return np.zeros((0, len(self.labels)))
        device = next(self.model.parameters()).device

        def forward(model: torch.nn.Module, chunk: Sequence[str]) -> torch.Tensor:
            enc = self.tokenizer(list(chunk), padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt").to(device)
            return model(enc["input_ids"], enc["attention_mask"])

        return predict_batches(self.model, texts, batch_size=batch_size, device=device, forward=forward)

    @torch.inference_mode()
    def features(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(n_texts, d) the fine-tuned text features: GUDN's E_t (d = ``dim``), or the MLC's
        pooled last layer (d = the encoder's hidden size), in eval mode."""
        device = next(self.model.parameters()).device
        self.model.eval()
        rows = []
        for start in range(0, len(texts), batch_size):
            enc = self.tokenizer(list(texts[start : start + batch_size]), padding=True, truncation=True,
                                 max_length=self.config.max_length, return_tensors="pt").to(device)
            if isinstance(self.model, GUDN):
                rows.append(self.model.text_features(enc["input_ids"], enc["attention_mask"]).cpu().numpy())
            else:
                rows.append(cls_layers(self.model.encoder, enc["input_ids"], enc["attention_mask"], 1, self.model.pooling).cpu().numpy())
        width = self.model.config["dim"] if isinstance(self.model, GUDN) else self.model.encoder.config.hidden_size
        return np.concatenate(rows) if rows else np.zeros((0, width), dtype=np.float32)

    def save(self, folder):
        """Weights, encoder config, tokenizer, label names, settings and the seconds and mean loss of
        each training epoch (see :mod:`labkit.io`)."""
        from dataclasses import asdict

        from ..io import save_pretrained

        return save_pretrained(self.model, folder, tokenizer=self.tokenizer,
                               extra={"labels": list(self.labels.tokens), "xmc_config": asdict(self.config),
                                      "epoch_seconds": [float(s) for s in self.epoch_seconds], "losses": [float(v) for v in self.losses]})

    @classmethod
    def load(cls, folder, *, device: str = "cpu") -> XMCModel:
        """A model written by :meth:`save`, ready to predict."""
        from ..io import from_pretrained, load_tokenizer, read_config

        extra = read_config(folder).get("extra", {})
        if "labels" not in extra or "xmc_config" not in extra:
            raise ValueError(f"{folder}: saved without its labels and settings (not written by XMCModel.save)")
        config = XMCConfig(**{**extra["xmc_config"], "device": device})
        labels = Vocabulary(dict.fromkeys(extra["labels"]))
        return cls(from_pretrained(folder, device=device), load_tokenizer(folder), labels, config,
                   list(extra.get("epoch_seconds", [])), list(extra.get("losses", [])))

    def predict(self, texts: Sequence[str], *, top_k: int = 10) -> list[tuple[list[str], list[float]]]:
        """Each text's ``top_k`` labels, best first, with their probabilities."""
        probs = self.scores(texts)
        k = min(top_k, probs.shape[1])
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [([self.labels.tokens[j] for j in row], [float(probs[i, j]) for j in row]) for i, row in enumerate(top)]


def train_xmc(texts: Sequence[str], label_sets: Sequence[Sequence[str]], config: XMCConfig | None = None, *,
              on_epoch: Callable[[int, XMCModel], None] | None = None) -> XMCModel:
    """Fine-tune the encoder with GUDN (Eq. 8, guides as configured) or the MLC baseline.
    ``on_epoch(epoch, model)`` is called after each epoch (1-based), e.g. to score a validation set."""
    config = config or XMCConfig()
    if len(texts) != len(label_sets) or not len(texts):
        raise ValueError(f"need as many label sets as texts (and at least one): {len(texts)} texts, {len(label_sets)} label sets")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = pick_device(config.device)
    vocab = Vocabulary(dict.fromkeys(sorted({label for labels in label_sets for label in labels})))
    if not len(vocab):
        raise ValueError("the training items have no labels")
    y = torch.from_numpy(vocab.label_matrix(label_sets).toarray().astype(np.float32))
    encoder, tokenizer = load_encoder(config.encoder, progress=config.progress)
    if config.method == "mlc":
        model = EncoderMLC(encoder, len(vocab), dropout=config.dropout, pooling=config.pooling)
    else:
        clusters = None
        if config.label_clusters:
            clusters = torch.from_numpy(label_clusters(texts, vocab.label_matrix(label_sets), config.label_clusters, seed=config.seed))
        model = GUDN(encoder, len(vocab), text_layers=config.text_layers, label_extra_layers=config.label_extra_layers,
                     dim=config.dim, hidden=config.hidden, dropout=config.dropout, clusters=clusters, top_clusters=config.top_clusters,
                     activation=config.activation, pooling=config.pooling, stop_label_gradient=config.stop_label_gradient)
    if config.prior_bias:
        with torch.no_grad():
            (model.out if config.method == "mlc" else model.ranker.classifier).bias.copy_(prior_logits(y))
    model.to(device)
    encoder_params = list(model.encoder.parameters())
    encoder_ids = {id(p) for p in encoder_params}
    optimiser = torch.optim.AdamW([
        {"params": encoder_params, "lr": config.encoder_lr},
        {"params": [p for p in model.parameters() if id(p) not in encoder_ids], "lr": config.head_lr},
    ])
    use_labels = config.method == "gudn" and (config.feature_guide or config.link_guide)
    result = XMCModel(model, tokenizer, vocab, config)

    def batches(epoch: int) -> list[tuple[np.ndarray]]:
        return index_batches(rng.permutation(len(texts)), config.batch_size)

    def loss(model: torch.nn.Module, idx: np.ndarray) -> torch.Tensor:
        """Eq. 8 on the items ``idx``: their texts, reinforced label sequences (drawing from ``rng``) and targets."""
        text = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=config.max_length, return_tensors="pt").to(device)
        text = {"input_ids": text["input_ids"], "attention_mask": text["attention_mask"]}
        labels = None
        if use_labels:
            length = config.label_length or config.max_length
            sequences = [reinforce_labels(label_sets[i], tokenizer, length, fill=config.fill, rng=rng) for i in idx]
            enc = tokenizer(sequences, padding=True, truncation=True, max_length=length, return_tensors="pt").to(device)
            labels = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        parts = model.losses(text, labels, y[idx].to(device), feature_guide=config.feature_guide, link_guide=config.link_guide)
        return sum(parts.values())

    clock = time.perf_counter()

    def time_epoch(epoch: int, mean_loss: float) -> None:
        nonlocal clock
        result.epoch_seconds.append(time.perf_counter() - clock)
        if on_epoch is not None:
            on_epoch(epoch + 1, result)
            model.train()
        clock = time.perf_counter()

    total_steps = config.epochs * math.ceil(len(texts) / config.batch_size)
    scheduler = linear_schedule(optimiser, total_steps, config.warmup) if config.schedule == "linear" else None
    result.losses = fit(model, batches, loss, epochs=config.epochs, seed=None, device=device, optimiser=optimiser,
                        progress=config.progress, desc=f"{config.method} training", on_epoch=time_epoch, scheduler=scheduler)
    return result
