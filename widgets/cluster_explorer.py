"""Cluster explorer: a 2-D map (UMAP, PCA or t-SNE) of tag or label embeddings, coloured by
cluster and sized by count, re-clustered in place when k, the algorithm or the count threshold
change; selecting points (box or lasso) or picking a cluster lists its members; m-correlated
clusters can be merged and the clusters exported as a table.

All computing is ``labkit.tagclusters``; projections are cached per method, so moving a control only
re-clusters and recolours (one WebGL trace, updated inside ``batch_update``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labkit.errors import OutputError
from labkit.outputs import write_output_file
from labkit.tagclusters import cluster_vectors, merge_m_correlated, project

from ._html import escape, escape_plotly

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#393b79", "#e6550d", "#31a354", "#756bb1", "#636363", "#843c39", "#3182bd", "#a1d99b", "#fd8d3c", "#9e9ac8")


def marker_sizes(counts: np.ndarray, *, smallest: float = 4.0, largest: float = 18.0) -> np.ndarray:
    """(n,) marker sizes growing with log(count), from ``smallest`` to ``largest``."""
    logc = np.log1p(np.asarray(counts, dtype=np.float64))
    span = logc.max() - logc.min() if len(logc) else 0.0
    return smallest + (largest - smallest) * ((logc - logc.min()) / span if span > 0 else np.zeros_like(logc))


class ClusterExplorer(W.VBox):
    """tags: (n,) names; vectors: (n, d) embeddings; counts: (n,) how many items carry each tag;
    items_by_tags: optional (n_items, n) binary matrix, needed to merge m-correlated clusters;
    coordinates: maps already computed, {"umap" | "pca" | "tsne": (n, 2)}, used instead of projecting.

    ``table`` holds the current clusters (tag, cluster, count, x, y); ``selected`` the tags of the
    last selection; ``on_select(callback)`` passes each new selection (a list of tags) on, e.g. to
    the clip player."""

    def __init__(
        self, tags: Sequence[str], vectors: np.ndarray, counts: Sequence[int], *, items_by_tags=None, k: int = 10,
        algorithm: str = "kmeans", min_count: int = 1, projection: str = "umap", seed: int = 0,
        coordinates: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.tags = np.asarray(list(tags), dtype=object)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.counts = np.asarray(counts, dtype=np.int64)
        if not (len(self.tags) == len(self.vectors) == len(self.counts)):
            raise ValueError(f"tags ({len(self.tags)}), vectors ({len(self.vectors)}) and counts ({len(self.counts)}) differ in length")
        self.items_by_tags = items_by_tags
        self.seed = seed
        self._projections: dict[str, np.ndarray] = {m: np.asarray(xy, dtype=np.float64)[:, :2] for m, xy in (coordinates or {}).items()}
        for method, xy in self._projections.items():
            if len(xy) != len(self.tags):
                raise ValueError(f"coordinates[{method!r}] has {len(xy)} rows for {len(self.tags)} tags")
        self._callbacks: list[Callable[[list[str]], None]] = []
        self.selected: list[str] = []
        self.merged: list[tuple[int, int]] = []
        self.k = W.IntSlider(value=k, min=2, max=max(2, min(200, len(self.tags) - 1)), description="k", continuous_update=False)
        self.algorithm = W.Dropdown(options=["kmeans", "average"], value=algorithm, description="method")
        self.min_count = W.BoundedIntText(value=min_count, min=1, max=max(1, int(self.counts.max(initial=1))), description="min count")
        self.projection = W.Dropdown(options=["umap", "pca", "tsne"], value=projection, description="map")
        self.merge_m = W.BoundedFloatText(value=1.5, min=1.0, max=100.0, step=0.1, description="m")
        self.merge_button = W.Button(description="merge m-correlated", disabled=items_by_tags is None,
                                     tooltip="needs items_by_tags" if items_by_tags is None else "merge clusters that co-occur m times more than chance")
        self.cluster_pick = W.Dropdown(description="cluster", options=[])
        self.export_path = W.Text(value="clusters.tsv", description="export to")
        self.export_button = W.Button(description="export table")
        self.status = W.HTML()
        self.members = W.HTML()
        self.figure = go.FigureWidget(
            [go.Scattergl(x=[], y=[], mode="markers", text=[], customdata=[],
                          hovertemplate="%{text}<br>count %{customdata[0]}<br>cluster %{customdata[1]}<extra></extra>")],
            layout=go.Layout(height=520, dragmode="lasso", margin=dict(l=10, r=10, t=40, b=10), title="tag map",
                             xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False)),
        )
        self.figure.data[0].on_selection(self._on_selection)
        for control in (self.k, self.algorithm, self.min_count):
            control.observe(lambda _: self.recluster(), names="value")
        self.projection.observe(lambda _: self.recluster(), names="value")
        self.cluster_pick.observe(lambda change: self.show_cluster(change["new"]), names="value")
        self.merge_button.on_click(lambda _: self.merge())
        self.export_button.on_click(lambda _: self._export_clicked())
        super().__init__([
            W.HBox([self.k, self.algorithm, self.min_count, self.projection]),
            self.figure,
            W.HBox([self.cluster_pick, self.merge_m, self.merge_button]),
            W.HBox([self.export_path, self.export_button]),
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
        """Cluster the tags with at least ``min_count`` items and redraw; returns ``table``."""
        keep = np.flatnonzero(self.counts >= self.min_count.value)
        if len(keep) < 3:
            self.status.value = f"<b>only {len(keep)} tags reach count {self.min_count.value}: lower the count threshold</b>"
            return self.table
        k = min(self.k.value, len(keep) - 1)
        labels = cluster_vectors(self.vectors[keep], k, algorithm=self.algorithm.value, seed=self.seed)
        xy = self.coordinates(self.projection.value)[keep]
        self.merged = []
        self._set_table(keep, labels, xy)
        self.status.value = f"{len(keep)} tags, {k} clusters ({escape(self.algorithm.value)}), map: {escape(self.projection.value)}"
        return self.table

    def merge(self) -> list[tuple[int, int]]:
        """Merge m-correlated clusters (co-occurring at least m times more than chance)."""
        if self.items_by_tags is None:
            raise ValueError("merging m-correlated clusters needs items_by_tags")
        keep = self.table["index"].to_numpy()
        labels, merged = merge_m_correlated(self.items_by_tags[:, keep], self.table["cluster"].to_numpy(), self.merge_m.value)
        self.merged = merged
        self._set_table(keep, labels, self.table[["x", "y"]].to_numpy())
        self.status.value = f"merged {len(merged)} pair(s) of clusters at m = {self.merge_m.value}: {escape(merged)}"
        return merged

    def _set_table(self, keep: np.ndarray, labels: np.ndarray, xy: np.ndarray) -> None:
        self.table = pd.DataFrame({"index": keep, "tag": self.tags[keep], "cluster": labels, "count": self.counts[keep],
                                   "x": xy[:, 0], "y": xy[:, 1]})
        colours = [PALETTE[c % len(PALETTE)] if c >= 0 else "#cccccc" for c in labels]
        with self.figure.batch_update():
            trace = self.figure.data[0]
            trace.x, trace.y = xy[:, 0], xy[:, 1]
            trace.text = [escape_plotly(tag) for tag in self.table["tag"]]  # hover shows %{text}
            trace.customdata = np.stack([self.table["count"].to_numpy(), labels], axis=1)
            trace.marker = dict(color=colours, size=marker_sizes(self.table["count"].to_numpy()), line=dict(width=0))
            trace.selectedpoints = None
        sizes = self.table.groupby("cluster")["count"].size()
        self.cluster_pick.options = [(f"{c} ({n} tags)", int(c)) for c, n in sizes.items()]

    # ------------------------------------------------------------------ selections
    def _on_selection(self, trace, points, selector) -> None:
        self.select_points(list(points.point_inds))

    def select_points(self, positions: Sequence[int]) -> list[str]:
        """Select points by their position in ``table``; lists them and informs the callbacks."""
        rows = self.table.iloc[list(positions)].sort_values("count", ascending=False)
        self.selected = rows["tag"].tolist()
        self.members.value = self._members_html(rows, f"{len(rows)} selected tags")
        for callback in self._callbacks:
            callback(self.selected)
        return self.selected

    def show_cluster(self, cluster: int | None) -> list[str]:
        """List the members of one cluster (most frequent first) and select them."""
        if cluster is None:
            return []
        positions = np.flatnonzero(self.table["cluster"].to_numpy() == cluster)
        return self.select_points(positions)

    def on_select(self, callback: Callable[[list[str]], None]) -> None:
        self._callbacks.append(callback)

    @staticmethod
    def _members_html(rows: pd.DataFrame, title: str) -> str:
        items = "".join(f"<li>{escape(tag)} <small>({count}, cluster {c})</small></li>"
                        for tag, count, c in zip(rows["tag"], rows["count"], rows["cluster"]))
        return f"<b>{title}</b><ul style='columns: 3; margin: 0'>{items}</ul>"

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
