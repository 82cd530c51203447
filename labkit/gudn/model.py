"""GUDN (seed 003): a guide network for extreme multi-label text classification, and the plain
MLC baseline on the same encoder. Both return logits over the labels.

One pre-trained transformer encodes texts and label sequences. Features are the [CLS] vectors of
the last ``text_layers`` layers concatenated (labels: ``text_layers + label_extra_layers``);
a feature extractor (dropout, ReLU, linear: Eq. 2) maps each to E_t or E_l of size ``dim``.
The losses keep the paper's scales: L_feature sums over feature dimensions and L_link, L_class
over labels, all averaged over items (a BCE averaged over labels instead lets L_feature outweigh
it several hundred times, and E_t and E_l collapse to constants). The ranking classifier (Eq. 6) is y' = W_c act(W_1 E + b_1), act the softmax as written
or (default) a ReLU (see :class:`RankingClassifier`). Training adds the guides:
L_feature = ||G(E_t) - E_l||^2 / 2 (Eq. 3; G the guide's fully connected "shape layer" of
Figure 3, and by default no gradient through E_l: see :meth:`GUDN.losses`) and L_link = BCE(y, classifier(E_l)) (Eq. 4); the total is
L_feature + L_link + L_class (Eq. 8). Labels are only used in training.

Label sets too large for a full output layer use dynamic negative sampling over label clusters
(as LightXML, which GUDN follows): a cluster head scores clusters, and only the labels of the
best ``top_clusters`` clusters (in training, plus the clusters of the true labels) are scored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import register_model


def token_inputs(encoder: nn.Module, batch: int, length: int) -> tuple[dict[str, torch.Tensor], dict]:
    """(batch, length) random token ids of ``encoder``'s vocabulary with full attention masks."""
    inputs = {"input_ids": torch.randint(0, encoder.config.vocab_size, (batch, length)),
              "attention_mask": torch.ones(batch, length, dtype=torch.long)}
    return inputs, {name: {0: "batch", 1: "length"} for name in inputs}


def load_encoder(name_or_path: str, *, progress: bool = True):
    """(model, tokenizer) of a Hugging Face name or local path (the bundled MiniLM by its name);
    ``progress=False`` hides transformers' weight-loading bar."""
    from transformers import AutoModel, AutoTokenizer

    from ..embed.transformer import resolve_model, transformers_bars

    path = resolve_model(name_or_path)
    with transformers_bars(progress):
        return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)


POOLINGS = ("cls", "mean")


def cls_layers(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_layers: int,
               pooling: str = "cls") -> torch.Tensor:
    """(B, n_layers * hidden): the pooled vectors of the last ``n_layers`` layers, concatenated;
    pooling ``cls`` takes the first token (the paper), ``mean`` the mean over the real tokens
    (what sentence encoders such as all-MiniLM-L6-v2 were trained with)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    out = encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    states = out.hidden_states[-n_layers:]
    if pooling == "cls":
        return torch.cat([s[:, 0] for s in states], dim=-1)
    mask = attention_mask.unsqueeze(-1).to(states[0].dtype)
    count = mask.sum(dim=1).clamp(min=1.0)
    return torch.cat([(s * mask).sum(dim=1) / count for s in states], dim=-1)


class FeatureExtractor(nn.Module):
    """Eq. 2: E = W_e ReLU(Dropout(f)) + b_e."""

    def __init__(self, in_dim: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, dim)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.relu(self.dropout(f)))


class RankingClassifier(nn.Module):
    """Eq. 6: logits = W_c act(W_1 E + b_1); ``labels`` restricts the output to some labels.

    activation: ``"softmax"`` as Eq. 6 is written, or ``"relu"`` (the default: with the softmax
    the hidden vector starts near uniform for every text and, in our runs, the ranking collapsed
    to the label priors, the same for every item)."""

    def __init__(self, dim: int, hidden: int, n_labels: int, activation: str = "relu") -> None:
        super().__init__()
        if activation not in ("relu", "softmax"):
            raise ValueError(f"activation must be 'relu' or 'softmax', got {activation!r}")
        self.activation = activation
        self.mlp = nn.Linear(dim, hidden)
        self.classifier = nn.Linear(hidden, n_labels)

    def forward(self, e: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        z = self.mlp(e)
        h = torch.softmax(z, dim=-1) if self.activation == "softmax" else torch.relu(z)
        if labels is None:
            return self.classifier(h)
        w = self.classifier.weight[labels]  # (B, C, hidden) for per-item candidates
        return torch.einsum("bh,bch->bc", h, w) + self.classifier.bias[labels]


@register_model("gudn", not_saved=("encoder", "clusters"))
class GUDN(nn.Module):
    """encoder: a Hugging Face model; n_labels: output size; clusters: (n_labels,) cluster of each
    label for dynamic negative sampling (None: score every label)."""

    def __init__(
        self, encoder: nn.Module, n_labels: int, *, text_layers: int = 8, label_extra_layers: int = 2, dim: int = 512,
        hidden: int = 512, dropout: float = 0.5, clusters: torch.Tensor | None = None, top_clusters: int = 10,
        activation: str = "relu", pooling: str = "cls", stop_label_gradient: bool = True,
    ) -> None:
        super().__init__()
        n_hidden_states = encoder.config.num_hidden_layers + 1  # embeddings + every layer
        self.text_layers = min(text_layers, n_hidden_states)
        self.label_layers = min(text_layers + label_extra_layers, n_hidden_states)
        size = encoder.config.hidden_size
        self.pooling = pooling
        self.stop_label_gradient = stop_label_gradient
        self.encoder = encoder
        self.text_extractor = FeatureExtractor(self.text_layers * size, dim, dropout)
        self.label_extractor = FeatureExtractor(self.label_layers * size, dim, dropout)
        self.ranker = RankingClassifier(dim, hidden, n_labels, activation)
        self.top_clusters = top_clusters
        if clusters is not None:
            clusters = torch.as_tensor(clusters, dtype=torch.long)
            n_clusters = int(clusters.max()) + 1
            self.register_buffer("clusters", clusters)
            self.cluster_head = nn.Linear(dim, n_clusters)
            members = [torch.nonzero(clusters == c).ravel() for c in range(n_clusters)]
            width = max(len(m) for m in members)
            table = torch.full((n_clusters, width), -1, dtype=torch.long)
            for c, m in enumerate(members):
                table[c, : len(m)] = m
            self.register_buffer("cluster_members", table)  # (n_clusters, width), -1 pads
        else:
            self.clusters = None
            self.cluster_head = None
        self.guide = nn.Linear(dim, dim)  # Figure 3: text features pass an FC layer before L_feature
        with torch.no_grad():  # starts as the identity, so that L_feature pulls E_t itself towards E_l
            self.guide.weight.copy_(torch.eye(dim))
            self.guide.bias.zero_()

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, dim) E_t."""
        return self.text_extractor(cls_layers(self.encoder, input_ids, attention_mask, self.text_layers, self.pooling))

    def label_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, dim) E_l from the (reinforced) label sequence."""
        return self.label_extractor(cls_layers(self.encoder, input_ids, attention_mask, self.label_layers, self.pooling))

    def candidates(self, e: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C) label indices to score, -1 padded: the members of the best clusters (and, in
        training, of the clusters holding a true label)."""
        scores = self.cluster_head(e)
        k = self.top_clusters
        if targets is not None:  # every true cluster first, then the best-scored others
            true_clusters = torch.zeros_like(scores).scatter_add_(1, self.clusters.expand(len(e), -1), targets.float()) > 0
            scores = scores + 1e6 * true_clusters
            k = max(k, int(true_clusters.sum(dim=1).max()))
        top = scores.topk(min(k, scores.shape[1]), dim=1).indices  # (B, k)
        return self.cluster_members[top].flatten(1)  # (B, k * width)

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """Random token ids and masks (for the ONNX export) and their dynamic axes."""
        return token_inputs(self.encoder, batch, length)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, n_labels) logits; with label clusters, labels outside the best clusters get -inf."""
        return self.scores(self.text_features(input_ids, attention_mask))

    def scores(self, e: torch.Tensor) -> torch.Tensor:
        """(B, n_labels) logits from E_t; with label clusters, -inf outside the best clusters.
        (Written with a scatter into one spare column for the padding, so that it also exports to ONNX.)"""
        if self.cluster_head is None:
            return self.ranker(e)
        cand = self.candidates(e)
        logits = self.ranker(e, cand.clamp(min=0)).masked_fill(cand < 0, float("-inf"))
        n_labels = self.config["n_labels"]
        target = torch.where(cand >= 0, cand, torch.full_like(cand, n_labels))  # padding -> the spare column
        out = e.new_full((e.shape[0], n_labels + 1), float("-inf"))
        return out.scatter(1, target, logits)[:, :n_labels]

    def losses(self, text: dict, labels: dict | None, targets: torch.Tensor, *, feature_guide: bool = True, link_guide: bool = True) -> dict:
        """The training losses of one batch: ``class`` (Eq. 7) always, ``feature`` (Eq. 3) and
        ``link`` (Eq. 4) when their guide is on (``labels``: the tokenised label sequences).

        L_feature compares G(E_t) with E_l. With ``stop_label_gradient`` (the default) E_l is a
        fixed target there, shaped by L_link alone: pulling both sides together let E_t and E_l
        shrink to the same constant within an epoch in our runs (the guide then guided nothing),
        the collapse that a predictor plus stop-gradient prevents in SimSiam-style training."""
        e_t = self.text_features(**text)
        out = {"class": self._bce(e_t, targets)}
        if labels is not None and (feature_guide or link_guide):
            e_l = self.label_features(**labels)
            if feature_guide:
                target = e_l.detach() if self.stop_label_gradient else e_l
                out["feature"] = 0.5 * ((self.guide(e_t) - target) ** 2).sum(dim=1).mean()  # Eq. 3
            if link_guide:
                out["link"] = self._bce(e_l, targets)
        if self.cluster_head is not None:
            cluster_targets = torch.zeros(len(e_t), self.cluster_head.out_features, device=e_t.device)
            cluster_targets.scatter_add_(1, self.clusters.expand(len(e_t), -1), targets.float())
            out["cluster"] = F.binary_cross_entropy_with_logits(  # summed over clusters, as L_class over labels
                self.cluster_head(e_t), (cluster_targets > 0).float(), reduction="sum") / len(e_t)
        return out

    def _bce(self, e: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Eq. 4 / 7: BCE summed over the labels (the candidates, with clusters), mean over items."""
        if self.cluster_head is None:
            return F.binary_cross_entropy_with_logits(self.ranker(e), targets.float(), reduction="sum") / len(e)
        cand = self.candidates(e.detach(), targets)
        logits = self.ranker(e, cand.clamp(min=0))
        y = torch.gather(targets.float(), 1, cand.clamp(min=0))
        weight = (cand >= 0).float()
        return F.binary_cross_entropy_with_logits(logits, y, weight=weight, reduction="sum") / len(e)


@register_model("encoder_mlc", not_saved=("encoder",))
class EncoderMLC(nn.Module):
    """The MLC baseline on the same encoder: the pooled last layer ([CLS] or mean) -> dropout -> linear."""

    def __init__(self, encoder: nn.Module, n_labels: int, *, dropout: float = 0.5, pooling: str = "cls") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(encoder.config.hidden_size, n_labels)

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """Random token ids and masks (for the ONNX export) and their dynamic axes."""
        return token_inputs(self.encoder, batch, length)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = cls_layers(self.encoder, input_ids, attention_mask, 1, self.pooling)
        return self.out(self.dropout(pooled))

    def losses(self, text: dict, labels: dict | None, targets: torch.Tensor, **_) -> dict:
        return {"class": F.binary_cross_entropy_with_logits(self(**text), targets.float())}
