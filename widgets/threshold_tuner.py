"""Threshold tuner: sliders for τ, the classifier threshold, the joint-score threshold, K and m,
switches for SI / SN / PV / DA, and a live view of what passes: counts, histograms of every score
with the thresholds named, coverage and precision against the thresholds where complete labels are
known, and the items, those a change of setting changed listed first, with their candidates.

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
from labkit.diva.tuning import JointScoreTuner, TunerSettings, TunerView

from ._html import escape

# (title, x axis, what is counted) per histogram panel, in the order drawn
PANELS = (
    ("SI: share of the item's comments with the phrase", "log10 SI", "candidates"),
    ("SN: semantic novelty", "SN (0 to 1)", "phrases"),
    ("PV: mean classifier confidence", "log10 mean confidence", "phrases"),
    ("DA: coefficient of variation", "log10 CV", "phrases"),
    ("G: joint score", "log10 G", "candidates"),
    ("classifier probability", "probability", "candidates"),
)
THRESHOLD_COLOURS = {"τ": "#d62728", "joint": "#9467bd", "classifier": "#ff7f0e"}
JOINT_GRID = np.logspace(-7, 0, 15)
CLASSIFIER_GRID = np.linspace(0.5, 0.995, 12)


def number(value: float) -> str:
    """The tuner's one number format: 3 significant digits (0.953, 0.0012, 1.2e-05); '-' for NaN."""
    value = float(value)
    return "-" if np.isnan(value) else f"{value:.3g}"


def _log10(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.log10(values[values > 0])


def _histogram(values: np.ndarray, bins: int = 40) -> tuple[np.ndarray, np.ndarray, float]:
    """Bar centres, counts and bar width of ``values`` (empty arrays when there are none)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return np.array([]), np.array([]), 1.0
    counts, edges = np.histogram(values, bins=bins)
    return (edges[:-1] + edges[1:]) / 2, counts, float(edges[1] - edges[0]) or 1.0


class ThresholdTuner(W.VBox):
    """tuner: the cached parts of a trained DiVa run; item_names: one name per viewed row
    (default: the row numbers). ``view`` is the decision under the current controls,
    ``changed`` (len(rows),) how many candidates of each item the last change of setting flipped,
    and ``last_update_seconds`` how long computing and drawing it took."""

    def __init__(self, tuner: JointScoreTuner, item_names: Sequence[str] | None = None, *, table_rows: int = 15) -> None:
        self.tuner = tuner
        self.table_rows = table_rows
        s = TunerSettings.from_run(tuner.run)
        self.base = s
        self.names = list(item_names) if item_names is not None else [f"row {r}" for r in tuner.rows]
        if len(self.names) != len(tuner.rows):
            raise ValueError(f"{len(self.names)} item names for {len(tuner.rows)} rows")
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
        self.item = W.Dropdown(options=[], description="item", layout=W.Layout(width="520px"))
        self.notes = W.HTML()
        self.summary = W.HTML()
        self.item_view = W.HTML()
        self.figure = go.FigureWidget(make_subplots(rows=2, cols=3, subplot_titles=[p[0] for p in PANELS],
                                                    vertical_spacing=0.2, horizontal_spacing=0.07))
        for i, (_, x_title, y_title) in enumerate(PANELS):
            row, col = divmod(i, 3)
            self.figure.add_trace(go.Bar(x=[], y=[], showlegend=False, marker_color="#4c78a8", name=PANELS[i][0],
                                         hovertemplate=f"{x_title} %{{x:.3g}}<br>%{{y}} {y_title}<extra></extra>"), row=row + 1, col=col + 1)
            self.figure.update_xaxes(title_text=x_title, row=row + 1, col=col + 1)
            self.figure.update_yaxes(title_text=y_title, row=row + 1, col=col + 1)
        # the thresholds, one line each, named in the legend (panels: PV, DA and G, classifier probability)
        self._threshold_panels = (("τ", 3), ("τ", 4), ("joint", 5), ("classifier", 6))
        for i, (kind, panel) in enumerate(self._threshold_panels):
            row, col = divmod(panel - 1, 3)
            self.figure.add_trace(go.Scatter(x=[], y=[], mode="lines", line=dict(color=THRESHOLD_COLOURS[kind], dash="dash", width=2),
                                             legendgroup=kind, showlegend=i in (0, 2, 3), name=kind, hoverinfo="name"),
                                  row=row + 1, col=col + 1)
        self.figure.update_layout(height=560, margin=dict(l=10, r=10, t=50, b=10), bargap=0.05,
                                  legend=dict(orientation="h", y=1.12, x=0, title_text="thresholds: "))
        self.figure.update_annotations(font_size=12)
        self._fixed_histograms()
        self.curves = self._curve_figure() if tuner.complete is not None else None  # a figure that is never shown makes none
        curves = self.curves if self.curves is not None else W.HTML(
            "<i>No complete label sets given (JointScoreTuner(run, complete=...)): coverage and precision cannot be drawn.</i>")
        self._curve_key = None
        self.view: TunerView | None = None
        self.changed = np.zeros(len(tuner.rows), dtype=np.int64)
        self.last_update_seconds = float("nan")
        self._quiet = False
        controls = (self.tau, self.classifier_threshold, self.joint_threshold, self.n_clusters, self.runs, self.continuous,
                    *self.switches.values())
        for control in controls:
            control.observe(lambda _: self.update(), names="value")
        self.item.observe(lambda _: None if self._quiet else self.show_item(), names="value")
        super().__init__([
            W.HBox([W.VBox([self.classifier_threshold, self.joint_threshold, self.tau]), W.VBox([self.n_clusters, self.runs])]),
            W.HBox([W.Label("factors of G:"), *self.switches.values(), self.continuous]),
            self.notes, self.summary, self.figure, curves, self.item, self.item_view,
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

    # ------------------------------------------------------------------ drawing
    @staticmethod
    def _curve_figure() -> go.FigureWidget:
        """Coverage and precision against the joint-score threshold (left) and the classifier threshold (right)."""
        curves = go.FigureWidget(make_subplots(rows=1, cols=2, subplot_titles=(
            "against the joint-score threshold", "against the classifier threshold"), horizontal_spacing=0.1))
        for col in (1, 2):
            for name, colour in (("coverage", "#2ca02c"), ("precision", "#1f77b4")):
                curves.add_trace(go.Scatter(x=[], y=[], mode="lines+markers", name=name, line_color=colour, showlegend=col == 1,
                                                 legendgroup=name), row=1, col=col)
            curves.add_trace(go.Scatter(x=[], y=[], mode="lines", name="current setting", line=dict(color="black", dash="dot"),
                                             showlegend=col == 1, legendgroup="current"), row=1, col=col)
        curves.update_xaxes(title_text="joint-score threshold (log scale)", type="log", row=1, col=1)
        curves.update_xaxes(title_text="classifier threshold", row=1, col=2)
        curves.update_yaxes(title_text="coverage (mean Jaccard), precision", range=[0, 1.02], row=1, col=1)
        curves.update_yaxes(range=[0, 1.02], row=1, col=2)
        curves.update_layout(height=300, margin=dict(l=10, r=10, t=60, b=10), legend=dict(orientation="h", y=1.25, x=0),
                                  title=dict(text="harvested labels against the complete labels", y=0.98))
        return curves

    def _fixed_histograms(self) -> None:
        """The panels that no control changes: SI, mean confidence, CV, classifier probability."""
        t = self.tuner
        for panel, values in ((0, _log10(t.si[t.occurs])), (2, _log10(t.mean_confidence)), (3, _log10(t.cv)), (5, t.prob)):
            self._bars(panel, values)

    def _bars(self, panel: int, values: np.ndarray) -> float:
        centres, counts, width = _histogram(values)
        bar = self.figure.data[panel]
        bar.x, bar.y, bar.width = centres, counts, width
        return float(counts.max(initial=1))

    def _threshold_line(self, i: int, x: float, label: str) -> None:
        kind, panel = self._threshold_panels[i]
        top = float(np.max(self.figure.data[panel - 1].y, initial=1)) * 1.05
        line = self.figure.data[len(PANELS) + i]
        line.x, line.y, line.name = [x, x], [0, top], label

    def update(self) -> None:
        """Recompute what passes and redraw the summary, histograms, curves and the item list."""
        start = time.perf_counter()
        settings = self.settings()
        view = self.tuner.view(settings)
        previous, self.view = self.view, view
        self.changed = self.tuner.items_changed(previous, view) if previous is not None else np.zeros(len(self.tuner.rows), dtype=np.int64)
        passes = view.passes
        n_items = len(np.unique(self.tuner.entry_row[passes]))
        quality = "" if np.isnan(view.coverage) else (
            f"<br>against the complete labels: coverage <b>{number(view.coverage)}</b> (the known labels alone "
            f"{number(view.known_coverage)}), precision of what passes <b>{number(view.precision)}</b>")
        changed = int((self.changed > 0).sum())
        self.summary.value = (
            f"<b>{view.n_classifier}</b> classifier pseudo-labels and <b>{view.n_joint}</b> from the joint score, "
            f"on {n_items} of {len(self.tuner.rows)} items, {len(np.unique(self.tuner.entry_phrase[passes]))} distinct phrases"
            f"{quality}" + (f"<br>the last change changed <b>{changed}</b> item(s): listed first, marked ●" if previous is not None else ""))
        constant = self.tuner.constant_factors(view)
        self.notes.value = "".join(
            f"<div>⚠ {escape(name)} is {number(value)} for every candidate here: switching it on or off changes nothing.</div>"
            for name, value in constant.items() if name in self.switches)
        with self.figure.batch_update():
            self._bars(1, view.factors["SN"])
            self._bars(4, _log10(view.g[self.tuner.occurs]))
            self._threshold_line(0, np.log10(self.tau.value), f"τ = {number(self.tau.value)}")
            self._threshold_line(1, np.log10(self.tau.value), f"τ = {number(self.tau.value)}")
            self._threshold_line(2, np.log10(self.joint_threshold.value), f"joint-score threshold = {number(self.joint_threshold.value)}")
            self._threshold_line(3, self.classifier_threshold.value, f"classifier threshold = {number(self.classifier_threshold.value)}")
        self._draw_curves(settings)
        self._list_items()
        self.show_item()
        self.last_update_seconds = time.perf_counter() - start

    def _draw_curves(self, settings: TunerSettings) -> None:
        if self.curves is None:
            return
        key = (settings.tau, settings.n_clusters, settings.runs, settings.use, settings.continuous)
        joint_key, classifier_key = (*key, settings.classifier_threshold), (*key, settings.joint_threshold)
        with self.curves.batch_update():
            if self._curve_key is None or self._curve_key[0] != joint_key:
                sweep = self.tuner.sweep(settings, "joint_threshold", JOINT_GRID)
                self.curves.data[0].x, self.curves.data[0].y = JOINT_GRID, sweep["coverage"]
                self.curves.data[1].x, self.curves.data[1].y = JOINT_GRID, sweep["precision"]
            if self._curve_key is None or self._curve_key[1] != classifier_key:
                sweep = self.tuner.sweep(settings, "classifier_threshold", CLASSIFIER_GRID)
                self.curves.data[3].x, self.curves.data[3].y = CLASSIFIER_GRID, sweep["coverage"]
                self.curves.data[4].x, self.curves.data[4].y = CLASSIFIER_GRID, sweep["precision"]
            self.curves.data[2].x, self.curves.data[2].y = [settings.joint_threshold] * 2, [0, 1]
            self.curves.data[5].x, self.curves.data[5].y = [settings.classifier_threshold] * 2, [0, 1]
        self._curve_key = (joint_key, classifier_key)

    def _list_items(self) -> None:
        """Items the last change changed first (●), then those with something passing, then the rest."""
        passing = self.tuner.items_passing(self.view)
        order = np.lexsort((np.arange(len(passing)), -passing, -(self.changed > 0).astype(np.int64)))
        options = []
        for i in order:
            mark = f"● changed {self.changed[i]}, " if self.changed[i] else ""
            options.append((f"{self.names[i]} ({mark}{passing[i]} pass)", int(i)))
        current = self.item.value
        if current is None or (self.changed.any() and self.changed[current] == 0):
            current = int(order[0])  # the first changed item, or else the first item with something passing
        self._quiet = True
        try:
            with self.item.hold_sync():
                self.item.options = options
                self.item.value = current
        finally:
            self._quiet = False

    def show_item(self) -> None:
        """The chosen item's candidates, best G first, with what passes marked."""
        if self.view is None or self.item.value is None:
            return
        table = self.tuner.item_table(self.item.value, self.view).head(self.table_rows)
        # phrases are text: escape every cell and header (the styles below are the widget's own)
        styled = table.style.format(number, subset=table.select_dtypes("float").columns, escape="html").format(
            escape="html", subset=table.select_dtypes(exclude="float").columns).format_index(escape="html", axis=1).apply(
            lambda row: ["background: #d4f4dd" if row["passes"] else ("background: #eeeeee" if row["known"] else "")] * len(row), axis=1)
        legend = "<small>green: passes now; grey: already a label; numbers to 3 significant digits</small>"
        self.item_view.value = f"<b>{escape(self.names[self.item.value])}</b> {legend}" + styled.hide(axis="index").to_html()
