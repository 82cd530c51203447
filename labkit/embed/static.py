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

FASTTEXT_BUCKETS = 1 << 18  # n-gram hash rows of corpus-trained FastText (gensim's default, 2M, takes 800 MB at dim 100)


def _zero_untrained_buckets(kv) -> None:
    """Zero the n-gram rows of FastText vectors ``kv`` that no vocabulary word's n-grams use."""
    used = np.zeros(len(kv.vectors_ngrams), bool)
    for buckets in kv.buckets_word:
        used[np.asarray(buckets, dtype=np.int64)] = True
    kv.vectors_ngrams[~used] = 0.0


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
        worker, so the same seed gives the same vectors.

        FastText hashes n-grams into ``FASTTEXT_BUCKETS`` rows; the rows no training word's n-gram
        reaches were never trained (random initial values) and are set to zero, so an unseen word's
        vector comes from trained n-grams only and a saved encoder needs only the trained rows."""
        from gensim.models import FastText, Word2Vec

        sentences = [s for s in (tokenize(t, lang) for t in texts) if s]
        if not sentences:
            raise ValueError("no words to train word vectors on: every text is empty")
        options = {"bucket": FASTTEXT_BUCKETS} if fasttext else {}
        model_class = FastText if fasttext else Word2Vec
        model = model_class(
            sentences=sentences, vector_size=dim, window=window, min_count=min_count,
            sg=int(skip_gram), epochs=epochs, seed=seed, workers=1, **options,
        )
        if fasttext:
            _zero_untrained_buckets(model.wv)
        kind = "fasttext" if fasttext else "word2vec"
        encoder = cls(model.wv, lang=lang, name=f"{kind}:{dim}:{'sg' if skip_gram else 'cbow'}")
        texts_hash = hashlib.sha1("\x1e".join(" ".join(s) for s in sentences).encode()).hexdigest()[:12]
        # what caches key on: the vectors' settings, seed and the texts they were trained on
        encoder.cache_id = f"{encoder.name}:window={window}:min_count={min_count}:epochs={epochs}:seed={seed}:texts={texts_hash}"
        return encoder

    def arrays(self) -> dict[str, np.ndarray]:
        """The vectors by name (for safetensors): ``vectors`` (n_words, dim) float32 and, for
        FastText, the trained n-gram rows (``ngram_rows`` (m,) int64 and ``ngram_vectors`` (m, dim))."""
        out = {"vectors": np.ascontiguousarray(self.kv.vectors, np.float32)}
        if self.subword:
            rows = np.flatnonzero(np.any(self.kv.vectors_ngrams != 0, axis=1))
            out["ngram_rows"] = rows.astype(np.int64)
            out["ngram_vectors"] = np.ascontiguousarray(self.kv.vectors_ngrams[rows], np.float32)
        return out

    def settings(self) -> dict:
        """Its plain values (for JSON): kind, name, cache id, language, words, FastText's n-gram sizes."""
        out = {"kind": "static", "name": self.name, "cache_id": self.cache_id, "lang": self.lang, "words": list(self.kv.index_to_key),
               "dim": self.dim, "subword": self.subword}
        if self.subword:
            out.update(min_n=int(self.kv.min_n), max_n=int(self.kv.max_n), bucket=int(self.kv.bucket))
        return out

    @classmethod
    def from_parts(cls, settings: dict, arrays: dict[str, np.ndarray]) -> StaticEncoder:
        """The encoder that :meth:`settings` and :meth:`arrays` describe (no pickle, no gensim file)."""
        from gensim.models import KeyedVectors
        from gensim.models.fasttext import FastTextKeyedVectors

        words, vectors, dim = list(settings["words"]), np.asarray(arrays["vectors"], np.float32), int(settings["dim"])
        if vectors.shape != (len(words), dim):
            raise ValueError(f"{vectors.shape[0]} x {vectors.shape[1]} vectors for {len(words)} words of {dim} dimensions")
        if settings.get("subword"):
            kv = FastTextKeyedVectors(dim, int(settings["min_n"]), int(settings["max_n"]), int(settings["bucket"]))
            kv.add_vectors(words, vectors)
            kv.vectors_ngrams = np.zeros((int(settings["bucket"]), dim), np.float32)
            kv.vectors_ngrams[np.asarray(arrays["ngram_rows"], np.int64)] = arrays["ngram_vectors"]
            kv.recalc_char_ngram_buckets()
            kv.vectors = vectors.copy()  # the trained words' vectors as they were (add_vectors may not keep them)
        else:
            kv = KeyedVectors(dim)
            kv.add_vectors(words, vectors)
        encoder = cls(kv, lang=settings["lang"], name=settings["name"])
        encoder.cache_id = settings.get("cache_id", settings["name"])
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
