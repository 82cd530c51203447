"""Static word vectors (gensim): pretrained vectors in word2vec text format, or Word2Vec (CBOW or
skip-gram) trained on the corpus. A text's vector is the normalised sum of its words' vectors;
unknown words count as zero vectors, so a text with no known word gets a zero row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..sparse import unit_rows
from ..text.tokenize import tokenize


class StaticEncoder:
    """Texts -> (n, dim) float32 rows of unit length (zero rows where no word is known)."""

    def __init__(self, keyed_vectors, *, lang: str = "en", name: str = "static") -> None:
        self.kv = keyed_vectors
        self.lang = lang
        self.name = name
        self.cache_id = name  # trained vectors add their seed and texts (see ``train``)

    @classmethod
    def from_word2vec_text(cls, path: str | Path, *, lang: str = "en", limit: int | None = None) -> StaticEncoder:
        """Load vectors in word2vec text format (a header line ``count dim``, then ``word v1 v2 ...``).

        A directory, a header that is not two plain integers, a count or dimension the file cannot
        hold (which gensim would allocate first), too few vectors, or NaN/infinity in a vector
        raise :class:`DataFormatError` naming the file; a missing file, FileNotFoundError.
        """
        from gensim.models import KeyedVectors

        from ..data.errors import DataFormatError
        from ..data.textfile import parse_count, require_file

        path = require_file(path)
        with open(path, "rb") as handle:
            header, first = handle.readline().split(), handle.readline().split()
        sizes = [parse_count(token.decode("ascii", "replace")) for token in header]
        if len(sizes) != 2 or None in sizes:
            raise DataFormatError(path, "not a word2vec text file: line 1 must be 'count dim'", line=1)
        count, dim = sizes
        if count and len(first) != dim + 1:
            raise DataFormatError(path, f"not a word2vec text file: expected a word and {dim} numbers", line=2)
        wanted = count if limit is None else min(count, limit)  # the rows gensim allocates up front
        if wanted * (2 * dim + 2) > path.stat().st_size:  # a vector line takes at least 2 bytes a number
            raise DataFormatError(path, f"not a word2vec text file: {count} vectors of {dim} numbers cannot fit", line=1)
        try:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=False, limit=limit)
        except (ValueError, UnicodeDecodeError, EOFError) as err:  # EOFError: fewer vectors than the count
            raise DataFormatError(path, f"not a word2vec text file: {err}") from None
        finite = np.isfinite(kv.vectors).all(axis=1)
        if not finite.all():
            word = kv.index_to_key[int(np.flatnonzero(~finite)[0])]
            raise DataFormatError(path, "the vector holds NaN or infinity", record=word)
        return cls(kv, lang=lang, name=f"vectors:{path.name}")

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        *,
        lang: str = "en",
        dim: int = 100,
        window: int = 5,
        min_count: int = 1,
        skip_gram: bool = False,
        epochs: int = 10,
        seed: int = 0,
        fasttext: bool = False,
    ) -> StaticEncoder:
        """Train gensim Word2Vec (CBOW by default), or FastText with ``fasttext=True`` (unseen
        words then get vectors from their character n-grams), on the tokens of ``texts``; one
        worker, so the same seed gives the same vectors."""
        from gensim.models import FastText, Word2Vec

        sentences = [s for s in (tokenize(t, lang) for t in texts) if s]
        if not sentences:
            raise ValueError("no words to train word vectors on: every text is empty")
        model_class = FastText if fasttext else Word2Vec
        model = model_class(
            sentences=sentences, vector_size=dim, window=window, min_count=min_count,
            sg=int(skip_gram), epochs=epochs, seed=seed, workers=1,
        )
        kind = "fasttext" if fasttext else "word2vec"
        encoder = cls(model.wv, lang=lang, name=f"{kind}:{dim}:{'sg' if skip_gram else 'cbow'}")
        texts_hash = hashlib.sha1("\x1e".join(" ".join(s) for s in sentences).encode()).hexdigest()[:12]
        # what caches key on: the vectors' settings, seed and the texts they were trained on
        encoder.cache_id = f"{encoder.name}:window={window}:min_count={min_count}:epochs={epochs}:seed={seed}:texts={texts_hash}"
        return encoder

    @property
    def dim(self) -> int:
        return int(self.kv.vector_size)

    @property
    def encoder_id(self) -> str:
        return self.name

    @property
    def subword(self) -> bool:
        """True for FastText vectors, which cover unseen words through character n-grams."""
        return hasattr(self.kv, "buckets_word")

    def words(self, text: str) -> list[str]:
        """The words of ``text`` that have vectors; an unknown word joined by hyphens or
        apostrophes ("hip-hop", "rock'n'roll") falls back to its known parts."""
        known = self.kv.__contains__ if self.subword else self.kv.key_to_index.__contains__
        out = []
        for word in tokenize(text, self.lang):
            if known(word):
                out.append(word)
            elif "-" in word or "'" in word:
                out += [part for part in re.split(r"[-']", word) if part and known(part)]
        return out

    def unknown(self, texts: Sequence[str]) -> list[str]:
        """The texts none of whose words have a vector."""
        return [t for t in texts if not self.words(t)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32: the normalised sum of each text's word vectors (zero rows for texts
        with no known word)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        index = self.kv.key_to_index
        for i, text in enumerate(texts):
            words = self.words(text)
            if not words:
                continue
            if self.subword:  # FastText: vectors of unseen words are built from n-grams
                out[i] = np.sum([self.kv[w] for w in words], axis=0)
            else:
                out[i] = self.kv.vectors[[index[w] for w in words]].sum(axis=0)
        return unit_rows(out)
