"""A spectrogram as a picture: (bands, frames) values coloured with a plotly colour scale and
encoded as PNG (zlib, no imaging library), low bands at the bottom, one pixel per value. The clip
player lays a playhead over it."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from plotly.colors import sample_colorscale, unlabel_rgb


def colour_table(colorscale: str = "magma", n: int = 256) -> np.ndarray:
    """(n, 3) uint8 RGB of ``colorscale`` (any plotly colour scale name) at n even steps."""
    colours = sample_colorscale(colorscale, list(np.linspace(0.0, 1.0, n)))
    return np.array([unlabel_rgb(c) for c in colours], dtype=np.float64).round().astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """(height, width, 3) uint8 as an 8-bit truecolour PNG."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rgb.reshape(height, width * 3)], axis=1)  # filter 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b"")


def spectrogram_png(values: np.ndarray, *, colorscale: str = "magma", low: float | None = None, high: float | None = None) -> bytes:
    """(bands, frames) values (e.g. log-mel dB) as a PNG of frames x bands pixels, band 0 at the
    bottom, ``low``..``high`` (default: the values' range) spread over the colour scale."""
    values = np.asarray(values, dtype=np.float64)
    low = float(np.min(values)) if low is None else low
    high = float(np.max(values)) if high is None else high
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0) if high > low else np.zeros_like(values)
    table = colour_table(colorscale)
    index = np.rint(scaled * (len(table) - 1)).astype(np.int64)
    return png_bytes(table[index[::-1]])
