"""An on-disk cache of text embeddings, keyed by encoder and text.

Each encoder gets a folder; each ``put`` writes one shard (``.npy`` vectors and ``.keys`` SHA-1
hashes of the texts), through a temporary file and a rename, so an interrupted run never leaves a
broken shard. Loading reads every shard of the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    """``$LABKIT_CACHE`` or ``~/.cache/labkit``."""
    return Path(os.environ.get("LABKIT_CACHE", Path.home() / ".cache" / "labkit"))


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors of texts already encoded by one encoder (identified by ``encoder_id``)."""

    def __init__(self, encoder_id: str, root: str | Path | None = None) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_id)[-80:] + "-" + text_key(encoder_id)[:10]
        self.folder = Path(root or default_cache_dir()) / "embeddings" / safe
        self._rows: dict[str, np.ndarray] = {}
        if self.folder.is_dir():
            for keys_path in sorted(self.folder.glob("*.keys")):
                vectors_path = keys_path.with_suffix(".npy")
                if not vectors_path.exists():
                    continue
                keys = keys_path.read_text().split()
                vectors = np.load(vectors_path)
                if len(keys) == len(vectors):
                    self._rows.update(zip(keys, vectors))

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, texts: Sequence[str]) -> tuple[list[int], dict[int, np.ndarray]]:
        """(positions of texts not cached, {position: cached vector})."""
        missing, found = [], {}
        for i, text in enumerate(texts):
            vec = self._rows.get(text_key(text))
            if vec is None:
                missing.append(i)
            else:
                found[i] = vec
        return missing, found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (len(texts), dim) as a new shard."""
        if not len(texts):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = [text_key(t) for t in texts]
        name = uuid.uuid4().hex
        tmp_vectors = self.folder / f".{name}.npy.tmp"
        with open(tmp_vectors, "wb") as handle:
            np.save(handle, np.asarray(vectors, dtype=np.float32))
        tmp_keys = self.folder / f".{name}.keys.tmp"
        tmp_keys.write_text("\n".join(keys) + "\n")
        os.replace(tmp_vectors, self.folder / f"{name}.npy")  # vectors first: keys mark a shard complete
        os.replace(tmp_keys, self.folder / f"{name}.keys")
        self._rows.update(zip(keys, np.asarray(vectors, dtype=np.float32)))
