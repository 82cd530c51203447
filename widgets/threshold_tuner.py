"""Threshold tuner: sliders for τ, the classifier threshold, the joint-score threshold, K and m,
switches for SI / SN / PV / DA, and a live view of what passes, for one item and across the corpus
(counts, score histograms, coverage where complete labels are known).

All computing is :class:`labkit.diva.tuning.JointScoreTuner`: a slider move is a few array
operations on cached parts (K and m recompute SN once per pair of values, then it is cached too).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.diva.scoring import SCORE_PARTS
from labkit.diva.tuning import JointScoreTuner, TunerSettings


def _log10(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.log10(values[values > 0])


class ThresholdTuner(W.VBox):
    """tuner: the cached parts of a trained DiVa run; item_names: one name per viewed row
    (default: the row numbers). ``view`` is the decision under the current controls and
    ``last_update_seconds`` how long computing and drawing it took."""

    def __init__(self, tuner: JointScoreTuner, item_names: Sequence[str] | None = None, *, table_rows: int = 15) -> None:
        self.tuner = tuner
        self.table_rows = table_rows
        s = TunerSettings.from_run(tuner.run)
        self.base = s
        names = list(item_names) if item_names is not None else [f"row {r}" for r in tuner.rows]
        if len(names) != len(tuner.rows):
            raise ValueError(f"{len(names)} item names for {len(tuner.rows)} rows")
        slider = dict(continuous_update=False, style={"description_width": "initial"}, layout=W.Layout(width="420px"))
        self.tau = W.FloatLogSlider(value=s.tau, base=10, min=-6, max=0, step=0.1, description="τ (PV, DA)", readout_format=".1e", **slider)
        self.classifier_threshold = W.FloatSlider(value=s.classifier_threshold, min=0.5, max=1.0, step=0.005,
                                                  description="classifier threshold", readout_format=".3f", **slider)
        self.joint_threshold = W.FloatLogSlider(value=s.joint_threshold, base=10, min=-7, max=0, step=0.1,
                                                description="joint-score threshold", readout_format=".1e", **slider)
        self.n_clusters = W.IntSlider(value=s.n_clusters, min=2, max=60, description="K (SN clusters)", **slider)
        self.runs = W.IntSlider(value=s.runs, min=1, max=20, description="m (SN runs)", **slider)
        self.switches = {name: W.Checkbox(value=name in s.use, description=name, indent=False, layout=W.Layout(width="70px"))
                         for name in SCORE_PARTS}
        self.continuous = W.Checkbox(value=s.continuous, description="continuous PV, DA", indent=False)
        self.item = W.Dropdown(options=[(name, i) for i, name in enumerate(names)], description="item")
        self.summary = W.HTML()
        self.item_view = W.HTML()
        self.figure = go.FigureWidget(make_subplots(rows=1, cols=5, subplot_titles=(
            "SI (log10)", "SN", "mean conf. (log10)", "CV (log10)", "G (log10)")))
        tuner_parts = (_log10(tuner.si[tuner.occurs]), None, _log10(tuner.mean_confidence), _log10(tuner.cv), None)
        for col, values in enumerate(tuner_parts, start=1):
            self.figure.add_trace(go.Histogram(x=[] if values is None else values, nbinsx=40, showlegend=False), row=1, col=col)
        self.figure.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10), bargap=0.05)
        self.view = None
        self.last_update_seconds = float("nan")
        controls = (self.tau, self.classifier_threshold, self.joint_threshold, self.n_clusters, self.runs, self.continuous,
                    *self.switches.values())
        for control in controls:
            control.observe(lambda _: self.update(), names="value")
        self.item.observe(lambda _: self.show_item(), names="value")
        super().__init__([
            W.HBox([W.VBox([self.classifier_threshold, self.joint_threshold, self.tau]), W.VBox([self.n_clusters, self.runs])]),
            W.HBox([W.Label("factors of G:"), *self.switches.values(), self.continuous]),
            self.summary, self.figure, self.item, self.item_view,
        ])
        self.add_class("labkit-threshold-tuner")  # a handle for browser tests and custom CSS
        self.update()

    def settings(self) -> TunerSettings:
        """The settings the controls show."""
        return TunerSettings(
            tau=self.tau.value, classifier_threshold=self.classifier_threshold.value, joint_threshold=self.joint_threshold.value,
            n_clusters=self.n_clusters.value, runs=self.runs.value, use=tuple(n for n, box in self.switches.items() if box.value),
            continuous=self.continuous.value, oov_only=self.base.oov_only, pair_validity=self.base.pair_validity, budget=self.base.budget,
        )

    def update(self) -> None:
        """Recompute what passes and redraw the summary, histograms and the item view."""
        start = time.perf_counter()
        view = self.tuner.view(self.settings())
        self.view = view
        phrases = self.tuner.entry_phrase[view.by_classifier | view.by_joint]
        n_items = len(np.unique(self.tuner.entry_row[view.by_classifier | view.by_joint]))
        coverage = "" if np.isnan(view.coverage) else (
            f"<br>coverage against complete labels: <b>{view.coverage:.3f}</b> (known labels alone {view.known_coverage:.3f})")
        self.summary.value = (
            f"<b>{view.n_classifier}</b> classifier pseudo-labels and <b>{view.n_joint}</b> from the joint score, "
            f"on {n_items} of {len(self.tuner.rows)} items, {len(np.unique(phrases))} distinct phrases{coverage}")
        with self.figure.batch_update():
            self.figure.data[1].x = view.factors["SN"]
            self.figure.data[4].x = _log10(view.g[self.tuner.occurs])
            self.figure.layout.shapes = [
                dict(type="line", xref=f"x{col}", yref=f"y{col} domain", x0=np.log10(x), x1=np.log10(x), y0=0, y1=1,
                     line=dict(color="crimson", dash="dash"))
                for col, x in ((3, self.tau.value), (4, self.tau.value), (5, self.joint_threshold.value))]
        self.show_item()
        self.last_update_seconds = time.perf_counter() - start

    def show_item(self) -> None:
        """The chosen item's candidates, best G first, with what passes marked."""
        if self.view is None:
            return
        table = self.tuner.item_table(self.item.value, self.view).head(self.table_rows)
        # phrases are text: escape every cell and header (the styles below are the widget's own)
        styled = table.style.format(precision=4, escape="html").format_index(escape="html", axis=1).apply(
            lambda row: ["background: #d4f4dd" if row["passes"] else ("background: #eeeeee" if row["known"] else "")] * len(row), axis=1)
        self.item_view.value = styled.hide(axis="index").to_html()
