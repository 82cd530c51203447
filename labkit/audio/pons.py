"""The taggers of Pons et al. (2018) that the thesis trains: a front-end (raw waveform, or a
musically motivated log-mel front-end) feeding a shared back-end (1-D convolutions with residual
connections, then mean and max pooling over time, then dense layers). Both return tag logits.

Log-mel front-end (input (B, n_mels, frames)): timbral filters spanning 0.9 and 0.4 of the mel
bands over 7, 3 and 1 frames, max-pooled over frequency; temporal filters of 165, 128, 64 and 32
frames over the energy envelope (the mean over mel bands). Waveform front-end (input
(B, samples)): a strided 3-sample convolution and six blocks of 3-sample convolution and max
pooling by 3, as in the sample-level CNN.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import register_model

EXAMPLE_FRAMES = 32  # the ONNX example spectrograms have EXAMPLE_FRAMES + length frames
MIN_SAMPLES = 3**7  # 2,187: the waveform front-end's downsampling, one back-end frame


class BackEnd(nn.Module):
    """(B, channels, frames) -> (B, n_tags): three 1-D convolutions of width 7 (the last two with
    residual connections), mean and max pooling over time, dense, dropout, dense."""

    def __init__(self, channels: int, n_tags: int, width: int = 512, dense: int = 200, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv1d(channels, width, 7, padding=3), nn.BatchNorm1d(width), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv1d(width, width, 7, padding=3), nn.BatchNorm1d(width), nn.ReLU())
        self.conv3 = nn.Sequential(nn.Conv1d(width, width, 7, padding=3), nn.BatchNorm1d(width), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(2 * width, dense), nn.BatchNorm1d(dense), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dense, n_tags))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.conv1(h)
        h = h + self.conv2(h)
        h = h + self.conv3(h)
        pooled = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)  # mean and max pooling over time
        return self.head(pooled)


class TimbralTemporalFrontEnd(nn.Module):
    """(B, n_mels, frames) log-mel -> (B, channels, frames)."""

    def __init__(self, n_mels: int = 96, filters: int = 16) -> None:
        super().__init__()
        self.timbral = nn.ModuleList()
        for share in (0.9, 0.4):
            height = max(1, int(share * n_mels))
            for frames in (7, 3, 1):
                self.timbral.append(nn.Sequential(
                    nn.Conv2d(1, filters, (height, frames), padding=(0, frames // 2)), nn.BatchNorm2d(filters), nn.ReLU()))
        self.temporal = nn.ModuleList(
            nn.Sequential(nn.Conv1d(1, filters, length, padding=length // 2), nn.BatchNorm1d(filters), nn.ReLU())
            for length in (165, 128, 64, 32)
        )
        self.channels = filters * (len(self.timbral) + len(self.temporal))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        frames = spec.shape[-1]
        x = spec.unsqueeze(1)  # (B, 1, n_mels, frames)
        parts = [conv(x).amax(dim=2)[..., :frames] for conv in self.timbral]  # max over frequency
        envelope = spec.mean(dim=1, keepdim=True)  # (B, 1, frames)
        parts += [conv(envelope)[..., :frames] for conv in self.temporal]
        return torch.cat(parts, dim=1)


class WaveformFrontEnd(nn.Module):
    """(B, samples) -> (B, 128, samples / 3^7)."""

    def __init__(self, channels: int = 128, blocks: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(1, channels, 3, stride=3), nn.BatchNorm1d(channels), nn.ReLU()]
        for _ in range(blocks):
            layers += [nn.Conv1d(channels, channels, 3, padding=1), nn.BatchNorm1d(channels), nn.ReLU(), nn.MaxPool1d(3)]
        self.net = nn.Sequential(*layers)
        self.channels = channels

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.net(wave.unsqueeze(1) if wave.dim() == 2 else wave)


@register_model("pons_spectrogram")
class PonsSpectrogramTagger(nn.Module):
    """(B, n_mels, frames) log-mel -> (B, n_tags) logits."""

    def __init__(self, n_tags: int = 50, n_mels: int = 96, filters: int = 16, width: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        self.front = TimbralTemporalFrontEnd(n_mels, filters)
        self.back = BackEnd(self.front.channels, n_tags, width=width, dropout=dropout)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.back(self.front(spec))

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """ONNX export: random log-mel spectrograms (batch, n_mels, 32 + length); the batch and the
        frames are free."""
        spec = torch.randn(batch, self.config["n_mels"], EXAMPLE_FRAMES + length)
        return {"spectrogram": spec}, {"spectrogram": {0: "batch", 2: "frames"}}


@register_model("pons_waveform")
class PonsWaveformTagger(nn.Module):
    """(B, samples) waveforms -> (B, n_tags) logits (samples: at least 3^7 = 2,187)."""

    def __init__(self, n_tags: int = 50, channels: int = 128, width: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        self.front = WaveformFrontEnd(channels)
        self.back = BackEnd(self.front.channels, n_tags, width=width, dropout=dropout)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.back(self.front(wave))

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """ONNX export: random waveforms (batch, 3^8 + 3^7 x length) of a modest amplitude (0.1
        standard deviation), 3 + length back-end frames; the batch and the samples are free."""
        wave = 0.1 * torch.randn(batch, 3 * MIN_SAMPLES + MIN_SAMPLES * length)
        return {"waveform": wave}, {"waveform": {0: "batch", 1: "samples"}}
