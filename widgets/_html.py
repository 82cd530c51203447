"""Escaping for the widgets: every string from the data (tags, phrases, comments, item names, file
names) is text, so it is escaped before it goes into HTML; the markup a widget adds itself is not."""

from __future__ import annotations

import html


def escape(value: object) -> str:
    """``str(value)`` as HTML text: ``& < > " '`` escaped (``html.escape``, quote=True)."""
    return html.escape(str(value), quote=True)


def escape_plotly(value: object) -> str:
    """``str(value)`` as plotly text (titles, hover and text labels, which plotly reads as a subset of
    HTML): escaped like :func:`escape`, but with ``"`` as ``&#34;``, since plotly decodes ``&lt;``,
    ``&gt;``, ``&amp;`` and numeric entities yet shows ``&quot;`` as it stands."""
    return escape(value).replace("&quot;", "&#34;")
