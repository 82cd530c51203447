"""Normalisation shared by comments and labels, so that a label matches the text it came from."""

from __future__ import annotations

import re
import unicodedata

# A word: letters or digits, with inner apostrophes or hyphens kept ("hip-hop", "70's").
WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2032": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-"})


def normalize(text: str) -> str:
    """NFKC, lower case, typographic quotes and dashes made plain, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    return " ".join(text.split())


def normalize_label(label: str) -> str:
    """A label as its words joined by single spaces, punctuation outside words dropped.

    ``"Hip-Hop!"`` -> ``"hip-hop"``; ``"  Male   Vocal "`` -> ``"male vocal"``.
    """
    return " ".join(WORD.findall(normalize(label)))
