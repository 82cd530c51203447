"""Vocabularies: an ordered list of strings with a fast string -> index map, and label matrices."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp


class Vocabulary:
    """An ordered, duplicate-free list of tokens (labels, words, phrases).

    ``vocab[i]`` is the i-th token, ``vocab.index[token]`` its position. Order is kept as given,
    so a vocabulary built from counts lists the most frequent first.
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens: list[str] = []
        self.index: dict[str, int] = {}
        for token in tokens:
            if token not in self.index:
                self.index[token] = len(self.tokens)
                self.tokens.append(token)

    @classmethod
    def from_label_sets(
        cls, label_sets: Iterable[Iterable[str]], *, min_count: int = 1
    ) -> Vocabulary:
        """Labels seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(label for labels in label_sets for label in set(labels))
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls(label for label, count in ordered if count >= min_count)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> str:
        return self.tokens[i]

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def __iter__(self):
        return iter(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.tokens[:5])
        return f"Vocabulary({len(self)} tokens: {head}{', ...' if len(self) > 5 else ''})"

    def union(self, other: Iterable[str]) -> Vocabulary:
        """This vocabulary followed by the new tokens of ``other``, in their order."""
        return Vocabulary([*self.tokens, *other])

    def encode(self, tokens: Iterable[str], *, unknown: str = "error") -> np.ndarray:
        """Indices of ``tokens``; ``unknown`` is ``"error"`` (KeyError naming it) or ``"skip"``."""
        if unknown == "skip":
            return np.array([self.index[t] for t in tokens if t in self.index], dtype=np.int64)
        try:
            return np.array([self.index[t] for t in tokens], dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"{err.args[0]!r} is not in the vocabulary") from None

    def label_matrix(
        self, label_sets: Sequence[Iterable[str]], *, unknown: str = "skip"
    ) -> sp.csr_matrix:
        """Binary CSR matrix of shape (len(label_sets), len(self)): row i marks set i's labels.

        Labels outside the vocabulary are skipped (``unknown="skip"``) or raise (``"error"``).
        """
        rows: list[np.ndarray] = []
        for labels in label_sets:
            rows.append(np.unique(self.encode(labels, unknown=unknown)))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        data = np.ones(len(indices), dtype=np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(rows), len(self)))

    def decode_rows(self, matrix: sp.spmatrix) -> list[list[str]]:
        """The label lists of a binary (n, len(self)) matrix, in vocabulary order."""
        csr = sp.csr_matrix(matrix)
        return [
            [self.tokens[j] for j in csr.indices[csr.indptr[i] : csr.indptr[i + 1]]]
            for i in range(csr.shape[0])
        ]
