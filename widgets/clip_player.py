"""Clip player: plays a clip, shows its log-mel spectrogram and its tags from every source given
(gold, propagated, predicted with scores), and steps through a folder or a selection, e.g. the
clips carrying the tags selected in the cluster explorer (:meth:`ClipPlayer.follow`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from labkit.audio import list_clips, load_audio, log_mel
from labkit.audio.features import HOP_LENGTH

from ._html import escape, escape_plotly

Tags = Mapping[str, Sequence[str] | Mapping[str, float]]


class ClipPlayer(W.VBox):
    """clips: a folder or a list of audio files; tags: source name -> {clip id -> tags}, where a
    clip's tags are a list, or a dict tag -> score (predictions); a clip id is its file stem.
    ``current`` is the shown clip's position in ``playlist`` (the clips being stepped through)."""

    def __init__(self, clips: str | Path | Sequence[str | Path], tags: Mapping[str, Tags] | None = None, *,
                 sr: int = 22050, n_mels: int = 96) -> None:
        self.clips = list_clips(clips) if isinstance(clips, (str, Path)) else [Path(c) for c in clips]
        if not self.clips:
            raise ValueError(f"no audio clips in {clips}")
        self.tags = dict(tags or {})
        self.sr, self.n_mels = sr, n_mels
        self.playlist = list(range(len(self.clips)))
        self.current = 0
        self.audio = W.Audio(autoplay=False, loop=False)
        self.title = W.HTML()
        self.tag_view = W.HTML()
        self.previous_button = W.Button(description="◀ previous")
        self.next_button = W.Button(description="next ▶")
        self.show_all_button = W.Button(description="all clips")
        self.figure = go.FigureWidget([go.Heatmap(z=[[0]], colorscale="Magma", colorbar=dict(title="dB"))],
                                      layout=go.Layout(height=280, margin=dict(l=10, r=10, t=30, b=30),
                                                       xaxis_title="seconds", yaxis_title="mel band"))
        self.previous_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(+1))
        self.show_all_button.on_click(lambda _: self.select(None))
        super().__init__([W.HBox([self.previous_button, self.next_button, self.show_all_button, self.title]),
                          self.audio, self.figure, self.tag_view])
        self.add_class("labkit-clip-player")  # a handle for browser tests and custom CSS
        self.show(0)

    def clip_id(self, index: int) -> str:
        return self.clips[index].stem

    def show(self, position: int) -> None:
        """Show the clip at ``position`` in the playlist: audio, spectrogram, tags."""
        if not self.playlist:
            self.title.value = "<b>no clip in the selection</b>"
            return
        self.current = position % len(self.playlist)
        index = self.playlist[self.current]
        path = self.clips[index]
        self.audio.value = path.read_bytes()
        self.audio.format = path.suffix.lstrip(".").lower()
        wave = load_audio(path, sr=self.sr)
        mel = log_mel(wave, sr=self.sr, n_mels=self.n_mels)
        hop_seconds = HOP_LENGTH / self.sr
        with self.figure.batch_update():
            heat = self.figure.data[0]
            heat.z = mel
            heat.x = np.arange(mel.shape[1]) * hop_seconds
            self.figure.layout.title = escape_plotly(path.name)
        self.title.value = f"<b>{escape(path.name)}</b> ({self.current + 1} of {len(self.playlist)}, {len(wave) / self.sr:.1f} s)"
        self.tag_view.value = self._tags_html(self.clip_id(index))

    def step(self, delta: int) -> None:
        """Next (+1) or previous (-1) clip of the playlist, wrapping around."""
        self.show(self.current + delta)

    def select(self, clip_ids: Sequence[str] | None) -> list[str]:
        """Step through these clips only (None: all); returns the ids found."""
        if clip_ids is None:
            self.playlist = list(range(len(self.clips)))
        else:
            wanted = set(clip_ids)
            self.playlist = [i for i in range(len(self.clips)) if self.clip_id(i) in wanted]
        self.show(0)
        return [self.clip_id(i) for i in self.playlist]

    def clips_with_tags(self, tags: Sequence[str]) -> list[str]:
        """Ids of the clips carrying any of ``tags`` in any source."""
        wanted = set(tags)
        found = set()
        for by_clip in self.tags.values():
            found |= {clip for clip, clip_tags in by_clip.items() if wanted & set(clip_tags)}
        return [self.clip_id(i) for i in range(len(self.clips)) if self.clip_id(i) in found]

    def follow(self, explorer) -> None:
        """Step through the clips carrying the tags selected in a :class:`ClusterExplorer`."""
        explorer.on_select(lambda tags: self.select(self.clips_with_tags(tags)))

    def _tags_html(self, clip: str) -> str:
        rows = []
        for source, by_clip in self.tags.items():
            value = by_clip.get(clip, [])
            if isinstance(value, Mapping):
                shown = ", ".join(f"{escape(t)} <small>{s:.2f}</small>" for t, s in sorted(value.items(), key=lambda kv: -kv[1]))
            else:
                shown = ", ".join(escape(t) for t in value)
            rows.append(f"<tr><th style='text-align:left; padding-right:1em'>{escape(source)}</th><td>{shown or '-'}</td></tr>")
        return f"<table>{''.join(rows)}</table>" if rows else ""
