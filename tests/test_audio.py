"""Audio loading, log-mel spectrograms and chunks, on synthetic tones and the real clips in
../shared/data/audio (skipped where absent)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from labkit.audio import chunk, list_clips, load_audio, log_mel
from labkit.data import DataFormatError


def test_chunk_by_hand():
    x = np.arange(10)
    np.testing.assert_array_equal(chunk(x, 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 0]])
    np.testing.assert_array_equal(chunk(x, 4, pad=False), [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(chunk(x, 4, hop=3, pad=False), [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    np.testing.assert_array_equal(chunk(np.arange(3), 5), [[0, 1, 2, 0, 0]])
    assert chunk(np.arange(3), 5, pad=False).shape == (0, 5)
    spec = np.arange(24).reshape(2, 12)  # (n_mels, frames) -> (chunks, n_mels, length)
    assert chunk(spec, 5).shape == (3, 2, 5)
    np.testing.assert_array_equal(chunk(spec, 5)[1], spec[:, 5:10])
    with pytest.raises(ValueError, match="at least 1"):
        chunk(x, 0)


def test_load_resample_and_log_mel_of_a_tone(tmp_path):
    sr = 16000
    t = np.arange(sr) / sr
    path = tmp_path / "tone.wav"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 1000 * t), sr)
    wave = load_audio(path, sr=22050)
    assert wave.dtype == np.float32 and abs(len(wave) - 22050) <= 1
    spec = log_mel(wave, sr=22050)
    assert spec.shape[0] == 96 and spec.dtype == np.float32
    import librosa

    band = int(np.argmax(spec.mean(axis=1)))
    centre = librosa.mel_frequencies(n_mels=98, fmax=11025)[1:-1][band]  # the band's centre frequency
    assert 800 < centre < 1250


def test_bad_audio_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(DataFormatError, match="broken.wav"):
        load_audio(bad)
    with pytest.raises(FileNotFoundError):
        load_audio(tmp_path / "missing.ogg")


def test_real_clips_load(shared_audio):
    clips = list_clips(shared_audio)
    assert len(clips) >= 10
    wave = load_audio(clips[0], duration=3.0)
    assert 0 < len(wave) <= 3 * 22050 + 1 and np.isfinite(wave).all()
    assert np.isfinite(log_mel(wave)).all()


def clip_tags(folder, tmp_path, n_clips: int = 4):
    from labkit.audio import ClipTags

    clips = list_clips(folder)[:n_clips]
    rows = ["item\ttag"] + [f"{c.stem}\t{tag}" for i, c in enumerate(clips) for tag in (["a", "b", "c"][i % 3], "d" if i % 2 else "e")]
    table = tmp_path / "tags.tsv"
    table.write_text("\n".join(rows) + "\n")
    import shutil

    sub = tmp_path / "clips"
    sub.mkdir()
    for c in clips:
        shutil.copy(c, sub / c.name)
    return ClipTags.from_folder(sub, table)


def test_clip_tags_pairs_clips_with_tags(shared_audio, tmp_path):
    data = clip_tags(shared_audio, tmp_path)
    assert len(data) == 4 and data.tags.tokens == ["a", "b", "c", "d", "e"]
    assert data.labels.sum() == 8
    x, y = data.waveform_chunks(3**9)
    assert x.shape[1] == 3**9 and y.shape == (len(x), 5)
    bad = tmp_path / "bad.tsv"
    bad.write_text("item\ttag\nno-such-clip\trock\n")
    from labkit.audio import ClipTags

    with pytest.raises(DataFormatError, match="no-such-clip"):
        ClipTags.from_folder(tmp_path / "clips", bad)


@pytest.mark.parametrize("name", ["sample_cnn", "pons_waveform", "pons_spectrogram"])
def test_taggers_overfit_a_tiny_batch_of_real_clips(name, shared_audio, tmp_path):
    import torch

    from labkit.audio import train_tagger
    from labkit.audio.sample_cnn import count_parameters
    from labkit.registry import load_all

    MODELS = load_all()

    data = clip_tags(shared_audio, tmp_path)
    if name == "pons_spectrogram":
        x, y = data.log_mel_chunks(128)
    else:
        x, y = data.waveform_chunks(3**10 if name == "sample_cnn" else 3**9)
    keep = torch.arange(len(x)) % max(1, len(x) // 6) == 0  # a few pieces from every clip
    x, y = x[keep][:6], y[keep][:6]
    model = MODELS[name](n_tags=5, dropout=0.0)
    assert count_parameters(model) > 10_000
    losses = train_tagger(model, x, y, epochs=25, batch_size=6, lr=1e-3, progress=False)
    assert losses[-1] < 0.25 * losses[0]
    model.train()  # batch statistics, as in training: the pieces are fitted
    with torch.no_grad():
        assert ((torch.sigmoid(model(x)) > 0.5).float() == y).all()


def test_sample_cnn_has_the_papers_size():
    from labkit.audio.sample_cnn import SampleCNN, count_parameters

    assert 1.8e6 < count_parameters(SampleCNN(n_tags=50)) < 2.0e6  # seed 001: 1.9 million
    with pytest.raises(ValueError, match="59049"):
        SampleCNN()(__import__("torch").zeros(1, 1000))
