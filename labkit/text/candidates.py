"""Candidate phrases: the 1-3 word n-grams of comments that could be labels.

An n-gram stays inside one clause (commas, full stops and brackets end it), neither starts nor
ends with a stopword, and holds at least one letter. Negations may open a phrase of two or more
words, so label-like "no voices" or "without drums" survive although "no" is a stopword; Chinese
phrases of two or more words may also open with 有 and end with the attributive 的.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..data.vocab import Vocabulary
from .language import detect_language
from .normalize import WORD, normalize
from .stopwords import CHINESE_STOPWORDS, ENGLISH_STOPWORDS, NEGATIONS
from .tokenize import jieba_tokenizer

_CLAUSE = re.compile(r"[,;:.!?()\[\]{}\"/|。，、；：！？（）【】「」《》…~\n]|\s-\s|(?:^|\s)'|'(?:\s|$)")
_LETTER = re.compile(r"[^\W\d_]")
CHINESE_NEGATIONS = frozenset({"不", "没", "没有", "无", "非"})
# Chinese phrases of two or more words may also open with 有 ("有张力") and close with the
# attributive 的 ("感性的", "磁性的"): MuChin's listeners tag songs with such forms.
CHINESE_OPENERS = CHINESE_NEGATIONS | {"有"}
CHINESE_CLOSERS = frozenset({"的"})


def _token_spans(text: str, lang: str) -> list[tuple[str, int, int]]:
    """(token, start, end) over ``text`` (already normalised)."""
    if lang == "en":
        return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
    if lang == "zh":
        return [(tok, s, e) for tok, s, e in jieba_tokenizer().tokenize(text) if WORD.fullmatch(tok)]
    raise ValueError(f"unknown language {lang!r}: use 'en' or 'zh'")


# How a candidate occurrence is bounded: the token just before and just after it, in classes.
LEFT_CONTEXTS = ("start", "punctuation", "conjunction", "determiner", "stopword", "word")
RIGHT_CONTEXTS = ("end", "punctuation", "conjunction", "stopword", "-ing word", "word")
CONJUNCTIONS = {"en": frozenset({"and", "or", "with", "over", "while", "plus", "&"}),
                "zh": frozenset({"和", "与", "或", "及", "跟", "以及", "或者"})}
DETERMINERS = {"en": frozenset({"a", "an", "the", "some", "this", "that", "these", "those", "its", "their", "his", "her"}),
               "zh": frozenset({"这", "那", "这个", "那个", "一个", "一首", "这首"})}
_LEFT_WORD = LEFT_CONTEXTS.index("word")
_RIGHT_ING, _RIGHT_WORD = RIGHT_CONTEXTS.index("-ing word"), RIGHT_CONTEXTS.index("word")


@dataclass(frozen=True)
class Occurrence:
    """One candidate phrase occurrence in a normalised comment.

    start, end: character span; left, right: indices into LEFT_CONTEXTS / RIGHT_CONTEXTS;
    left_word, right_word: the neighbouring words when they are content words, else "";
    whole_item: the phrase is a whole item of a list or clause ("..., mellow piano melody and
    ..."): only stopwords stand between it and punctuation, a conjunction or the comment's ends.
    """

    phrase: str
    start: int
    end: int
    left: int
    right: int
    left_word: str
    right_word: str
    whole_item: bool


def candidate_occurrences(text: str, *, lang: str = "en", max_words: int = 3) -> list[Occurrence]:
    """Every candidate phrase occurrence of ``normalize(text)`` with how it is bounded, in
    reading order (repeats kept). The phrases are those of :func:`candidate_spans`."""
    stop, negations, closers, joiner = (
        (ENGLISH_STOPWORDS, NEGATIONS, frozenset(), " ") if lang == "en" else (CHINESE_STOPWORDS, CHINESE_OPENERS, CHINESE_CLOSERS, "")
    )
    conj, det = CONJUNCTIONS.get(lang, frozenset()), DETERMINERS.get(lang, frozenset())
    norm = normalize(text)
    tokens = _token_spans(norm, lang)
    # a clause ends where punctuation stands between two tokens: n-grams never cross it
    breaks = [bool(_CLAUSE.search(norm[a[2] : b[1]])) for a, b in zip(tokens, tokens[1:])]
    clause = np.cumsum([0] + breaks)
    words = [t[0] for t in tokens]
    n_words = len(words)
    is_stop = [w in stop for w in words]
    has_letter = [bool(_LETTER.search(w)) for w in words]

    def left_class(i: int) -> int:
        if i == 0:
            return 0
        if breaks[i - 1]:
            return 1
        w = words[i - 1]
        return 2 if w in conj else 3 if w in det else 4 if is_stop[i - 1] else 5

    def right_class(j: int) -> int:
        if j == n_words - 1:
            return 0
        if breaks[j]:
            return 1
        w = words[j + 1]
        return 2 if w in conj else 3 if is_stop[j + 1] else 4 if lang == "en" and w.endswith("ing") else 5

    def open_left(i: int) -> bool:  # only stopwords between token i and a list boundary on its left
        while i > 0 and not breaks[i - 1] and words[i - 1] not in conj:
            if not is_stop[i - 1]:
                return False
            i -= 1
        return True

    def open_right(j: int) -> bool:
        while j < n_words - 1 and not breaks[j] and words[j + 1] not in conj:
            if not is_stop[j + 1]:
                return False
            j += 1
        return True

    out: list[Occurrence] = []
    for start in range(n_words):
        opens_with_negation = words[start] in negations
        if is_stop[start] and not opens_with_negation:
            continue
        for n in range(1, max_words + 1):
            end = start + n
            if end > n_words or clause[end - 1] != clause[start]:
                break
            closes = n >= 2 and words[end - 1] in closers and not is_stop[end - 2]
            if (is_stop[end - 1] and not closes) or (opens_with_negation and n == 1) or not any(has_letter[start:end]):
                continue
            left, right = left_class(start), right_class(end - 1)
            out.append(Occurrence(
                joiner.join(words[start:end]), tokens[start][1], tokens[end - 1][2], left, right,
                words[start - 1] if left == _LEFT_WORD else "", words[end] if right in (_RIGHT_ING, _RIGHT_WORD) else "",
                open_left(start) and open_right(end - 1),
            ))
    return out


def candidate_spans(text: str, *, lang: str = "en", max_words: int = 3) -> list[tuple[str, int, int]]:
    """Every candidate phrase occurrence as (phrase, start, end) character spans of
    ``normalize(text)``, in reading order (repeats kept).

    English phrases join words with a space, Chinese ones with nothing (as Chinese is written).
    """
    return [(o.phrase, o.start, o.end) for o in candidate_occurrences(text, lang=lang, max_words=max_words)]


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
