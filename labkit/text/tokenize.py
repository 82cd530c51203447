"""Tokenisers: English words by a regular expression, Chinese words by jieba."""

from __future__ import annotations

import logging

from .normalize import WORD, normalize


def english_tokens(text: str) -> list[str]:
    """Lower-cased words of ``text``, inner hyphens and apostrophes kept."""
    return WORD.findall(normalize(text))


_JIEBA = None


def jieba_tokenizer():
    global _JIEBA
    if _JIEBA is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        _JIEBA = jieba
    return _JIEBA


def chinese_tokens(text: str) -> list[str]:
    """Words of ``text`` segmented by jieba (precise mode); punctuation and spaces dropped.

    Latin words inside Chinese text come out lower-cased, as in :func:`english_tokens`.
    """
    return [tok for tok in jieba_tokenizer().lcut(normalize(text)) if WORD.fullmatch(tok)]


def tokenize(text: str, lang: str = "en") -> list[str]:
    """Tokens of ``text`` in language ``lang`` (``"en"`` or ``"zh"``)."""
    if lang == "en":
        return english_tokens(text)
    if lang == "zh":
        return chinese_tokens(text)
    raise ValueError(f"unknown language {lang!r}: use 'en' or 'zh'")
