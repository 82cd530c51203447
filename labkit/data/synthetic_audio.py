"""A small, seeded set of synthetic music clips with tags, for the demo notebooks and tests: each
clip mixes some of five sound sources whose tags are what they sound like (low sine "bass",
decaying harmonic "piano" notes, noise-burst "drums" at a "slow" or "fast" tempo, a high
"whistle"), so that a tagger has something real to learn and a spectrogram something to show.

``write_synthetic_clips(folder)`` writes ``clip-NN.wav`` (16-bit PCM, 16 kHz) and ``tags.tsv``
(item, tag); ``data/audio/`` in the repository is its output with the defaults.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SOURCES = ("bass", "piano", "drums", "whistle")
SAMPLE_RATE = 16_000


def _bass(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.choice([55.0, 65.4, 73.4])
    return 0.5 * np.sin(2 * np.pi * f * t)


def _piano(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros_like(t)
    step = 0.5
    for start in np.arange(0, t[-1], step):
        f = 220.0 * 2 ** (rng.integers(0, 12) / 12)
        local = np.clip(t - start, 0, None)
        on = t >= start
        note = sum(np.sin(2 * np.pi * f * h * local) / h for h in (1, 2, 3, 4))
        out += on * note * np.exp(-4.0 * local)
    return 0.3 * out


def _drums(t: np.ndarray, rng: np.random.Generator, beat: float) -> np.ndarray:
    noise = rng.normal(size=len(t))
    phase = np.mod(t, beat)
    return 0.6 * noise * np.exp(-40.0 * phase)


def _whistle(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.uniform(2500.0, 3500.0)
    return 0.2 * np.sin(2 * np.pi * (f * t + 40.0 * np.sin(2 * np.pi * 3.0 * t)))


def make_clip(sources: tuple[str, ...], *, seconds: float = 3.0, tempo: str = "slow", seed: int = 0,
              sr: int = SAMPLE_RATE) -> tuple[np.ndarray, list[str]]:
    """(n_samples,) float32 waveform in [-1, 1] mixing ``sources``, and its tags."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}: choose from {SOURCES}")
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    wave = np.zeros_like(t)
    tags = list(sources)
    for name in sources:
        if name == "drums":
            wave += _drums(t, rng, beat=0.75 if tempo == "slow" else 0.25)
            tags.append(tempo)
        else:
            wave += {"bass": _bass, "piano": _piano, "whistle": _whistle}[name](t, rng)
    wave = wave / max(np.abs(wave).max(), 1e-9) * 0.8
    return wave.astype(np.float32), sorted(tags)


MIXES = (("bass", "drums"), ("piano",), ("piano", "bass"), ("drums",), ("whistle",), ("whistle", "piano"),
         ("bass", "drums", "piano"), ("drums", "whistle"), ("bass",), ("piano", "drums"), ("whistle", "bass"), ("drums", "bass", "whistle"))


def write_synthetic_clips(folder: str | Path, *, seconds: float = 3.0, seed: int = 0) -> Path:
    """Write the clips of :data:`MIXES` (tempo alternating slow / fast) and ``tags.tsv`` into
    ``folder``, as one atomic folder write (replacing only an earlier set of synthetic clips)."""
    import soundfile as sf

    from ..outputs import write_folder

    def write(tmp: Path) -> None:
        rows = ["item\ttag"]
        for i, mix in enumerate(MIXES):
            wave, tags = make_clip(mix, seconds=seconds, tempo="slow" if i % 2 == 0 else "fast", seed=seed + i)
            name = f"clip-{i:02d}"
            sf.write(tmp / f"{name}.wav", wave, SAMPLE_RATE, subtype="PCM_16")
            rows += [f"{name}\t{tag}" for tag in tags]
        (tmp / "tags.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    return write_folder(folder, write, kind="synthetic-clips")
