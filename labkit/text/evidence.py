"""Evidence for a label taken from comments: the comment a phrase occurs in, with where, found as
the kit finds candidates (:func:`labkit.text.candidates.candidate_spans`), so what is shown is
exactly what the harvester counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .candidates import candidate_spans
from .normalize import normalize


@dataclass(frozen=True)
class Evidence:
    """comment: index of the first comment holding the phrase; text: that comment, normalised
    (the text candidates are read from); start, end: the phrase's character span in ``text``;
    n_comments: how many of the comments hold it."""

    comment: int
    text: str
    start: int
    end: int
    n_comments: int


def phrase_evidence(comments: Sequence[str], phrase: str, *, lang: str = "en", max_words: int = 3) -> Evidence | None:
    """Where ``phrase`` occurs as a candidate in an item's ``comments``: the first comment holding
    it and the span there, with how many comments hold it; None if none does."""
    first, n = None, 0
    for i, comment in enumerate(comments):
        spans = [(s, e) for p, s, e in candidate_spans(comment, lang=lang, max_words=max_words) if p == phrase]
        if spans:
            n += 1
            if first is None:
                first = (i, normalize(comment), *spans[0])
    return None if first is None else Evidence(first[0], first[1], first[2], first[3], n)
