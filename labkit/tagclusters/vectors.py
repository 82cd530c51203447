"""Tag embeddings (thesis, Sec. 7 and 8.2): tags as vectors, from any text encoder or from how
tags co-occur on items.

- :func:`embed_tags`: any encoder with ``encode(texts)`` (pretrained word vectors, gensim
  Word2Vec/FastText, the transformer); with word vectors a multi-word tag is the normalised sum of
  its words and unknown words count as zero vectors, so tags with no known word get zero rows and
  are reported;
- :func:`cooccurrence_embeddings`: the skip-gram network of thesis Sec. 8.2 on tag sets: a tag
  (one-hot) predicts the other tags of each item holding it, hidden size floor(sqrt(N)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..sparse import unit_rows
from ..training import fit, index_batches


@dataclass
class TagVectors:
    """tags: the tags, in row order; vectors: (n_tags, dim) float32 unit rows (zero rows for
    ``unknown`` tags: none of their words has a vector); source: what made them."""

    tags: list[str]
    vectors: np.ndarray
    source: str
    unknown: list[str] = field(default_factory=list)

    @property
    def known(self) -> np.ndarray:
        """(n_tags,) bool: rows that are not zero."""
        return np.linalg.norm(self.vectors, axis=1) > 0

    def subset(self, mask: np.ndarray) -> TagVectors:
        keep = np.flatnonzero(mask)
        unknown = set(self.unknown)
        return TagVectors([self.tags[i] for i in keep], self.vectors[keep], self.source, [self.tags[i] for i in keep if self.tags[i] in unknown])


def embed_tags(tags: Sequence[str], encoder) -> TagVectors:
    """Vectors of ``tags`` from an encoder (``encode(texts) -> (n, dim)``); tags whose rows are
    zero (no known word) are listed in ``unknown``."""
    tags = list(tags)
    vectors = unit_rows(encoder.encode(tags))
    unknown = [t for t, zero in zip(tags, np.linalg.norm(vectors, axis=1) == 0) if zero]
    return TagVectors(tags, vectors, getattr(encoder, "encoder_id", type(encoder).__name__), unknown)


class TagSkipGram(nn.Module):
    """One-hot tag -> hidden (dim) -> logits over all tags; the hidden weights are the embeddings."""

    def __init__(self, n_tags: int, dim: int) -> None:
        super().__init__()
        self.config = dict(n_tags=n_tags, dim=dim)
        self.embedding = nn.Embedding(n_tags, dim)  # W: row i is tag i's vector
        self.output = nn.Linear(dim, n_tags, bias=False)  # W'

    def forward(self, tag_ids: torch.Tensor) -> torch.Tensor:
        """(B,) tag indices -> (B, n_tags) logits."""
        return self.output(self.embedding(tag_ids))


def skipgram_samples(items_by_tags: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """The training samples of the tag skip-gram: for every (item, tag) with at least one other
    tag on the item, (item row, tag index) as two int arrays."""
    y = (sp.csr_matrix(items_by_tags) > 0).astype(np.float32).tocsr()
    sizes = np.diff(y.indptr)
    rows = np.repeat(np.arange(y.shape[0]), sizes)
    keep = sizes[rows] > 1
    return rows[keep], y.indices[keep].astype(np.int64)


def cooccurrence_embeddings(
    items_by_tags: sp.spmatrix, tags: Sequence[str], *, dim: int | None = None, epochs: int = 10, batch_size: int = 256,
    lr: float = 1e-2, min_steps: int = 1000, seed: int = 0, device: str = "cpu", progress: bool = True,
) -> TagVectors:
    """Tag vectors from co-occurrence (thesis Sec. 8.2): for each item and each of its tags, the
    tag predicts the item's other tags through a softmax over all tags; the loss is the skip-gram's
    -sum log p(context | tag) (no window: every other tag of the item is context), trained with
    Adam. dim defaults to floor(sqrt(N)); small tag sets train for more epochs, so that at least
    ``min_steps`` optimiser steps are taken. Same seed, same vectors.

    items_by_tags: (n_items, n_tags) binary matrix, columns in ``tags`` order."""
    y = (sp.csr_matrix(items_by_tags) > 0).astype(np.float32).tocsr()
    n_tags = y.shape[1]
    if n_tags != len(tags):
        raise ValueError(f"items_by_tags has {n_tags} columns but {len(tags)} tags were given")
    dim = dim or max(1, int(np.floor(np.sqrt(n_tags))))
    rows, tag_ids = skipgram_samples(y)
    if not len(rows):
        raise ValueError("no item holds two tags: co-occurrence embeddings need tags that occur together")
    torch.manual_seed(seed)  # before the model is built; fit(seed=None) keeps this stream for the training
    rng = np.random.default_rng(seed)
    model = TagSkipGram(n_tags, dim)

    def batches(epoch: int) -> list[tuple[np.ndarray]]:
        return index_batches(rng.permutation(len(rows)), batch_size)

    def loss(model: TagSkipGram, batch: np.ndarray) -> torch.Tensor:
        context = y[rows[batch]].toarray()
        context[np.arange(len(batch)), tag_ids[batch]] = 0.0  # the input tag is not its own context
        target = torch.from_numpy(context).to(device)
        logits = model(torch.from_numpy(tag_ids[batch]).to(device))
        return -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()

    fit(model, batches, loss, epochs=epochs, min_steps=min_steps, lr=lr, seed=None, device=device, progress=progress, desc="tag skip-gram")
    vectors = model.embedding.weight.detach().cpu().numpy()
    return TagVectors(list(tags), unit_rows(vectors), f"cooccurrence-skipgram:{dim}")
