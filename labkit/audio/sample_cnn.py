"""The sample-level CNN tagger of Lee et al. (2017), the tagger of seed 001: raw waveform in,
tag logits out. A 3-sample strided convolution, nine blocks of (3-sample convolution, batch norm,
ReLU, max pooling by 3), a 1-sample convolution, dropout and a linear layer: 59,049 = 3^10 input
samples shrink to one frame; 11 convolution layers, about 1.9 million parameters for 50 tags.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import register_model

INPUT_SAMPLES = 3**10  # 59,049
BLOCK_CHANNELS = (128, 128, 256, 256, 256, 256, 256, 256, 512)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, 3, padding=1), nn.BatchNorm1d(c_out), nn.ReLU(), nn.MaxPool1d(3))


@register_model("sample_cnn")
class SampleCNN(nn.Module):
    """(B, 59049) or (B, 1, 59049) waveforms -> (B, n_tags) logits."""

    def __init__(self, n_tags: int = 50, dropout: float = 0.5) -> None:
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(1, 128, 3, stride=3), nn.BatchNorm1d(128), nn.ReLU())
        channels = (128, *BLOCK_CHANNELS)
        self.blocks = nn.Sequential(*[_block(a, b) for a, b in zip(channels, channels[1:])])
        self.last = nn.Sequential(nn.Conv1d(512, 512, 1), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(dropout))
        self.out = nn.Linear(512, n_tags)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.dim() == 2:
            wave = wave.unsqueeze(1)
        if not torch.jit.is_tracing() and wave.shape[-1] != INPUT_SAMPLES:  # (an ONNX graph fixes the length itself)
            raise ValueError(f"SampleCNN takes {INPUT_SAMPLES} samples per clip, got {wave.shape[-1]}: chunk the audio first")
        h = self.last(self.blocks(self.front(wave)))  # (B, 512, 1)
        return self.out(h.mean(dim=-1))

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """ONNX export: random waveforms (batch, 59049) of a modest amplitude (0.1 standard
        deviation); only the batch is free (the clip length is fixed, ``length`` is unused)."""
        return {"waveform": 0.1 * torch.randn(batch, INPUT_SAMPLES)}, {"waveform": {0: "batch"}}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
