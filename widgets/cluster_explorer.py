"""Cluster explorer: a 2-D map (UMAP, PCA or t-SNE) of tag or label embeddings, coloured by
cluster and sized by count, with tag names drawn on it (all of a small map; the most frequent and
the selected ones of a big map), a legend that isolates or hides clusters, search by name with the
nearest tags, and one selection (box, lasso, a picked cluster, a search) that the map, the member
list and any follower (the clip player) all show. Re-clustering (k, the algorithm, the count
threshold), re-projecting and merging m-correlated clusters keep the selection: it is a set of
tags, and the status line says when some of them fall out of the map.

All computing is ``labkit.tagclusters`` (:mod:`labkit.tagclusters.mapview`); projections and
clusterings are cached, so moving a control only recolours one WebGL trace, inside ``batch_update``,
sending only the arrays that changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labkit.errors import OutputError
from labkit.outputs import write_output_file
from labkit.sparse import unit_rows
from labkit.tagclusters import merge_m_correlated, project
from labkit.tagclusters.mapview import (
    UNCLUSTERED,
    discrete_colourscale,
    distinct_colours,
    find_tags,
    labelled,
    map_clusters,
    merge_sources,
    nearest_tags,
)

from ._html import escape, escape_plotly

MAX_LISTED = 300  # members listed under the map; the rest are counted
LEGEND_MODES = ("isolate", "hide")


def marker_sizes(counts: np.ndarray, *, smallest: float = 4.0, largest: float = 18.0) -> np.ndarray:
    """(n,) marker sizes growing with log(count), from ``smallest`` to ``largest``."""
    logc = np.log1p(np.asarray(counts, dtype=np.float64))
    span = logc.max() - logc.min() if len(logc) else 0.0
    return smallest + (largest - smallest) * ((logc - logc.min()) / span if span > 0 else np.zeros_like(logc))


def _text_colour(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "white"


class ClusterExplorer(W.VBox):
    """tags: (n,) names; vectors: (n, d) embeddings; counts: (n,) how many items carry each tag;
    items_by_tags: optional (n_items, n) binary matrix, needed to merge m-correlated clusters;
    coordinates: maps already computed, {"umap" | "pca" | "tsne": (n, 2)}, used instead of projecting;
    quick: quick k-means (one restart; default above 5,000 tags); max_labels: names drawn on a big map.

    ``table`` holds the current clusters (index, tag, cluster, count, x, y); ``selected`` the
    selected tags (most frequent first), the one record of the selection; ``on_select(callback)``
    passes each new selection (a list of tags) on, e.g. to the clip player; ``last_update_seconds``
    how long the last redraw took in Python."""

    def __init__(
        self, tags: Sequence[str], vectors: np.ndarray, counts: Sequence[int], *, items_by_tags=None, k: int = 10,
        algorithm: str = "kmeans", min_count: int = 1, projection: str = "umap", seed: int = 0,
        coordinates: dict[str, np.ndarray] | None = None, quick: bool | None = None, max_labels: int = 40,
    ) -> None:
        self.tags = np.asarray(list(tags), dtype=object)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.counts = np.asarray(counts, dtype=np.int64)
        if not (len(self.tags) == len(self.vectors) == len(self.counts)):
            raise ValueError(f"tags ({len(self.tags)}), vectors ({len(self.vectors)}) and counts ({len(self.counts)}) differ in length")
        self.items_by_tags = items_by_tags
        self.seed, self.quick, self.max_labels = seed, quick, max_labels
        self._unit = unit_rows(self.vectors)
        self._position_of = {str(t): i for i, t in enumerate(self.tags)}
        self._projections: dict[str, np.ndarray] = {m: np.asarray(xy, dtype=np.float64)[:, :2] for m, xy in (coordinates or {}).items()}
        for method, xy in self._projections.items():
            if len(xy) != len(self.tags):
                raise ValueError(f"coordinates[{method!r}] has {len(xy)} rows for {len(self.tags)} tags")
        self._clusterings: dict[tuple, np.ndarray] = {}
        self._callbacks: list[Callable[[list[str]], None]] = []
        self.selected: list[str] = []
        self.selection_source = ""
        self.hidden: set[int] = set()
        self.isolated: int | None = None
        self.merged: list[tuple[int, int]] = []
        self.last_update_seconds = float("nan")
        self._similarities: dict[str, float] = {}  # cosine to the searched tag, while a search is the selection
        self._note = ""
        self._sent: dict[str, object] = {}
        self._quiet = False  # True while the widget sets its own controls
        self.k = W.IntSlider(value=k, min=2, max=max(2, min(400, len(self.tags) - 1)), description="k", continuous_update=False)
        self.algorithm = W.Dropdown(options=["kmeans", "average"], value=algorithm, description="method")
        self.min_count = W.BoundedIntText(value=min_count, min=1, max=max(1, int(self.counts.max(initial=1))), description="min count")
        self.projection = W.Dropdown(options=["umap", "pca", "tsne"], value=projection, description="map")
        self.search_box = W.Text(placeholder="tag name, then Enter", description="find", continuous_update=False)
        self.clear_button = W.Button(description="clear selection", tooltip="select nothing (or double-click the map)")
        self.merge_m = W.BoundedFloatText(value=1.5, min=1.0, max=100.0, step=0.1, description="m")
        self.merge_button = W.Button(description="merge m-correlated", disabled=items_by_tags is None,
                                     tooltip="needs items_by_tags" if items_by_tags is None else "merge clusters that co-occur m times more than chance")
        self.cluster_pick = W.Dropdown(description="cluster", options=[("pick one", None)])
        self.legend_mode = W.ToggleButtons(options=LEGEND_MODES, value="isolate", description="legend click",
                                           style={"button_width": "70px"})
        self.show_all_button = W.Button(description="show all clusters")
        self.legend = W.Box(layout=W.Layout(flex_flow="row wrap", max_height="110px", overflow="auto", width="100%"))
        self.legend.add_class("labkit-legend")
        self._legend_buttons: list[W.Button] = []
        self.export_path = W.Text(value="clusters.tsv", description="export to")
        self.export_button = W.Button(description="export table")
        self.status = W.HTML()
        self.members = W.HTML()
        self.members.add_class("labkit-members")
        self.figure = go.FigureWidget(
            [go.Scattergl(x=[], y=[], mode="markers+text", text=[], hovertext=[], customdata=[], textposition="top center",
                          marker=dict(line=dict(width=0), showscale=False),
                          textfont=dict(size=11, color="#222"),
                          selected=dict(marker=dict(opacity=1.0)), unselected=dict(marker=dict(opacity=0.12), textfont=dict(color="#bbb")),
                          hovertemplate="<b>%{hovertext}</b><br>count %{customdata[0]}<br>cluster %{customdata[1]}<extra></extra>")],
            layout=go.Layout(height=560, dragmode="lasso", margin=dict(l=10, r=10, t=40, b=10), title="tag map",
                             xaxis=dict(showticklabels=False, zeroline=False), yaxis=dict(showticklabels=False, zeroline=False),
                             showlegend=False, plot_bgcolor="white"),
        )
        self.figure.data[0].on_selection(self._on_selection)
        self.figure.data[0].on_deselect(lambda *_: self.clear_selection())
        for control in (self.k, self.algorithm, self.min_count):
            control.observe(lambda _: None if self._quiet else self.recluster(), names="value")
        self.projection.observe(lambda _: None if self._quiet else self.reproject(), names="value")
        self.cluster_pick.observe(lambda change: None if self._quiet else self.show_cluster(change["new"]), names="value")
        self.search_box.observe(lambda change: self.search(change["new"]), names="value")
        self.clear_button.on_click(lambda _: self.clear_selection())
        self.show_all_button.on_click(lambda _: self.show_all())
        self.merge_button.on_click(lambda _: self.merge())
        self.export_button.on_click(lambda _: self._export_clicked())
        super().__init__([
            W.HBox([self.k, self.algorithm, self.min_count, self.projection]),
            W.HBox([self.search_box, self.cluster_pick, self.clear_button]),
            self.figure,
            W.HBox([self.legend_mode, self.show_all_button]), self.legend,
            W.HBox([self.merge_m, self.merge_button, self.export_path, self.export_button]),
            self.status, self.members,
        ])
        self.add_class("labkit-cluster-explorer")  # a handle for browser tests and custom CSS
        self.recluster()

    # ------------------------------------------------------------------ computing (labkit)
    def coordinates(self, method: str) -> np.ndarray:
        """(n, 2) map of every tag by ``method`` (computed once per method)."""
        if method not in self._projections:
            self._projections[method] = project(self.vectors, method=method, seed=self.seed)[["x", "y"]].to_numpy()
        return self._projections[method]

    def recluster(self) -> pd.DataFrame:
        """Cluster the tags with at least ``min_count`` items and redraw; returns ``table``. The
        selection is kept (as tags); legend filters are cleared, since cluster numbers change."""
        keep = np.flatnonzero(self.counts >= self.min_count.value)
        if len(keep) < 3:
            self.status.value = f"<b>only {len(keep)} tags reach count {self.min_count.value}: lower the count threshold</b>"
            return self.table
        k = min(self.k.value, len(keep) - 1)
        key = (k, self.algorithm.value, int(self.min_count.value))
        if key not in self._clusterings:
            try:
                self._clusterings[key] = map_clusters(self.vectors[keep], k, algorithm=self.algorithm.value, quick=self.quick, seed=self.seed)
            except ValueError as err:
                self.status.value = f"<b>not re-clustered: {escape(err)}</b>"
                return self.table
        labels = self._clusterings[key]
        xy = self.coordinates(self.projection.value)[keep]
        self.merged, self.hidden, self.isolated = [], set(), None
        self._set_table(keep, labels, xy)
        self._renumbered()
        self._note = f"{len(keep)} tags, {k} clusters ({escape(self.algorithm.value)}), map: {escape(self.projection.value)}"
        self._draw()
        return self.table

    def reproject(self) -> None:
        """Move the points to the chosen map (clusters and selection unchanged)."""
        xy = self.coordinates(self.projection.value)[self.table["index"].to_numpy()]
        self.table["x"], self.table["y"] = xy[:, 0], xy[:, 1]
        self._note = f"map: {escape(self.projection.value)}; clusters and selection kept"
        self._draw()

    def merge(self) -> list[tuple[int, int]]:
        """Merge m-correlated clusters (co-occurring at least m times more than chance); the
        status names each new cluster with the old ones it holds."""
        if self.items_by_tags is None:
            raise ValueError("merging m-correlated clusters needs items_by_tags")
        keep = self.table["index"].to_numpy()
        old = self.table["cluster"].to_numpy()
        labels, merged = merge_m_correlated(self.items_by_tags[:, keep], old, self.merge_m.value)
        self.merged, self.hidden, self.isolated = merged, set(), None
        self._set_table(keep, labels, self.table[["x", "y"]].to_numpy())
        self._renumbered()
        sources = merge_sources(old, labels)
        told = "; ".join(f"old {' + '.join(map(str, olds))} → cluster {new}" for new, olds in sorted(sources.items()))
        self._note = (f"merged {len(merged)} pair(s) at m = {self.merge_m.value:g}, {len(np.unique(old[old >= 0]))} → "
                      f"{len(np.unique(labels[labels >= 0]))} clusters" + (f": {escape(told)}" if told else ""))
        self._draw()
        return merged

    def _renumbered(self) -> None:
        """Cluster numbers changed: a selection made as "cluster 3" is now named as the old cluster it was."""
        if self.selection_source.startswith("cluster "):
            self.selection_source = "former " + self.selection_source

    def _set_table(self, keep: np.ndarray, labels: np.ndarray, xy: np.ndarray) -> None:
        self.table = pd.DataFrame({"index": keep, "tag": self.tags[keep], "cluster": labels, "count": self.counts[keep],
                                   "x": xy[:, 0], "y": xy[:, 1]})
        self._row_of = {str(t): i for i, t in enumerate(self.table["tag"])}

    # ------------------------------------------------------------------ drawing
    def shown_rows(self) -> np.ndarray:
        """Rows of ``table`` on the map: all but hidden clusters (only the isolated one, if any)."""
        clusters = self.table["cluster"].to_numpy()
        if self.isolated is not None:
            return np.flatnonzero(clusters == self.isolated)
        if self.hidden:
            return np.flatnonzero(~np.isin(clusters, list(self.hidden)))
        return np.arange(len(clusters))

    def selected_rows(self) -> np.ndarray:
        """Rows of ``table`` holding a selected tag."""
        rows = [self._row_of[t] for t in self.selected if t in self._row_of]
        return np.array(sorted(rows), dtype=np.int64)

    def _set_if_changed(self, owner, name: str, value: Callable[[], object], key) -> None:
        """Set a trace property to ``value()`` only when ``key`` (what it depends on) changed:
        arrays of 20k points are costly to validate and send."""
        slot = f"{type(owner).__name__}.{name}"
        if self._sent.get(slot) != key:
            setattr(owner, name, value())
            self._sent[slot] = key

    def _draw(self) -> None:
        start = time.perf_counter()
        table = self.table
        shown = self.shown_rows()
        clusters = table["cluster"].to_numpy()
        n_clusters = int(clusters.max(initial=-1)) + 1
        colours = distinct_colours(n_clusters)
        is_selected = np.zeros(len(table), dtype=bool)
        selected_rows = self.selected_rows()
        is_selected[selected_rows] = True
        show_name = labelled(table["count"].to_numpy()[shown], is_selected[shown], max_labels=self.max_labels)
        names = table["tag"].to_numpy()[shown]
        text = np.full(len(names), "", dtype=object)
        text[show_name] = [escape_plotly(t) for t in names[show_name]]
        colour_index = clusters[shown] + 1  # 0: no cluster (grey)
        where = (self.projection.value, hash(table["index"].to_numpy()[shown].tobytes()))  # which points, where
        positions = np.flatnonzero(is_selected[shown])
        with self.figure.batch_update():
            trace = self.figure.data[0]
            self._set_if_changed(trace, "x", lambda: table["x"].to_numpy()[shown], where)
            self._set_if_changed(trace, "y", lambda: table["y"].to_numpy()[shown], where)
            self._set_if_changed(trace, "hovertext", lambda: [escape_plotly(t) for t in names], where[1])
            trace.customdata = np.stack([table["count"].to_numpy()[shown], clusters[shown]], axis=1)
            self._set_if_changed(trace, "text", lambda: text, (where, hash(show_name.tobytes())))
            # marker parts one by one: plotly's front end refuses marker and marker.color in one update
            self._set_if_changed(trace.marker, "size", lambda: marker_sizes(table["count"].to_numpy()[shown]), where)
            trace.marker.color = colour_index
            trace.marker.colorscale = discrete_colourscale([UNCLUSTERED, *colours])
            trace.marker.cmin, trace.marker.cmax = -0.5, n_clusters + 0.5
            trace.selectedpoints = positions if len(selected_rows) else None
            self.figure.layout.selections = ()  # the lasso or box drawn last no longer says what is selected
            self.figure.layout.title = self._title(len(shown), n_clusters)
        self._draw_legend(colours)
        self._quiet = True
        try:
            self.cluster_pick.options = [("pick one", None)] + [
                (f"{c} ({n} tags)", int(c)) for c, n in table.groupby("cluster")["count"].size().items() if c >= 0]
            picked = int(self.selection_source.split()[1]) if self.selection_source.startswith("cluster ") else None
            self.cluster_pick.index = next((i for i, (_, c) in enumerate(self.cluster_pick.options) if c == picked), 0)
        finally:
            self._quiet = False
        self._draw_members(selected_rows)
        self.last_update_seconds = time.perf_counter() - start

    def _title(self, n_shown: int, n_clusters: int) -> str:
        if self.isolated is not None:
            return f"tag map: cluster {self.isolated} only ({n_shown} tags)"
        hidden = f", {len(self.hidden)} cluster(s) hidden" if self.hidden else ""
        return f"tag map: {n_shown} tags in {n_clusters} clusters{hidden}"

    def _draw_legend(self, colours: list[str]) -> None:
        sizes = self.table.groupby("cluster")["count"].size()
        top = self.table.sort_values("count", ascending=False, kind="stable").groupby("cluster")["tag"].first()
        entries = [int(c) for c in sizes.index if c >= 0]
        self._grow_legend(len(entries))
        for button, c in zip(self._legend_buttons, entries):
            off = c in self.hidden or (self.isolated is not None and self.isolated != c)
            colour = "#eeeeee" if off else colours[c]
            name = str(top[c])
            state = (f"{c}: {name[:18]}{'…' if len(name) > 18 else ''}", colour, off, self.isolated == c, f"cluster {c}: {sizes[c]} tags, {name} most frequent")
            if getattr(button, "_state", None) != state:
                with button.hold_sync():
                    button.cluster_id = c
                    button.description, button.tooltip = state[0], state[4]
                    button.style.button_color = colour
                    button.style.text_color = "#999999" if off else _text_colour(colour)
                    button.style.font_weight = "bold" if self.isolated == c else "normal"
                    button.style.text_decoration = "line-through" if c in self.hidden else "none"
                button._state = state
        if len(self.legend.children) != len(entries):
            self.legend.children = tuple(self._legend_buttons[:len(entries)])

    def _grow_legend(self, n: int) -> None:
        """At least ``n`` legend entries, made once and reused (a widget costs to create)."""
        while len(self._legend_buttons) < n:
            button = W.Button(layout=W.Layout(width="auto", height="26px", margin="1px"))
            button.add_class("labkit-legend-entry")
            button.cluster_id = -1
            button.on_click(lambda b: self.legend_clicked(b.cluster_id))
            self._legend_buttons.append(button)

    def _draw_members(self, selected_rows: np.ndarray) -> None:
        n_table = len(self.table)
        missing = len(self.selected) - len(selected_rows)
        note = self._note
        if missing:
            note += f"; {missing} selected tag(s) fall below min count {self.min_count.value} and are not on the map"
        self.status.value = note
        if not self.selected:
            self.members.value = "<i>nothing selected: lasso or box points, pick a cluster, search a tag or click a legend entry</i>"
            return
        rows = self.table.iloc[selected_rows].sort_values("count", ascending=False, kind="stable")
        title = f"{len(self.selected)} selected tags ({escape(self.selection_source)}) of {n_table}"
        if self._similarities:
            items = "".join(f"<li>{escape(tag)} <small>(cos {self._similarities[tag]:.3f}, count {count}, cluster {c})</small></li>"
                            if tag in self._similarities else f"<li><b>{escape(tag)}</b> <small>(count {count}, cluster {c})</small></li>"
                            for tag, count, c in self._ordered_search_rows())
        else:
            items = "".join(f"<li>{escape(tag)} <small>({count}, cluster {c})</small></li>"
                            for tag, count, c in zip(rows["tag"][:MAX_LISTED], rows["count"][:MAX_LISTED], rows["cluster"][:MAX_LISTED]))
        more = f"<br><small>and {len(rows) - MAX_LISTED} more</small>" if len(rows) > MAX_LISTED else ""
        self.members.value = f"<b>{title}</b><ul style='columns: 3; margin: 0'>{items}</ul>{more}"

    def _ordered_search_rows(self):
        for tag in self.selected:
            if tag in self._row_of:
                row = self.table.iloc[self._row_of[tag]]
                yield tag, row["count"], row["cluster"]

    # ------------------------------------------------------------------ selections
    def _on_selection(self, trace, points, selector) -> None:
        shown = self.shown_rows()
        self.select_points(shown[list(points.point_inds)], source="lasso" if selector is not None and selector.type == "lasso" else "box")

    def select_tags(self, tags: Sequence[str], source: str = "by hand", *, similarities: dict[str, float] | None = None) -> list[str]:
        """Make ``tags`` the selection (kept in the given order for a search, else most frequent
        first); redraws the map and the list and informs the callbacks."""
        tags = [str(t) for t in tags]
        if similarities is None:
            tags = sorted(dict.fromkeys(tags), key=lambda t: -int(self.counts[self._position_of[t]]) if t in self._position_of else 0)
        self.selected, self.selection_source = tags, source
        self._similarities = dict(similarities or {})
        self._draw()
        for callback in self._callbacks:
            callback(self.selected)
        return self.selected

    def select_points(self, positions: Sequence[int], source: str = "by hand") -> list[str]:
        """Select points by their position in ``table``."""
        return self.select_tags(self.table["tag"].to_numpy()[np.asarray(list(positions), dtype=np.int64)].tolist(), source)

    def show_cluster(self, cluster: int | None) -> list[str]:
        """Select the members of one cluster (most frequent first): highlighted on the map and listed."""
        if cluster is None:
            return self.selected
        positions = np.flatnonzero(self.table["cluster"].to_numpy() == cluster)
        return self.select_points(positions, source=f"cluster {cluster}")

    def clear_selection(self) -> None:
        """Select nothing: every point shown at full strength."""
        if self.selected:
            self.select_tags([], "cleared")

    def search(self, query: str, k: int = 10) -> list[str]:
        """Select the tag best matching ``query`` and its ``k`` nearest tags (cosine), listed with
        their similarities; the status says when nothing matches."""
        if not query.strip():
            return self.selected
        found = find_tags(self.tags, query)
        if not found:
            self._note = f"no tag matches {escape(query)!s}"
            self._draw()
            return self.selected
        hit = found[0]
        near, sims = nearest_tags(self._unit, hit, k)
        others = [str(self.tags[i]) for i in found[1:6] if i not in set(near)]
        self._note = f"found {escape(self.tags[hit])}" + (f"; other matches: {escape(', '.join(others))}" if others else "")
        similarities = {str(self.tags[i]): float(s) for i, s in zip(near, sims)}
        return self.select_tags([str(self.tags[hit]), *similarities], source=f"{self.tags[hit]} and its {len(near)} nearest tags",
                                similarities=similarities)

    def on_select(self, callback: Callable[[list[str]], None]) -> None:
        self._callbacks.append(callback)

    # ------------------------------------------------------------------ legend
    def legend_clicked(self, cluster: int) -> None:
        """A legend entry: isolate that cluster (again: show all) or hide it (again: show it)."""
        if self.legend_mode.value == "isolate":
            self.isolated = None if self.isolated == cluster else cluster
            self.hidden = set()
        else:
            self.isolated = None
            self.hidden ^= {cluster}
        self._draw()

    def show_all(self) -> None:
        self.isolated, self.hidden = None, set()
        self._draw()

    # ------------------------------------------------------------------ export
    def _export_clicked(self) -> None:
        try:
            self.export(self.export_path.value)
        except OutputError as err:  # a file of the user's is in the way: say so, touch nothing
            self.status.value = f"not exported: {escape(err)}"

    def export(self, path: str | Path) -> Path:
        """Write the clusters as a TSV (tag, cluster, count), atomically; an existing file is
        replaced only when it is such a table (:mod:`labkit.outputs`)."""
        path = Path(path)
        table = self.table[["tag", "cluster", "count"]].sort_values(["cluster", "count"], ascending=[True, False])
        write_output_file(path, table.to_csv(sep="\t", index=False), kind="cluster-table", option="export to")
        self.status.value = f"wrote {len(table)} tags to {escape(path)}"
        return path
