"""Encoders behind one call: texts -> float32 (n, dim), L2-normalised; and the candidate space.

- :class:`TransformerEncoder`: any Hugging Face model name or local path (offline default: the
  bundled all-MiniLM-L6-v2), mean-pooled over chosen layers, cached on disk;
- :class:`StaticEncoder`: word2vec-format vectors or gensim Word2Vec trained on the corpus;
- :func:`build_candidate_space`: items x candidate phrases with item and phrase vectors
  (X2Static-style phrase vectors from one contextual pass).
"""

from ..deprecation import moved_names
from .cache import EmbeddingCache, default_cache_dir
from .space import CandidateSpace, build_candidate_space, phrase_embedder
from .static import StaticEncoder
from .transformer import DEFAULT_MODEL, TransformerEncoder, pick_device, resolve_model


def get_encoder(name_or_path: str = DEFAULT_MODEL, **kwargs):
    """A :class:`StaticEncoder` for ``word2vec`` (trained later) or a ``.txt``/``.vec`` vectors
    file; a :class:`TransformerEncoder` for anything else (model name or folder)."""
    if name_or_path.endswith((".txt", ".vec")):
        return StaticEncoder.from_word2vec_text(name_or_path, lang=kwargs.get("lang", "en"))
    kwargs.pop("lang", None)
    return TransformerEncoder(name_or_path, **kwargs)


__getattr__ = moved_names(__name__, {"TagVectors": "labkit.tagclusters.vectors", "embed_tags": "labkit.tagclusters.vectors",
                                     "cooccurrence_embeddings": "labkit.tagclusters.vectors"})

__all__ = [
    "CandidateSpace", "DEFAULT_MODEL", "EmbeddingCache", "StaticEncoder", "TransformerEncoder",
    "build_candidate_space", "default_cache_dir", "phrase_embedder", "get_encoder", "pick_device", "resolve_model",
]
