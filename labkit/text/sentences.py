"""Sentence splitting for captions and long comments (English and Chinese punctuation)."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[^a-z])|(?<=[。！？；])")


def split_sentences(text: str) -> list[str]:
    """Split at ``.``/``!``/``?`` followed by space and a non-lower-case start, or at ``。！？；``.

    Empty pieces are dropped; every character of ``text`` other than the separating whitespace
    ends up in exactly one sentence.
    """
    return [s.strip() for s in _BOUNDARY.split(text.strip()) if s.strip()]
