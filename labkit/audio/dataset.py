"""A folder of clips paired with a tag table: the training data of the audio taggers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from ..data.errors import DataFormatError
from ..data.tagging import read_assignments
from ..data.vocab import Vocabulary
from ..sparse import binary_csr
from .features import chunk, list_clips, load_audio, log_mel


@dataclass
class ClipTags:
    """clips: audio files; tags: the tag vocabulary; labels: (n_clips, n_tags) binary CSR."""

    clips: list[Path]
    tags: Vocabulary
    labels: sp.csr_matrix
    sr: int = 22050
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_folder(cls, folder: str | Path, tag_table: str | Path, *, sr: int = 22050) -> ClipTags:
        """Pair the clips of ``folder`` with a TSV of (item, tag) rows (item: the file name or
        its stem). A tagged item with no clip raises :class:`DataFormatError`; clips without
        tags are kept with empty label rows."""
        clips = list_clips(folder)
        by_name = {c.name: i for i, c in enumerate(clips)} | {c.stem: i for i, c in enumerate(clips)}
        table = read_assignments(tag_table)
        missing = sorted(set(table["item"]) - set(by_name))
        if missing:
            raise DataFormatError(tag_table, f"no clip in {folder} for item", record=missing[0])
        tags = Vocabulary(dict.fromkeys(sorted(set(table["tag"]))))
        rows = table["item"].map(by_name).to_numpy()
        cols = np.array([tags.index[t] for t in table["tag"]])
        return cls(clips, tags, binary_csr(rows, cols, (len(clips), len(tags))), sr)

    def __len__(self) -> int:
        return len(self.clips)

    def waveform(self, i: int) -> np.ndarray:
        """(n_samples,) the whole clip at ``sr`` (loaded once, then kept)."""
        if i not in self._cache:
            self._cache[i] = load_audio(self.clips[i], sr=self.sr)
        return self._cache[i]

    def waveform_chunks(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Every clip cut into ``length``-sample pieces: (n_pieces, length) float32 and their
        (n_pieces, n_tags) labels (a piece takes its clip's tags)."""
        return self._pieces(lambda wave: wave, length)

    def log_mel_chunks(self, frames: int, *, n_mels: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
        """Every clip's log-mel spectrogram cut into ``frames``-frame pieces: (n_pieces, n_mels,
        frames) and their labels."""
        return self._pieces(lambda wave: log_mel(wave, sr=self.sr, n_mels=n_mels), frames)

    def musicnn_patches(self, *, hop: int | None = None) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Every clip as the musicnn models' input: (n_patches, 96, 187) patches (16 kHz, see
        :func:`labkit.audio.musicnn.musicnn_patches`), their (n_patches, n_tags) labels, and the
        (n_patches,) clip each patch comes from."""
        from .musicnn import SR, musicnn_log_mel, musicnn_patches

        waves = (self.waveform(i) if self.sr == SR else load_audio(self.clips[i], sr=SR) for i in range(len(self)))
        pieces = [musicnn_patches(musicnn_log_mel(wave), hop=hop) for wave in waves]
        owners = np.repeat(np.arange(len(self)), [len(p) for p in pieces])
        y = self.labels[owners].toarray().astype(np.float32)
        return torch.from_numpy(np.concatenate(pieces)), torch.from_numpy(y), owners

    def _pieces(self, transform, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        pieces = [chunk(transform(self.waveform(i)), length) for i in range(len(self))]
        owners = np.repeat(np.arange(len(self)), [len(p) for p in pieces])
        y = self.labels[owners].toarray().astype(np.float32)
        return torch.from_numpy(np.concatenate(pieces)), torch.from_numpy(y)
