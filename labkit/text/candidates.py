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
from .normalize import WORD
from .tokenize import _jieba

_CLAUSE = re.compile(r"[,;:.!?()\[\]{}\"/|。，、；：！？（）【】「」《》…~\n]|\s-\s|(?:^|\s)'|'(?:\s|$)")
_LETTER = re.compile(r"[^\W\d_]")
CHINESE_NEGATIONS = frozenset({"不", "没", "没有", "无", "非"})


def _token_spans(text: str, lang: str) -> list[tuple[str, int, int]]:
    """(token, start, end) over ``text`` (already normalised)."""
    if lang == "en":
        return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
    if lang == "zh":
        return [(tok, s, e) for tok, s, e in _jieba().tokenize(text) if WORD.fullmatch(tok)]
    raise ValueError(f"unknown language {lang!r}: use 'en' or 'zh'")


def candidate_spans(text: str, *, lang: str = "en", max_words: int = 3) -> list[tuple[str, int, int]]:
    """Every candidate phrase occurrence as (phrase, start, end) character spans of
    ``normalize(text)``, in reading order (repeats kept).

    English phrases join words with a space, Chinese ones with nothing (as Chinese is written).
    """
    stop, negations, joiner = (
        (ENGLISH_STOPWORDS, NEGATIONS, " ") if lang == "en" else (CHINESE_STOPWORDS, CHINESE_NEGATIONS, "")
    )
    norm = normalize(text)
    tokens = _token_spans(norm, lang)
    # a clause ends where punctuation stands between two tokens: n-grams never cross it
    clause = np.cumsum([0] + [bool(_CLAUSE.search(norm[a[2] : b[1]])) for a, b in zip(tokens, tokens[1:])])
    words = [t[0] for t in tokens]
    is_stop = [w in stop for w in words]
    has_letter = [bool(_LETTER.search(w)) for w in words]
    out: list[tuple[str, int, int]] = []
    for start in range(len(words)):
        opens_with_negation = words[start] in negations
        if is_stop[start] and not opens_with_negation:
            continue
        for n in range(1, max_words + 1):
            end = start + n
            if end > len(words) or clause[end - 1] != clause[start]:
                break
            if is_stop[end - 1] or (opens_with_negation and n == 1) or not any(has_letter[start:end]):
                continue
            out.append((joiner.join(words[start:end]), tokens[start][1], tokens[end - 1][2]))
    return out


def candidate_phrases(text: str, *, lang: str = "en", max_words: int = 3) -> list[str]:
    """Every candidate phrase occurrence in ``text``, in reading order (repeats kept)."""
    return [phrase for phrase, _, _ in candidate_spans(text, lang=lang, max_words=max_words)]


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
