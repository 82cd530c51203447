"""Loading clips and turning them into tagger inputs: waveforms at a fixed rate, log-mel
spectrograms (96 mels by default, as the thesis' Pons et al. models), fixed-length chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.errors import DataFormatError

AUDIO_EXTENSIONS = (".wav", ".ogg", ".oga", ".opus", ".flac", ".mp3", ".m4a", ".aif", ".aiff", ".au")


def list_clips(folder: str | Path) -> list[Path]:
    """The audio files of a folder (not recursive), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS)


def load_audio(path: str | Path, *, sr: int = 22050, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
    """(n_samples,) float32 mono waveform resampled to ``sr``. A file that cannot be decoded
    raises :class:`DataFormatError` naming it.

    The same samples as ``librosa.load(path, sr=sr, mono=True)``: soundfile decodes, channels are
    averaged, soxr resamples ("soxr_hq") to ``ceil(n * sr / native)`` samples. Files soundfile
    cannot read go through librosa (audioread). The fast path skips librosa's numba-compiled
    helpers, which cost half a minute on a machine's first use."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such audio file: {path}")
    try:
        wave = _soundfile_load(path, sr=sr, offset=offset, duration=duration)
    except _NotForSoundfile:
        wave = _librosa_load(path, sr=sr, offset=offset, duration=duration)
    if not len(wave):
        raise DataFormatError(path, "no audio samples (empty file, or offset past its end)")
    if not np.isfinite(wave).all():
        raise DataFormatError(path, "the decoded audio holds NaN or infinite samples")
    return wave


class _NotForSoundfile(Exception):
    pass


def _soundfile_load(path: Path, *, sr: int, offset: float, duration: float | None) -> np.ndarray:
    import soundfile as sf
    import soxr

    try:
        with sf.SoundFile(path) as handle:
            native = handle.samplerate
            if offset:
                handle.seek(int(offset * native))
            wave = handle.read(frames=-1 if duration is None else int(duration * native), dtype="float32", always_2d=True).T
    except (sf.SoundFileError, RuntimeError, TypeError):
        raise _NotForSoundfile from None
    wave = wave.mean(axis=0) if wave.shape[0] > 1 else wave[0]
    if native == sr or not len(wave):
        return np.ascontiguousarray(wave, dtype=np.float32)
    n = int(np.ceil(len(wave) * float(sr) / native))
    out = soxr.resample(wave, native, sr, quality="soxr_hq")
    fixed = np.zeros(n, dtype=np.float32)
    fixed[: min(n, len(out))] = out[:n]
    return fixed


def _librosa_load(path: Path, *, sr: int, offset: float, duration: float | None) -> np.ndarray:
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "PySoundFile failed. Trying audioread instead." and audioread's deprecation
            wave, _ = librosa.load(path, sr=sr, mono=True, offset=offset, duration=duration)
    except Exception as err:  # audioread raises many kinds
        raise DataFormatError(path, f"cannot decode audio ({type(err).__name__}: {err})") from None
    return wave.astype(np.float32)


N_MELS, N_FFT, HOP_LENGTH = 96, 1024, 512  # the log-mel settings of the kit's taggers and the clip player


def log_mel(wave: np.ndarray, *, sr: int = 22050, n_mels: int = N_MELS, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """(n_mels, n_frames) float32 log-mel spectrogram in dB relative to 1.0 (floor -100 dB)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(wave, dtype=np.float32), sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).astype(np.float32).clip(-100.0, None)


def chunk(x: np.ndarray, length: int, *, hop: int | None = None, pad: bool = True) -> np.ndarray:
    """Fixed-length pieces along the last axis: (..., n) -> (n_chunks, ..., length).

    hop defaults to ``length`` (no overlap). With ``pad`` the last piece is zero-padded (a clip
    shorter than ``length`` gives one padded piece); without it, a partial last piece is dropped."""
    if length < 1:
        raise ValueError(f"chunk length must be at least 1, got {length}")
    hop = hop or length
    x = np.asarray(x)
    n = x.shape[-1]
    if pad:
        starts = np.arange(0, max(n - length, 0) + 1 if n >= length else 1, hop)
        if n > length and (n - length) % hop:
            starts = np.append(starts, starts[-1] + hop)
        need = starts[-1] + length
        if need > n:
            x = np.concatenate([x, np.zeros(x.shape[:-1] + (need - n,), dtype=x.dtype)], axis=-1)
    else:
        starts = np.arange(0, n - length + 1, hop)
    if not len(starts):
        return np.zeros((0,) + x.shape[:-1] + (length,), dtype=x.dtype)
    index = starts[:, None] + np.arange(length)[None, :]  # (n_chunks, length)
    return np.moveaxis(x[..., index], -2, 0)
