"""DiVa stepper: one button per step of a round (train or fine-tune, infer, joint score, select,
next round: disabled where the run's stop rule says stop), the device in use, progress, the
round's proposed pseudo-labels with a way to reject some by hand before they are accepted (a
human in the loop), plots of the per-round history, and the state kept so a round can be redone
or the run saved. Given the run's encoder, it also saves the run as a harvester (the classifier
with its fitted space and encoder: :class:`labkit.diva.harvester.Harvester`) and labels comments
typed in, as a saved harvester would.

All computing is :class:`labkit.diva.DiVa`; this widget calls its steps in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ipywidgets as W
import plotly.graph_objects as go

from labkit.diva import DiVa
from labkit.diva.harvester import Harvester
from labkit.diva.state import save_state
from labkit.errors import OutputError

from ._html import escape

STEPS = ("train", "infer", "joint score", "select")


class DiVaStepper(W.VBox):
    """run: a :class:`DiVa` (fresh or part-way); item_names: one name per row of its space
    (default: row numbers); encoder: the encoder its space was built with (needed to save a
    harvester and label new comments). ``stage`` is the last step done in the current round
    (``"start"`` before training); ``snapshots`` the state at the start of each round."""

    def __init__(self, run: DiVa, item_names: Sequence[str] | None = None, encoder=None) -> None:
        self.run = run
        self.encoder = encoder
        self.item_names = list(item_names) if item_names is not None else None
        self.stage = "start"
        self.snapshots: dict[int, dict] = {run.round: run.snapshot()}
        device = str(run.device)
        self.device_label = W.HTML(f"device: <b>{'GPU' if device.startswith('cuda') else 'CPU'}</b> ({escape(device)})")
        self.round_label = W.HTML()
        self.buttons = {name: W.Button(description=name) for name in STEPS}
        self.next_button = W.Button(description="next round", button_style="primary")
        self.redo_button = W.Button(description="redo round", button_style="warning", tooltip="back to the start of this round")
        self.save_path = W.Text(value="diva-state", description="save to")
        self.save_button = W.Button(description="save run")
        self.harvester_path = W.Text(value="harvester", description="harvester")
        self.harvester_button = W.Button(description="save harvester")
        self.new_comments = W.Textarea(placeholder="comments of a new song, one per line", layout=W.Layout(width="60%", height="70px"))
        self.label_button = W.Button(description="label them")
        self.label_output = W.HTML()
        self.progress = W.IntProgress(value=0, min=0, max=len(STEPS), description="round")
        self.output_log = W.Output(layout=W.Layout(max_height="160px", overflow="auto"))
        self.filter = W.Text(placeholder="filter proposals by text", description="filter")
        self.proposal_list = W.SelectMultiple(options=[], rows=12, description="reject", layout=W.Layout(width="95%"))
        self.proposal_info = W.HTML()
        self.history_figure = go.FigureWidget(
            [go.Bar(name="from the classifier", x=[], y=[]), go.Bar(name="from the joint score", x=[], y=[]),
             go.Scatter(name="validation PSP@5", x=[], y=[], yaxis="y2", mode="lines+markers")],
            layout=go.Layout(height=280, barmode="stack", title="pseudo-labels per round", margin=dict(l=10, r=10, t=40, b=10),
                             xaxis=dict(title="round", dtick=1), yaxis=dict(title="new pseudo-labels"),
                             yaxis2=dict(title="PSP@5", overlaying="y", side="right")))
        self.buttons["train"].on_click(lambda _: self.train())
        self.buttons["infer"].on_click(lambda _: self.infer())
        self.buttons["joint score"].on_click(lambda _: self.joint_score())
        self.buttons["select"].on_click(lambda _: self.select())
        self.next_button.on_click(lambda _: self.next_round())
        self.redo_button.on_click(lambda _: self.redo_round())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.harvester_button.on_click(lambda _: self._harvester_clicked())
        self.label_button.on_click(lambda _: self._label_clicked())
        self.filter.observe(lambda _: self._show_proposals(), names="value")
        super().__init__([
            W.HBox([self.device_label, self.round_label]),
            W.HBox([*self.buttons.values(), self.next_button, self.redo_button]),
            self.progress, self.output_log, self.filter, self.proposal_list, self.proposal_info, self.history_figure,
            W.HBox([self.save_path, self.save_button]),
            W.HBox([self.harvester_path, self.harvester_button]),
            W.HBox([self.new_comments, self.label_button]), self.label_output,
        ])
        self.add_class("labkit-diva-stepper")  # a handle for browser tests and custom CSS
        self._refresh()

    # ------------------------------------------------------------------ steps
    def _step(self, name: str, action) -> None:
        with self.output_log:
            print(f"round {self.run.round}: {name} ...")
            action()
        self.stage = name
        self.progress.value = STEPS.index(name) + 1
        self._refresh()

    def train(self) -> None:
        """Round 0: train on the gold labels; later rounds: fine-tune. Then score the validation part."""
        def action():
            losses = self.run.train()
            psp, psndcg = self.run.evaluate()
            scores = f"; validation PSP@5 {psp:.4f}, PSnDCG@5 {psndcg:.4f}" if len(self.run.val_rows) else " (no validation part)"
            print(f"  loss {losses[0]:.4f} -> {losses[-1]:.4f}{scores}")
        self._step("train", action)

    def infer(self) -> None:
        self._step("infer", lambda: print(f"  {self.run.infer().nnz} pseudo-labels from the classifier"))

    def joint_score(self) -> None:
        self._step("joint score", lambda: print(f"  {self.run.joint_score().nnz} pseudo-labels from the joint score"))

    def select(self) -> int:
        """Accept the proposals except those selected in the list (rejected by hand)."""
        rejected = set(self.proposal_list.value)
        added = {}
        self._step("select", lambda: added.setdefault("n", self.run.select(rejected=rejected)))
        with self.output_log:
            print(f"  accepted {added['n']}, rejected {len(rejected)}")
        return added["n"]

    def next_round(self) -> bool:
        """Start the next round (its training fine-tunes) with :meth:`DiVa.next_round`, which
        refuses where ``fit`` would stop (then nothing changes and the log says why); the state
        at its start is kept for a redo. Returns whether a new round started."""
        reason = self.run.stop_reason()
        if not self.run.next_round():
            with self.output_log:
                print(f"round {self.run.round}: no next round ({reason})")
            self._refresh()
            return False
        self.snapshots[self.run.round] = self.run.snapshot()
        self.stage, self.progress.value = "start", 0
        self._refresh()
        return True

    def redo_round(self) -> None:
        """Back to the start of the current round: labels, proposals, history and weights."""
        self.run.restore(self.snapshots[self.run.round])
        self.stage, self.progress.value = "start", 0
        with self.output_log:
            print(f"round {self.run.round}: back to its start")
        self._refresh()

    def _save_clicked(self) -> None:
        try:
            self.save(self.save_path.value)
        except OutputError as err:  # a folder of the user's files is in the way: say so, touch nothing
            with self.output_log:
                print(f"not saved: {err}")

    def save(self, folder: str | Path) -> Path:
        """Save the run's state (:func:`labkit.diva.state.save_state`: a new folder, or an earlier state)."""
        path = save_state(self.run, folder)
        with self.output_log:
            print(f"saved the run (round {self.run.round}) to {path}")
        return path

    def harvester(self) -> Harvester:
        """The run as it stands (its current classifier) as a harvester."""
        if self.encoder is None:
            raise ValueError("the stepper was built without the run's encoder: DiVaStepper(run, names, encoder=...)")
        return Harvester.from_run(self.run, self.encoder)

    def save_harvester(self, folder: str | Path) -> Path:
        """Save the run as a harvester folder (:meth:`Harvester.save_pretrained`: a new folder, or an
        earlier harvester); ``labkit label --model FOLDER`` then labels new comments with it."""
        path = self.harvester().save_pretrained(folder, option="harvester")
        with self.output_log:
            print(f"saved a harvester (round {self.run.round}) to {path}")
        return path

    def label_comments(self, comments: Sequence[str]):
        """The :class:`~labkit.data.jsonl.Prediction` of one new song with these comments."""
        return next(self.harvester().label([list(comments)]))

    def _harvester_clicked(self) -> None:
        try:
            self.save_harvester(self.harvester_path.value)
        except (OutputError, ValueError) as err:
            with self.output_log:
                print(f"not saved: {err}")

    def _label_clicked(self) -> None:
        comments = [line for line in self.new_comments.value.splitlines() if line.strip()]
        if not comments:
            self.label_output.value = "<i>type a comment or more, one per line</i>"
            return
        prediction = self.label_comments(comments)
        rows = "".join(f"<li>{escape(label)} <small>({score:.2f})</small></li>" for label, score in zip(prediction.labels, prediction.scores))
        self.label_output.value = f"<b>{len(prediction.labels)} labels</b><ul>{rows}</ul>" if rows else "<i>no candidate reaches the threshold</i>"

    # ------------------------------------------------------------------ views
    def _refresh(self) -> None:
        order = ("start", *STEPS)
        done = order.index(self.stage)
        for i, (name, button) in enumerate(self.buttons.items()):
            button.disabled = i != done  # only the next step can run
            button.description = ("fine-tune" if self.run.round > 0 else "train") if name == "train" else name
        reason = self.run.stop_reason()
        self.next_button.disabled = self.stage != "select" or reason is not None
        self.next_button.tooltip = f"no next round: {reason}" if reason else ""
        why = ("train the classifier first" if self.run.model is None else
               "give the stepper the run's encoder (encoder=...)" if self.encoder is None else "")
        for button in (self.harvester_button, self.label_button):
            button.disabled, button.tooltip = bool(why), why
        self.round_label.value = f"&nbsp; round <b>{self.run.round}</b>, last step: {escape(self.stage)}"
        self._show_proposals()
        self._plot_history()

    def _proposal_options(self) -> list[tuple[str, tuple[int, str]]]:
        out = []
        for row, phrase, source in self.run.proposals():
            name = self.item_names[row] if self.item_names else f"row {row}"
            out.append((f"{name} · {phrase} · {source}", (row, phrase)))
        return out

    def _show_proposals(self) -> None:
        options = self._proposal_options()
        text = self.filter.value.strip().lower()
        shown = [o for o in options if text in o[0].lower()] if text else options
        kept = [v for v in self.proposal_list.value if v in {value for _, value in shown}]
        self.proposal_list.options = shown
        self.proposal_list.value = tuple(kept)
        self.proposal_info.value = (f"{len(options)} proposed pseudo-labels ({len(shown)} shown): select the ones to reject, "
                                    "then press <i>select</i>" if options else "")

    def _plot_history(self) -> None:
        rounds = [h.round for h in self.run.history]
        with self.history_figure.batch_update():
            self.history_figure.data[0].x = rounds
            self.history_figure.data[0].y = [h.new_from_classifier for h in self.run.history]
            self.history_figure.data[1].x = rounds
            self.history_figure.data[1].y = [h.new_from_joint for h in self.run.history]
            self.history_figure.data[2].x = rounds
            self.history_figure.data[2].y = [h.val_psp5 for h in self.run.history]
