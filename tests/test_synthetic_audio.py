"""The bundled clips are the generator's output, byte for byte, and sound like their tags."""

import numpy as np
import pytest

from labkit.audio import load_audio, log_mel
from labkit.data.synthetic_audio import make_clip, write_synthetic_clips
from labkit.data.tagging import read_assignments
from labkit.paths import sample_audio_dir


def test_bundled_clips_are_the_generator_output(tmp_path):
    write_synthetic_clips(tmp_path)
    bundled = sorted(p.name for p in sample_audio_dir().iterdir())
    assert bundled == sorted(p.name for p in tmp_path.iterdir())
    for name in bundled:
        assert (tmp_path / name).read_bytes() == (sample_audio_dir() / name).read_bytes(), name


def test_clips_sound_like_their_tags():
    sr = 16000
    bass, tags = make_clip(("bass",), seed=0)
    whistle, _ = make_clip(("whistle",), seed=0)
    assert tags == ["bass"] and np.abs(bass).max() <= 0.8 + 1e-6
    low, high = log_mel(bass, sr=sr, n_mels=64), log_mel(whistle, sr=sr, n_mels=64)
    assert low.mean(axis=1).argmax() < 10 < high.mean(axis=1).argmax()  # energy in low vs high mel bands
    _, drum_tags = make_clip(("drums",), tempo="fast")
    assert drum_tags == ["drums", "fast"]
    with pytest.raises(ValueError, match="unknown sources"):
        make_clip(("violin",))
    table = read_assignments(sample_audio_dir() / "tags.tsv")
    assert table["item"].nunique() == 12 and len(load_audio(sample_audio_dir() / "clip-00.wav", sr=sr)) == 3 * sr
