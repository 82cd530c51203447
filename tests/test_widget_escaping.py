"""Issue 14 (case 4): the widgets escape every string from the data that they put into HTML.

Tags, phrases, comments, item names and file names are text, not markup: a social tag
``<img src=x onerror=alert(1)>`` must show as those characters, never reach the page as an element.
Each test drives a widget with such strings, collects every HTML string it shows (ipywidgets HTML
values, descriptions rendered as HTML, and every string of its plotly figures, since plotly renders
a subset of HTML in titles, hover and text labels) and checks that the raw markup never appears
while its escaped form does. Plain-text widgets (Dropdown / SelectMultiple option labels, Label
values, descriptions) are rendered with textContent by ipywidgets, so there the raw text must stay.
"""

from __future__ import annotations

import html
import re
import shutil

import ipywidgets as W
import numpy as np
import plotly.basedatatypes
from conftest import new_small_run as new_run

from labkit.diva.tuning import JointScoreTuner
from labkit.paths import sample_audio_dir
from widgets import ClipPlayer, ClusterExplorer, DiVaStepper, ThresholdTuner

EVIL = "<img src=x onerror=alert(1)>"
QUOTED = 'a & b "q"'


def escaped(text: str) -> str:
    return html.escape(text, quote=True)


def plotly_escaped(text: str) -> str:
    """Plotly decodes &lt; &gt; &amp; and numeric entities but not &quot;, so quotes are numeric there."""
    return html.escape(text, quote=True).replace("&quot;", "&#34;")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for v in value:
            yield from _strings(v)


def html_shown(widget) -> dict[str, list[str]]:
    """Every string the widget tree renders as HTML: {"html": [...], "plotly": [...]}."""
    found = {"html": [], "plotly": []}

    def walk(w):
        if isinstance(w, plotly.basedatatypes.BaseFigure):
            found["plotly"] += list(_strings(w.to_dict()))
            return
        if isinstance(w, (W.HTML, W.HTMLMath)):
            found["html"].append(w.value)
        if getattr(w, "description_allow_html", False):
            found["html"].append(w.description)
        for child in getattr(w, "children", ()):
            walk(child)

    walk(widget)
    return found


def assert_no_raw_markup(widget) -> dict[str, str]:
    """No raw ``<img src=x`` (the data's markup) anywhere the widget renders HTML; returns the joined
    HTML and plotly strings. (The widgets' own pictures are ``<img alt=...``.)"""
    shown = html_shown(widget)
    for kind, strings in shown.items():
        for s in strings:
            assert "<img src=x" not in s, f"raw markup in a {kind} string: {s[:300]!r}"
    return {kind: "\n".join(strings) for kind, strings in shown.items()}


# ---------------------------------------------------------------------------- cluster explorer
def test_cluster_explorer_escapes_tags_and_the_export_path(tmp_path):
    rng = np.random.default_rng(0)
    vectors = np.repeat(np.eye(6)[:2] * 5, 5, axis=0) + 0.05 * rng.normal(size=(10, 6))
    tags = [EVIL, QUOTED, *(f"tag{i}" for i in range(8))]
    explorer = ClusterExplorer(tags, vectors, np.arange(10) + 1, k=2, projection="pca")
    shown = assert_no_raw_markup(explorer)
    assert escaped(EVIL) not in shown["html"]  # nothing selected yet
    assert plotly_escaped(EVIL) in shown["plotly"] and plotly_escaped(QUOTED) in shown["plotly"]  # hover text
    assert "&quot;" not in shown["plotly"]  # plotly would show &quot; literally
    assert list(explorer.table["tag"][:2]) == [EVIL, QUOTED]  # the table keeps the text itself

    selected = explorer.select_points(range(len(explorer.table)))
    assert EVIL in selected and QUOTED in selected  # callbacks get the tags, not their HTML
    shown = assert_no_raw_markup(explorer)
    assert escaped(EVIL) in explorer.members.value and escaped(QUOTED) in explorer.members.value
    assert "<b>10 selected tags (by hand) of 10</b>" in explorer.members.value and "<li>" in explorer.members.value  # its own markup stays

    explorer.show_cluster(int(explorer.table["cluster"][explorer.table["tag"] == EVIL].iloc[0]))
    assert escaped(EVIL) in assert_no_raw_markup(explorer)["html"]

    target = tmp_path / f"{EVIL} & clusters.tsv"
    explorer.export(target)
    assert target.exists()
    shown = assert_no_raw_markup(explorer)
    assert escaped(str(target)) in explorer.status.value


# ---------------------------------------------------------------------------- clip player
def test_clip_player_escapes_file_names_sources_and_tags(tmp_path):
    clip = tmp_path / f'{EVIL} {QUOTED}.wav'
    shutil.copy(sample_audio_dir() / "clip-00.wav", clip)
    other = tmp_path / "plain.wav"
    shutil.copy(sample_audio_dir() / "clip-01.wav", other)
    tags = {
        f"gold {EVIL}": {clip.stem: [EVIL, QUOTED], "plain": ["bass"]},
        "predicted": {clip.stem: {f"{EVIL}!": 0.9, QUOTED: 0.4}},
    }
    player = ClipPlayer([clip, other], tags, sr=16000)
    assert_no_raw_markup(player)
    assert escaped(clip.name) in player.title.value and player.title.value.startswith("<b>")
    assert escaped(f"gold {EVIL}") in player.tag_view.value
    assert escaped(EVIL) in player.tag_view.value and escaped(QUOTED) in player.tag_view.value
    assert escaped(f"{EVIL}!") in player.tag_view.value and "<small>0.90</small>" in player.tag_view.value
    assert "<table>" in player.tag_view.value  # its own markup stays
    assert f"spectrogram of {escaped(clip.name)}" in player.view.value  # the picture's title attribute
    assert player.clips_with_tags([EVIL]) == [clip.stem]  # matching uses the text itself

    player.step(+1)
    assert_no_raw_markup(player)
    assert "plain.wav" in player.title.value
    player.select([clip.stem])
    assert escaped(clip.name) in assert_no_raw_markup(player)["html"]


# ---------------------------------------------------------------------------- threshold tuner
def test_threshold_tuner_escapes_phrases_in_its_table(synthetic_space):
    corpus, space = synthetic_space
    run = new_run(corpus, space)
    run.train()
    tuner = JointScoreTuner(run)
    # every phrase carries markup (the tuner reads its phrases only by position once built)
    tuner.phrases = [f"{EVIL} {QUOTED} {p}" for p in tuner.phrases]
    names = [f"{EVIL} item {r}" for r in range(len(tuner.rows))]
    widget = ThresholdTuner(tuner, names)
    for position in (0, 1):
        widget.item.value = position
        shown = assert_no_raw_markup(widget)
        phrase = tuner.item_table(position, widget.view)["phrase"].iloc[0]
        # pandas writes " as &#34; where html.escape writes &quot;: compare the cells' decoded text
        cells = re.findall(r">([^<]*)</td>", widget.item_view.value)
        assert phrase in [html.unescape(cell) for cell in cells]
        assert all('"' not in cell for cell in cells)  # quotes escaped too
        assert "&lt;img" in shown["html"] and "a &amp; b" in shown["html"]
    assert "<table" in widget.item_view.value and "background: #" in widget.item_view.value  # its own markup and styles stay
    label, position = widget.item.options[0]
    assert label.startswith(names[position] + " (")  # a Dropdown label is text: not escaped twice


# ---------------------------------------------------------------------------- DiVa stepper
def test_diva_stepper_escapes_what_it_shows_as_html(synthetic_space):
    corpus, space = synthetic_space
    run = new_run(corpus, space)
    names = [f"{EVIL} {QUOTED} {i}" for i in range(space.n_items)]
    stepper = DiVaStepper(run, names)
    assert_no_raw_markup(stepper)
    stepper.buttons["train"].click()
    stepper.buttons["infer"].click()
    stepper.buttons["joint score"].click()
    assert len(stepper.proposal_list.options) > 0
    assert_no_raw_markup(stepper)
    # option labels are rendered as text by ipywidgets: they keep the raw name, not its escaped form
    label = stepper.proposal_list.options[0][0]
    assert label.startswith(f"✓ {EVIL} {QUOTED}") and "&lt;" not in label
    stepper.filter.value = "onerror"
    assert len(stepper.proposal_list.options) > 0  # filtering matches the text itself
    assert_no_raw_markup(stepper)

    # the device name is a configured string shown in an HTML label
    run.device = f"cpu {EVIL}"
    odd = DiVaStepper(run, names)
    assert escaped(f"cpu {EVIL}") in assert_no_raw_markup(odd)["html"]
    assert "<b>CPU</b>" in odd.device_label.value
