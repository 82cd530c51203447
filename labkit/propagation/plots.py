"""Plotly figures of the kit's results (headless: figures are returned, not shown)."""

from __future__ import annotations

from collections.abc import Sequence


def gain_by_rank_figure(rows: Sequence[dict], *, title: str = "Relative gain by tag popularity rank"):
    """Bars of ``relative_gain`` per popularity-rank bin (rows of ``relative_gain_by_rank``)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=[r["ranks"] for r in rows], y=[100 * r["relative_gain"] for r in rows],
                           hovertext=[f"{r['tags']} tags, {r['baseline']:.3f} -> {r['proposed']:.3f}" for r in rows]))
    fig.update_layout(title=title, xaxis_title="popularity rank of the tags (most popular first)", yaxis_title="relative gain (%)")
    return fig


def gain_by_category_figure(rows: Sequence[dict], *, title: str = "Relative gain by tag category"):
    """Bars of ``relative_gain`` per category with the mean popularity on a second axis (rows of
    ``relative_gain_by_category``)."""
    import plotly.graph_objects as go

    names = [r["category"] for r in rows]
    fig = go.Figure([
        go.Bar(x=names, y=[100 * r["relative_gain"] for r in rows], name="relative gain (%)"),
        go.Scatter(x=names, y=[r["mean_popularity"] for r in rows], name="mean popularity", yaxis="y2", mode="markers+lines"),
    ])
    fig.update_layout(title=title, yaxis_title="relative gain (%)", yaxis2=dict(title="mean popularity (songs)", overlaying="y", side="right"))
    return fig
