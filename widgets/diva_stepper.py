"""DiVa stepper: one button per step of a round (train or fine-tune, infer, joint score, select,
next round: each enabled only when it can run), the device in use, progress, a log that follows
its newest line, the round's proposed pseudo-labels each with its evidence (the comment it came
from with the phrase marked, the classifier's probability and G) to accept or reject by click or
by key, a per-round history chart, and the state kept so a round can be redone or the run saved.
Given the run's encoder, it also saves the run as a harvester (the classifier with its fitted
space and encoder: :class:`labkit.diva.harvester.Harvester`) and labels comments typed in.

All computing is :class:`labkit.diva.DiVa`; this widget calls its steps in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labkit.diva import DiVa
from labkit.diva.harvester import Harvester
from labkit.diva.state import save_state
from labkit.errors import OutputError
from labkit.text.evidence import phrase_evidence

from ._html import escape

STEPS = ("train", "infer", "joint score", "select")
KEYS = {"a": "accept", "r": "reject", "j": "next", "n": "next", "k": "previous", "p": "previous"}
LOG_LINES = 500  # the log keeps this many lines


def _number(value: float) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.3g}"


class DiVaStepper(W.VBox):
    """run: a :class:`DiVa` (fresh or part-way); item_names: one name per row of its space
    (default: row numbers); encoder: the encoder its space was built with (needed to save a
    harvester and label new comments); comments: one list of comments per row of the space, the
    evidence shown with each proposal. ``stage`` is the last step done in the current round
    (``"start"`` before any); ``snapshots`` the state at the start of each round; ``decisions``
    (row, phrase) -> accepted, for the pending proposals (all accepted until rejected)."""

    def __init__(self, run: DiVa, item_names: Sequence[str] | None = None, encoder=None,
                 comments: Sequence[Sequence[str]] | None = None) -> None:
        self.run = run
        self.encoder = encoder
        self.item_names = list(item_names) if item_names is not None else None
        self.comments = comments
        if comments is not None and len(comments) != run.pairs.space.n_items:
            raise ValueError(f"comments has {len(comments)} lists for the space's {run.pairs.space.n_items} rows")
        self.stage = "start"
        self.snapshots: dict[int, dict] = {run.round: run.snapshot()}
        self.decisions: dict[tuple[int, str], bool] = {}
        self.log_lines: list[str] = []
        self._table = pd.DataFrame(columns=["row", "phrase", "source", "probability", "G"])
        self._quiet = False
        device = str(run.device)
        self.device_label = W.HTML(f"device: <b>{'GPU' if device.startswith('cuda') else 'CPU'}</b> ({escape(device)})")
        self.round_label = W.HTML()
        self.buttons = {name: W.Button(description=name) for name in STEPS}
        self.next_button = W.Button(description="next round", button_style="primary")
        self.redo_button = W.Button(description="redo round", button_style="warning")
        self.save_path = W.Text(value="diva-state", description="save to")
        self.save_button = W.Button(description="save run")
        self.harvester_path = W.Text(value="harvester", description="harvester")
        self.harvester_button = W.Button(description="save harvester")
        self.new_comments = W.Textarea(placeholder="comments of a new song, one per line", layout=W.Layout(width="60%", height="70px"))
        self.label_button = W.Button(description="label them")
        self.label_output = W.HTML()
        self.progress = W.IntProgress(value=0, min=0, max=len(STEPS), description="round")
        self.log_view = W.HTML()
        self.log_view.add_class("labkit-log")
        self.progress_output = W.Output()  # the steps' own progress bars
        self.filter = W.Text(placeholder="filter proposals by text", description="filter")
        self.proposal_list = W.Select(options=[], rows=10, description="proposals", layout=W.Layout(width="55%"))
        self.evidence = W.HTML(layout=W.Layout(width="44%"))
        self.evidence.add_class("labkit-evidence")
        self.accept_button = W.Button(description="accept (a)", button_style="success", tooltip="accept this proposal")
        self.reject_button = W.Button(description="reject (r)", button_style="danger", tooltip="reject this proposal")
        self.previous_button = W.Button(description="◀ previous (k)")
        self.next_proposal_button = W.Button(description="next (j) ▶")
        self.reject_shown_button = W.Button(description="reject all shown")
        self.accept_shown_button = W.Button(description="accept all shown")
        self.key_box = W.Text(placeholder="click here, then: a accept · r reject · j next · k previous", continuous_update=True,
                           description="keys", layout=W.Layout(width="420px"))
        self.key_box.add_class("labkit-keys")
        self.proposal_info = W.HTML()
        self.history_figure = go.FigureWidget(
            [go.Bar(name="from the classifier", x=[], y=[]), go.Bar(name="from the joint score", x=[], y=[]),
             go.Scatter(name="validation PSP@5", x=[], y=[], yaxis="y2", mode="lines+markers")],
            layout=go.Layout(height=300, barmode="stack", title="pseudo-labels accepted per round", margin=dict(l=10, r=10, t=40, b=80),
                             xaxis=dict(title="round", dtick=1), yaxis=dict(title="new pseudo-labels", rangemode="tozero"),
                             yaxis2=dict(title="validation PSP@5", overlaying="y", side="right", rangemode="tozero"),
                             legend=dict(orientation="h", y=-0.3, x=0)))
        self.history_box = W.Box([self.history_figure])
        self.history_note = W.HTML()
        self.buttons["train"].on_click(lambda _: self.train())
        self.buttons["infer"].on_click(lambda _: self.infer())
        self.buttons["joint score"].on_click(lambda _: self.joint_score())
        self.buttons["select"].on_click(lambda _: self.select())
        self.next_button.on_click(lambda _: self.next_round())
        self.redo_button.on_click(lambda _: self.redo_round())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.harvester_button.on_click(lambda _: self._harvester_clicked())
        self.label_button.on_click(lambda _: self._label_clicked())
        self.accept_button.on_click(lambda _: self.decide(True))
        self.reject_button.on_click(lambda _: self.decide(False))
        self.previous_button.on_click(lambda _: self.move(-1))
        self.next_proposal_button.on_click(lambda _: self.move(+1))
        self.reject_shown_button.on_click(lambda _: self._decide_shown(False))
        self.accept_shown_button.on_click(lambda _: self._decide_shown(True))
        self.filter.observe(lambda _: self._show_proposals(), names="value")
        self.proposal_list.observe(lambda _: None if self._quiet else self._show_evidence(), names="value")
        self.key_box.observe(self._key_typed, names="value")
        self.review = W.VBox([
            W.HBox([self.filter, self.accept_shown_button, self.reject_shown_button]),
            W.HBox([self.proposal_list, self.evidence]),
            W.HBox([self.previous_button, self.accept_button, self.reject_button, self.next_proposal_button, self.key_box]),
            self.proposal_info,
        ])
        super().__init__([
            W.HBox([self.device_label, self.round_label]),
            W.HBox([*self.buttons.values(), self.next_button, self.redo_button]),
            self.progress, self.log_view, self.progress_output, self.review, self.history_note, self.history_box,
            W.HBox([self.save_path, self.save_button]),
            W.HBox([self.harvester_path, self.harvester_button]),
            W.HBox([self.new_comments, self.label_button]), self.label_output,
        ])
        self.add_class("labkit-diva-stepper")  # a handle for browser tests and custom CSS
        self._say(f"round {run.round}: ready; press {self.step_label('train')}")
        self._refresh()

    # ------------------------------------------------------------------ names and log
    def step_label(self, name: str) -> str:
        """What a step is called on its button, in the header and in the log (train is
        "fine-tune" after round 0)."""
        return ("fine-tune" if self.run.round > 0 else "train") if name == "train" else name

    def _say(self, line: str) -> None:
        """Add a line to the log; the box shows the newest line (it scrolls from the bottom)."""
        self.log_lines = [*self.log_lines, *line.splitlines()][-LOG_LINES:]
        body = "".join(f"<div>{escape(x)}</div>" for x in self.log_lines)
        # column-reverse keeps a scrolling box anchored at its end: the newest line stays in view
        self.log_view.value = ("<div style='max-height:150px; overflow-y:auto; display:flex; flex-direction:column-reverse; "
                          "border:1px solid #ddd; padding:2px 6px; font-family:monospace; font-size:12px'>"
                          f"<div>{body}</div></div>")

    # ------------------------------------------------------------------ steps
    def _step(self, name: str, action) -> None:
        self.progress_output.clear_output()
        self._say(f"round {self.run.round}: {self.step_label(name)} ...")
        with self.progress_output:
            said = action()
        for line in said or ():
            self._say(f"  {line}")
        self.stage = name
        self.progress.value = STEPS.index(name) + 1
        self._refresh()

    def train(self) -> None:
        """Round 0: train on the gold labels; later rounds: fine-tune. Then score the validation part."""
        def action():
            losses = self.run.train()
            psp, psndcg = self.run.evaluate()
            scores = f"; validation PSP@5 {psp:.4f}, PSnDCG@5 {psndcg:.4f}" if len(self.run.val_rows) else " (no validation part)"
            return [f"loss {losses[0]:.4f} -> {losses[-1]:.4f}{scores}"]
        self._step("train", action)

    def infer(self) -> None:
        self._step("infer", lambda: [f"{self.run.infer().nnz} pseudo-labels proposed by the classifier"])

    def joint_score(self) -> None:
        self._step("joint score", lambda: [f"{self.run.joint_score().nnz} pseudo-labels proposed by the joint score"])

    def select(self) -> int:
        """Accept the proposals except those rejected (by hand or with :meth:`reject`)."""
        rejected = self.rejected
        added = {}

        def action():
            added["n"] = self.run.select(rejected=rejected)
            return [f"accepted {added['n']}, rejected {len(rejected)}"]
        self._step("select", action)
        return added["n"]

    def next_round(self) -> bool:
        """Start the next round (its training fine-tunes) with :meth:`DiVa.next_round`, which
        refuses where ``fit`` would stop (then nothing changes and the log says why); the state
        at its start is kept for a redo. Returns whether a new round started."""
        reason = self.run.stop_reason()
        if not self.run.next_round():
            self._say(f"round {self.run.round}: no next round ({reason})")
            self._refresh()
            return False
        self.snapshots[self.run.round] = self.run.snapshot()
        self.stage, self.progress.value = "start", 0
        self._say(f"round {self.run.round}: started; press {self.step_label('train')}")
        self._refresh()
        return True

    def redo_round(self) -> None:
        """Back to the start of the current round: labels, proposals, history and weights."""
        if self.stage == "start":
            return
        self.run.restore(self.snapshots[self.run.round])
        self.stage, self.progress.value = "start", 0
        self._say(f"round {self.run.round}: back to its start")
        self._refresh()

    # ------------------------------------------------------------------ reviewing proposals
    @property
    def rejected(self) -> set[tuple[int, str]]:
        """The pending proposals rejected so far, as (row, phrase)."""
        return {key for key, accepted in self.decisions.items() if not accepted}

    def reject(self, keys: Iterable[tuple[int, str]]) -> None:
        """Reject these pending proposals ((row, phrase) pairs)."""
        self._set_decisions(keys, False)

    def accept(self, keys: Iterable[tuple[int, str]]) -> None:
        """Accept these pending proposals again."""
        self._set_decisions(keys, True)

    def _set_decisions(self, keys, accepted: bool) -> None:
        for key in keys:
            key = (int(key[0]), str(key[1]))
            if key not in self.decisions:
                raise KeyError(f"{key} is not a pending proposal")
            self.decisions[key] = accepted
        self._show_proposals()

    def decide(self, accepted: bool) -> None:
        """Accept or reject the proposal shown, then show the next one."""
        key = self.proposal_list.value
        if key is None:
            return
        self.decisions[key] = accepted
        self._show_proposals()
        self.move(+1)

    def move(self, step: int) -> None:
        """Show the next (+1) or previous (-1) proposal of the list."""
        values = [value for _, value in self.proposal_list.options]
        if not values:
            return
        i = values.index(self.proposal_list.value) if self.proposal_list.value in values else -step
        self.proposal_list.value = values[min(max(i + step, 0), len(values) - 1)]

    def _decide_shown(self, accepted: bool) -> None:
        for _, key in self.proposal_list.options:
            self.decisions[key] = accepted
        self._show_proposals()

    def _key_typed(self, change) -> None:
        if self._quiet or not change["new"]:
            return
        for char in change["new"].lower():
            action = KEYS.get(char)
            if action == "accept":
                self.decide(True)
            elif action == "reject":
                self.decide(False)
            elif action in ("next", "previous"):
                self.move(+1 if action == "next" else -1)
        self._quiet = True
        try:
            self.key_box.value = ""
        finally:
            self._quiet = False

    def _name(self, row: int) -> str:
        return self.item_names[row] if self.item_names else f"row {row}"

    def _show_proposals(self) -> None:
        table = self._table
        text = self.filter.value.strip().lower()
        options = []
        for row, phrase, source in zip(table["row"], table["phrase"], table["source"]):
            key = (int(row), str(phrase))
            label = f"{'✓' if self.decisions.get(key, True) else '✗'} {self._name(key[0])} · {phrase} · {source}"
            if not text or text in label.lower():
                options.append((label, key))
        current = self.proposal_list.value
        values = [value for _, value in options]
        self._quiet = True
        try:
            with self.proposal_list.hold_sync():
                self.proposal_list.options = options
                self.proposal_list.value = current if current in values else (values[0] if values else None)
        finally:
            self._quiet = False
        n_rejected = len(self.rejected)
        self.proposal_info.value = (
            f"{len(table)} proposed pseudo-labels ({len(options)} shown), <b>{len(table) - n_rejected}</b> to accept, "
            f"<b>{n_rejected}</b> rejected: press <i>select</i> to take them" if len(table) else
            "<i>no proposals pending: they appear after infer and joint score</i>")
        self._show_evidence()

    def _show_evidence(self) -> None:
        key = self.proposal_list.value
        if key is None:
            self.evidence.value = ""
            return
        row, phrase = key
        hit = self._table[(self._table["row"] == row) & (self._table["phrase"] == phrase)].iloc[0]
        accepted = self.decisions.get(key, True)
        head = (f"<b>{escape(self._name(row))}</b>: <b>{escape(phrase)}</b>, proposed by the {escape(hit['source'])} "
                f"<span style='color:{'#2ca02c' if accepted else '#d62728'}'>({'to accept' if accepted else 'rejected'})</span><br>"
                f"classifier probability <b>{_number(hit['probability'])}</b> · G <b>{_number(hit['G'])}</b>")
        self.evidence.value = f"<div style='padding:0 8px'>{head}<br>{self._evidence_html(row, phrase)}</div>"

    def _evidence_html(self, row: int, phrase: str) -> str:
        if self.comments is None:
            return "<i>no comments given to the stepper (comments=...): the evidence cannot be shown</i>"
        space = self.run.pairs.space
        max_words = space.fitted.max_words if space.fitted is not None else 3
        comments = list(self.comments[row])
        found = phrase_evidence(comments, phrase, lang=space.lang, max_words=max_words)
        if found is None:
            return (f"<i>none of the {len(comments)} comments holds it: a gold-vocabulary label the classifier scores "
                    "from the song's comments as a whole</i>")
        t = found.text
        quote = f"{escape(t[:found.start])}<mark>{escape(t[found.start:found.end])}</mark>{escape(t[found.end:])}"
        return (f"<small>comment {found.comment + 1} of {len(comments)} ({found.n_comments} hold it):</small>"
                f"<blockquote style='margin:4px 0; border-left:3px solid #ccc; padding-left:6px'>{quote}</blockquote>")

    # ------------------------------------------------------------------ saving and labelling
    def _save_clicked(self) -> None:
        try:
            self.save(self.save_path.value)
        except OutputError as err:  # a folder of the user's files is in the way: say so, touch nothing
            self._say(f"not saved: {err}")

    def save(self, folder: str | Path) -> Path:
        """Save the run's state (:func:`labkit.diva.state.save_state`: a new folder, or an earlier state)."""
        path = save_state(self.run, folder)
        self._say(f"saved the run (round {self.run.round}) to {path}")
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
        self._say(f"saved a harvester (round {self.run.round}) to {path}")
        return path

    def label_comments(self, comments: Sequence[str]):
        """The :class:`~labkit.data.jsonl.Prediction` of one new song with these comments."""
        return next(self.harvester().label([list(comments)]))

    def _harvester_clicked(self) -> None:
        try:
            self.save_harvester(self.harvester_path.value)
        except (OutputError, ValueError) as err:
            self._say(f"not saved: {err}")

    def _label_clicked(self) -> None:
        comments = [line for line in self.new_comments.value.splitlines() if line.strip()]
        if not comments:
            self.label_output.value = "<i>type a comment or more, one per line</i>"
            return
        prediction = self.label_comments(comments)
        rows = "".join(f"<li>{escape(label)} <small>({score:.3g})</small></li>" for label, score in zip(prediction.labels, prediction.scores))
        self.label_output.value = f"<b>{len(prediction.labels)} labels</b><ul>{rows}</ul>" if rows else "<i>no candidate reaches the threshold</i>"

    # ------------------------------------------------------------------ views
    def _refresh(self) -> None:
        order = ("start", *STEPS)
        done = order.index(self.stage)
        for i, (name, button) in enumerate(self.buttons.items()):
            button.disabled = i != done  # only the next step can run
            button.description = self.step_label(name)
            button.tooltip = "" if i == done else f"next: {self.step_label(order[done + 1]) if done < len(STEPS) else 'next round'}"
        reason = self.run.stop_reason()
        self.next_button.disabled = self.stage != "select" or reason is not None
        self.next_button.tooltip = f"no next round: {reason}" if reason else ("select first" if self.stage != "select" else "")
        self.redo_button.disabled = self.stage == "start"
        self.redo_button.tooltip = "nothing to redo: no step of this round has run" if self.stage == "start" else "back to the start of this round"
        why = ("train the classifier first" if self.run.model is None else
               "give the stepper the run's encoder (encoder=...)" if self.encoder is None else "")
        for button in (self.harvester_button, self.label_button):
            button.disabled, button.tooltip = bool(why), why
        last = self.step_label(self.stage) if self.stage != "start" else "none yet"
        self.round_label.value = f"&nbsp; round <b>{self.run.round}</b>, last step: <b>{escape(last)}</b>"
        self._table = self.run.proposal_table()
        keys = {(int(r), str(p)) for r, p in zip(self._table["row"], self._table["phrase"])}
        self.decisions = {key: self.decisions.get(key, True) for key in sorted(keys)}
        for button in (self.accept_button, self.reject_button, self.previous_button, self.next_proposal_button,
                       self.accept_shown_button, self.reject_shown_button):
            button.disabled = not keys
        self._show_proposals()
        self._plot_history()

    def _plot_history(self) -> None:
        done = [h for h in self.run.history if h.round < self.run.round or self.stage == "select"]  # rounds that selected
        scored = [h for h in self.run.history if not np.isnan(h.val_psp5)]
        if not done and not scored:
            self.history_box.layout.display = "none"
            self.history_note.value = "<i>The history chart appears once a round has been trained.</i>"
            return
        self.history_box.layout.display = ""
        self.history_note.value = ""
        with self.history_figure.batch_update():
            self.history_figure.data[0].x = [h.round for h in done]
            self.history_figure.data[0].y = [h.new_from_classifier for h in done]
            self.history_figure.data[1].x = [h.round for h in done]
            self.history_figure.data[1].y = [h.new_from_joint for h in done]
            self.history_figure.data[2].x = [h.round for h in scored]
            self.history_figure.data[2].y = [h.val_psp5 for h in scored]
            top = max([h.val_psp5 for h in scored], default=0.0)
            self.history_figure.layout.yaxis2.range = [0, max(top * 1.15, 0.05)]
            self.history_figure.layout.yaxis2.visible = bool(scored)
            self.history_figure.layout.xaxis.range = [-0.5, max([h.round for h in self.run.history], default=0) + 0.5]
