"""Clip player: plays a clip over its log-mel spectrogram with a playhead that follows the audio
(click the picture to seek), lists its tags from every source given (gold, propagated, predicted
with scores), marks predictions right or wrong against the known tags, names held-out clips, and
steps through a folder or a selection, e.g. the clips carrying the tags selected in the cluster
explorer, playing the first (:meth:`ClipPlayer.follow`).

The playhead runs in the browser (the audio element's own clock), so it moves smoothly with no
round trip to the kernel; the picture is :func:`labkit.audio.picture.spectrogram_png`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path

import ipywidgets as W
import numpy as np

from labkit.audio import list_clips, load_audio, log_mel
from labkit.audio.picture import spectrogram_png

from ._html import escape

Tags = Mapping[str, Sequence[str] | Mapping[str, float]]
AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac", "m4a": "audio/mp4", "opus": "audio/ogg"}

# the playhead: moved on every animation frame while playing, and on seeking (plain DOM, no kernel)
_MOVE = ("var a=this,h=a.closest('.labkit-clip-view').querySelector('.labkit-playhead');"
         "h.style.left=(100*a.currentTime/(a.duration||Number(a.dataset.seconds)||1))+'%';")
_ON_PLAY = ("var a=this,h=a.closest('.labkit-clip-view').querySelector('.labkit-playhead');"
            "(function f(){h.style.left=(100*a.currentTime/(a.duration||Number(a.dataset.seconds)||1))+'%';"
            "if(!a.paused&&!a.ended)requestAnimationFrame(f);})();")
_SEEK = ("var r=this.getBoundingClientRect(),a=this.closest('.labkit-clip-view').querySelector('audio');"
         "a.currentTime=Math.max(0,(event.clientX-r.left)/r.width)*(a.duration||Number(a.dataset.seconds));")


class ClipPlayer(W.VBox):
    """clips: a folder or a list of audio files; tags: source name -> {clip id -> tags}, where a
    clip's tags are a list, or a dict tag -> score (predictions); a clip id is its file stem;
    known: the source predictions are marked against (default "gold" when given); held_out: ids
    of clips the models never trained on (named as such).
    ``current`` is the shown clip's position in ``playlist`` (the clips being stepped through)."""

    def __init__(self, clips: str | Path | Sequence[str | Path], tags: Mapping[str, Tags] | None = None, *,
                 sr: int = 22050, n_mels: int = 96, known: str | None = None, held_out: Sequence[str] = ()) -> None:
        self.clips = list_clips(clips) if isinstance(clips, (str, Path)) else [Path(c) for c in clips]
        if not self.clips:
            raise ValueError(f"no audio clips in {clips}")
        self.tags = dict(tags or {})
        self.known = known if known is not None else ("gold" if "gold" in self.tags else None)
        if self.known is not None and self.known not in self.tags:
            raise ValueError(f"known={self.known!r} is not one of the tag sources {sorted(self.tags)}")
        self.held_out = set(held_out)
        self.unmarked: set[str] = set()  # sources with a vocabulary of their own (a pretrained tagger's): not marked against known
        self.sr, self.n_mels = sr, n_mels
        self.playlist = list(range(len(self.clips)))
        self.current = 0
        self.selection_note = ""
        self._autoplay = False
        self.title = W.HTML()
        self.view = W.HTML()
        self.view.add_class("labkit-clip-html")
        self.tag_view = W.HTML()
        self.previous_button = W.Button(description="◀ previous")
        self.next_button = W.Button(description="next ▶")
        self.show_all_button = W.Button(description="all clips")
        self.previous_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(+1))
        self.show_all_button.on_click(lambda _: self.select(None))
        super().__init__([W.HBox([self.previous_button, self.next_button, self.show_all_button, self.title]), self.view, self.tag_view])
        self.add_class("labkit-clip-player")  # a handle for browser tests and custom CSS
        self.show(0)

    def clip_id(self, index: int) -> str:
        return self.clips[index].stem

    def show(self, position: int) -> None:
        """Show the clip at ``position`` in the playlist: audio, spectrogram with playhead, tags."""
        if not self.playlist:
            self.title.value = f"<b>no clip in the selection</b> {escape(self.selection_note)}"
            self.view.value, self.tag_view.value = "", ""
            return
        self.current = position % len(self.playlist)
        index = self.playlist[self.current]
        path = self.clips[index]
        wave = load_audio(path, sr=self.sr)
        seconds = len(wave) / self.sr
        mel = log_mel(wave, sr=self.sr, n_mels=self.n_mels)
        self.view.value = self._view_html(path, mel, seconds)
        self._autoplay = False
        held = " <span style='background:#fde2b6; padding:0 4px; border-radius:3px'>held out: never trained on</span>" \
            if self.clip_id(index) in self.held_out else ""
        note = f" · {escape(self.selection_note)}" if self.selection_note else ""
        self.title.value = f"<b>{escape(path.name)}</b> ({self.current + 1} of {len(self.playlist)}, {seconds:.1f} s){held}{note}"
        self.tag_view.value = self._tags_html(self.clip_id(index))

    def _view_html(self, path: Path, mel: np.ndarray, seconds: float) -> str:
        kind = AUDIO_TYPES.get(path.suffix.lstrip(".").lower(), "audio/wav")
        audio = base64.b64encode(path.read_bytes()).decode("ascii")
        picture = base64.b64encode(spectrogram_png(mel)).decode("ascii")
        ticks = "".join(f"<span>{t:.1f} s</span>" for t in np.linspace(0, seconds, 6))
        autoplay = " autoplay" if self._autoplay else ""
        return (
            "<div class='labkit-clip-view' style='width:100%; font-size:11px'>"
            f"<audio class='labkit-audio' controls preload='auto'{autoplay} data-seconds='{seconds:.3f}' style='width:100%'"
            f" src='data:{kind};base64,{audio}' onplay=\"{_ON_PLAY}\" ontimeupdate=\"{_MOVE}\" onseeked=\"{_MOVE}\"></audio>"
            "<div style='display:flex; align-items:stretch'>"
            "<div style='writing-mode:vertical-rl; transform:rotate(180deg); text-align:center; padding:0 2px'>mel band, low → high</div>"
            f"<div class='labkit-spectrogram' style='position:relative; flex:1; cursor:pointer' onclick=\"{_SEEK}\""
            f" title='log-mel spectrogram of {escape(path.name)} ({self.n_mels} bands); click to play from there'>"
            f"<img alt='log-mel spectrogram' src='data:image/png;base64,{picture}' style='width:100%; height:220px; display:block; image-rendering:pixelated'>"
            "<div class='labkit-playhead' style='position:absolute; top:0; bottom:0; left:0%; width:2px; background:#00e5ff;"
            " box-shadow:0 0 3px #000; pointer-events:none'></div></div></div>"
            f"<div style='display:flex; justify-content:space-between; margin-left:16px'>{ticks}</div>"
            "<div style='text-align:center'>time; colour: dB, dark = quiet, bright = loud</div></div>")

    def step(self, delta: int) -> None:
        """Next (+1) or previous (-1) clip of the playlist, wrapping around."""
        self.show(self.current + delta)

    def select(self, clip_ids: Sequence[str] | None, *, note: str = "", play: bool = False) -> list[str]:
        """Step through these clips only (None: all); ``play`` starts the first. Returns the ids found."""
        if clip_ids is None:
            self.playlist = list(range(len(self.clips)))
        else:
            wanted = set(clip_ids)
            self.playlist = [i for i in range(len(self.clips)) if self.clip_id(i) in wanted]
        self.selection_note = note if clip_ids is not None else ""
        self._autoplay = play
        self.show(0)
        return [self.clip_id(i) for i in self.playlist]

    def clips_with_tags(self, tags: Sequence[str]) -> list[str]:
        """Ids of the clips carrying any of ``tags`` in any source."""
        wanted = set(tags)
        found = set()
        for by_clip in self.tags.values():
            found |= {clip for clip, clip_tags in by_clip.items() if wanted & set(clip_tags)}
        return [self.clip_id(i) for i in range(len(self.clips)) if self.clip_id(i) in found]

    def listen(self, tags: Sequence[str], *, play: bool = True) -> list[str]:
        """Step through the clips carrying any of ``tags`` and play the first."""
        shown = ", ".join(list(tags)[:5]) + (f" and {len(tags) - 5} more" if len(tags) > 5 else "")
        clips = self.clips_with_tags(tags)
        return self.select(clips, note=f"clips with {shown}" if tags else "", play=play and bool(clips))

    def follow(self, explorer, *, play: bool = True) -> None:
        """Listen to the clips carrying the tags selected in a :class:`ClusterExplorer` (each new
        selection plays the first of them; an empty selection goes back to all clips)."""
        explorer.on_select(lambda tags: self.listen(tags, play=play) if tags else self.select(None))

    def add_tagger(self, model, *, name: str | None = None, top_k: int = 5, mark: bool = False, device: str = "cpu") -> dict[str, dict[str, float]]:
        """Tag every clip with a pretrained musicnn model (:func:`labkit.audio.pretrained_tagger`)
        and list its ``top_k`` tags with their probabilities as the source ``name`` (default: the
        model's registry name). Its tags are its own vocabulary (MagnaTagATune's or the Million Song
        Dataset's), so they are not marked against the known tags unless ``mark``. Returns the
        source: {clip id: {tag: probability}}."""
        from labkit.audio.musicnn import SR, tag_waves

        name = name or getattr(model, "registry_name", type(model).__name__)
        waves = (load_audio(path, sr=SR) for path in self.clips)
        tagged = tag_waves(model, waves, device=device)
        self.tags[name] = {self.clip_id(i): dict(t.top(model.tags, top_k)) for i, t in enumerate(tagged)}
        if not mark:
            self.unmarked.add(name)
        self.show(self.current)
        return self.tags[name]

    def _tags_html(self, clip: str) -> str:
        known = set(self.tags[self.known].get(clip, [])) if self.known is not None else None
        rows = []
        for source, by_clip in self.tags.items():
            value = by_clip.get(clip, [])
            if isinstance(value, Mapping) and (known is None or source in self.unmarked):
                ranked = sorted(value.items(), key=lambda kv: -kv[1])
                shown = ", ".join(f"{escape(t)} <small>{s:.2f}</small>" for t, s in ranked)
            elif isinstance(value, Mapping):  # predictions marked right or wrong against the known tags
                ranked = sorted(value.items(), key=lambda kv: -kv[1])
                shown = ", ".join(
                    f"<span class='labkit-{'right' if t in known else 'wrong'}' style='color:{'#1a7f37' if t in known else '#cf222e'}'>"
                    f"{'✓' if t in known else '✗'} {escape(t)} <small>{s:.2f}</small></span>" for t, s in ranked)
                missed = sorted(known - set(value))
                right = len(set(value) & known)
                shown += (f"<br><small>{right} of {len(value)} right against {escape(self.known)}"
                          + (f"; missed: {escape(', '.join(missed))}" if missed else "") + "</small>")
            else:
                shown = ", ".join(escape(t) for t in value)
            rows.append(f"<tr><th style='text-align:left; padding-right:1em; vertical-align:top'>{escape(source)}</th><td>{shown or '-'}</td></tr>")
        return f"<table>{''.join(rows)}</table>" if rows else ""
