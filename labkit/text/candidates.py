"""Candidate phrases: the 1-3 word n-grams of comments that could be labels.

An n-gram stays inside one clause (commas, full stops and brackets end it), neither starts nor
ends with a stopword, and holds at least one letter. Negations may open a phrase of two or more
words, so label-like "no voices" or "without drums" survive although "no" is a stopword.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ..data.vocab import Vocabulary
from .language import detect_language
from .normalize import normalize
from .stopwords import CHINESE_STOPWORDS, ENGLISH_STOPWORDS, NEGATIONS
from .tokenize import tokenize

_CLAUSE = re.compile(r"[,;:.!?()\[\]{}\"/|。，、；：！？（）【】「」《》…~]+|\s-\s|\s'|'\s|^'|'$")
_LETTER = re.compile(r"[^\W\d_]")
CHINESE_NEGATIONS = frozenset({"不", "没", "没有", "无", "非"})


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(normalize(text)) if c.strip()]


def candidate_phrases(text: str, *, lang: str = "en", max_words: int = 3) -> list[str]:
    """Every candidate phrase occurrence in ``text``, in reading order (repeats kept).

    English phrases join words with a space, Chinese ones with nothing (as Chinese is written).
    """
    stop, negations, joiner = (
        (ENGLISH_STOPWORDS, NEGATIONS, " ") if lang == "en" else (CHINESE_STOPWORDS, CHINESE_NEGATIONS, "")
    )
    phrases: list[str] = []
    for clause in _clauses(text):
        tokens = tokenize(clause, lang)
        is_stop = [t in stop for t in tokens]
        has_letter = [bool(_LETTER.search(t)) for t in tokens]
        for start in range(len(tokens)):
            opens_with_negation = tokens[start] in negations
            if is_stop[start] and not opens_with_negation:
                continue
            for n in range(1, max_words + 1):
                end = start + n
                if end > len(tokens):
                    break
                if is_stop[end - 1]:
                    continue
                if opens_with_negation and n == 1:
                    continue
                if not any(has_letter[start:end]):
                    continue
                phrases.append(joiner.join(tokens[start:end]))
    return phrases


def corpus_candidates(
    texts: Sequence[str] | Sequence[Sequence[str]],
    *,
    lang: str = "auto",
    max_words: int | None = None,
    extra: Iterable[str] = (),
) -> tuple[Vocabulary, sp.csr_matrix]:
    """Candidate phrases of many items at once.

    texts: one string per item, or one sequence of comment strings per item.
    extra: phrases always added to the vocabulary (the gold vocabulary, say), even if unseen.
    Returns the phrase vocabulary (``extra`` first, then by first occurrence) and the
    (n_items, n_phrases) CSR matrix of occurrence counts.
    """
    docs = [t if isinstance(t, str) else "\n".join(t) for t in texts]
    if lang == "auto":
        lang = detect_language(docs[:2000])
    if max_words is None:
        max_words = 3 if lang == "en" else 2
    index: dict[str, int] = {p: i for i, p in enumerate(dict.fromkeys(extra))}
    indptr = [0]
    columns: list[int] = []
    for doc in docs:
        for comment in doc.split("\n"):
            for phrase in candidate_phrases(comment, lang=lang, max_words=max_words):
                columns.append(index.setdefault(phrase, len(index)))
        indptr.append(len(columns))
    counts = sp.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), np.array(columns, dtype=np.int64), np.array(indptr, dtype=np.int64)),
        shape=(len(docs), len(index)),
    )
    counts.sum_duplicates()
    return Vocabulary(index), counts
