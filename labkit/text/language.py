"""Language detection good enough to pick a tokeniser: Chinese (CJK) or English."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")


def detect_language(texts: str | Iterable[str], *, threshold: float = 0.3) -> str:
    """``"zh"`` when at least ``threshold`` of the letters are CJK ideographs, else ``"en"``."""
    text = texts if isinstance(texts, str) else "\n".join(texts)
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return "en"
    return "zh" if len(_CJK.findall(text)) / letters >= threshold else "en"
