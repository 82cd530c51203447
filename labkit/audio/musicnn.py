"""The pretrained taggers of the ``musicnn`` package (Pons & Serra, 2019) as torch modules, with
their weights read from the package's own TensorFlow checkpoints (no TensorFlow needed).

Four models, 50 tags each, trained on MagnaTagATune (MTT) or the Million Song Dataset (MSD):

==============  ===================  ======================================================
kit name        musicnn checkpoint   architecture
==============  ===================  ======================================================
musicnn-mtt     MTT_musicnn          musically motivated front-end, dense mid-end, pooling back-end
musicnn-msd     MSD_musicnn          the same
vgg-mtt         MTT_vgg              five 3x3 convolution blocks (128 filters), dense
vgg-msd         MSD_vgg              the same
==============  ===================  ======================================================

Input: patches of 187 frames (3 s) of ``log10(10000 x + 1)``-compressed mel power, 96 bands, from
16 kHz audio (FFT 512, hop 256), shaped (B, 96, frames) as the kit's other spectrogram taggers.
Output: (B, 50) logits; :meth:`Musicnn.embed` also gives the penultimate layer (200 wide for
musicnn, the flattened last pooling, 256 wide, for the VGG). A clip's tags are the sigmoid
probabilities averaged over its patches (:func:`tag_waves`).

Each layer is built as ``musicnn/models.py`` defines it: TensorFlow's layer order (convolution,
ReLU, then batch norm, eps 1e-3), its "same" padding (the extra row after), and its NHWC
flattening, so that the checkpoint's tensors load unchanged in meaning.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..registry import register_model

SR, N_FFT, HOP_LENGTH, N_MELS = 16000, 512, 256, 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's epsilon
BN_MOMENTUM = 0.01  # torch's name for TensorFlow's momentum 0.99
PACKAGE = "musicnn"
PACKAGE_PIN = "musicnn==0.1.0"
PRETRAINED = {  # kit name -> (checkpoint folder in the package, architecture, tag list in configuration.py)
    "musicnn-mtt": ("MTT_musicnn", "musicnn", "MTT_LABELS"),
    "musicnn-msd": ("MSD_musicnn", "musicnn", "MSD_LABELS"),
    "vgg-mtt": ("MTT_vgg", "musicnn_vgg", "MTT_LABELS"),
    "vgg-msd": ("MSD_vgg", "musicnn_vgg", "MSD_LABELS"),
}


# ----------------------------------------------------------------------------- preprocessing
def _hann(n: int) -> np.ndarray:
    """The periodic Hann window, float64 (scipy's, as librosa takes it)."""
    from scipy.signal import get_window

    return get_window("hann", n, fftbins=True)


_F_SP, _MIN_LOG_HZ = 200.0 / 3, 1000.0  # the Slaney mel scale: linear below 1 kHz, logarithmic above
_MIN_LOG_MEL, _LOGSTEP = (_MIN_LOG_HZ - 0.0) / _F_SP, np.log(6.4) / 27.0


def _slaney_hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.atleast_1d(np.asarray(hz, dtype=np.float64))
    mel = (hz - 0.0) / _F_SP
    high = hz >= _MIN_LOG_HZ
    mel[high] = _MIN_LOG_MEL + np.log(hz[high] / _MIN_LOG_HZ) / _LOGSTEP
    return mel


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.atleast_1d(np.asarray(mel, dtype=np.float64))
    hz = 0.0 + _F_SP * mel
    high = mel >= _MIN_LOG_MEL
    hz[high] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel[high] - _MIN_LOG_MEL))
    return hz


@functools.lru_cache(maxsize=4)
def mel_filters(sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 triangular mel filters on the Slaney mel scale, each
    normalised to unit area (Slaney's norm): librosa's ``filters.mel`` defaults, written out with
    its float32 rounding (triangles first, then the norm)."""
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    low, high = _slaney_hz_to_mel(0.0)[0], _slaney_hz_to_mel(sr / 2.0)[0]
    edges = _slaney_mel_to_hz(np.linspace(low, high, n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_hz)
    weights = np.maximum(0, np.minimum(-ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None])).astype(np.float32)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


def mel_power(wave: np.ndarray, *, sr: int = SR, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, frames) float32 mel power spectrogram: a centred STFT (zero padding of n_fft / 2
    each side, periodic Hann window), |X|^2, mel filters. The values of
    ``librosa.feature.melspectrogram`` with the same settings, in numpy alone (librosa's first call
    compiles numba helpers for half a minute)."""
    wave = np.asarray(wave, dtype=np.float32)
    padded = np.pad(wave, n_fft // 2)
    n_frames = 1 + (len(padded) - n_fft) // hop_length
    if n_frames < 1:
        return np.zeros((n_mels, 0), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]  # (frames, n_fft)
    spectrum = np.fft.rfft(frames * _hann(n_fft), axis=-1).astype(np.complex64)  # (frames, bins), float64 then complex64 as librosa
    power = np.abs(spectrum) ** 2
    return np.einsum("tf,mf->mt", power, mel_filters(sr, n_fft, n_mels), optimize=True)


def musicnn_log_mel(wave: np.ndarray, *, sr: int = SR) -> np.ndarray:
    """(96, frames) float32 input of the musicnn models from a 16 kHz mono waveform.

    As ``musicnn.extractor.batch_data``: the mel power spectrogram (FFT 512, hop 256, 96 bands,
    :func:`mel_power`), rounded to float16, then ``log10(10000 x + 1)`` in float16. Where musicnn's
    float16 arithmetic overflows (mel power above 6.55, which loud music reaches: it then feeds
    ``inf`` to the network and gets NaN tags), the same formula is taken in float32 instead."""
    if sr != SR:
        raise ValueError(f"the musicnn models take {SR} Hz audio, got {sr} Hz: load it with sr={SR}")
    half = mel_power(wave).astype(np.float16)
    with np.errstate(over="ignore"):
        rep = np.log10(10000 * half + 1)  # float16 throughout, as musicnn computes it
    rep = rep.astype(np.float32)
    overflow = ~np.isfinite(rep)
    if overflow.any():
        rep[overflow] = np.log10(10000 * half[overflow].astype(np.float32) + 1)
    return rep


def musicnn_patches(rep: np.ndarray, *, frames: int = PATCH_FRAMES, hop: int | None = None) -> np.ndarray:
    """(n_patches, 96, frames) patches of a (96, T) input, starting every ``hop`` frames (default
    ``frames``: no overlap, as musicnn). As musicnn, a last partial patch is left out; a clip
    shorter than one patch is repeated until it fills one (musicnn's training did so)."""
    from .features import chunk

    rep = np.asarray(rep, dtype=np.float32)
    if rep.shape[-1] < frames:
        rep = np.tile(rep, (1, -(-frames // max(rep.shape[-1], 1))))[:, :frames]
    return chunk(rep, frames, hop=hop or frames, pad=False)


# ----------------------------------------------------------------------------- the models
def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _bn1d(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _pad_time(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """Zero-pad the time axis of (B, C, T, F) or (B, C, T)."""
    return F.pad(x, (0, 0, before, after)) if x.dim() == 4 else F.pad(x, (before, after))


@register_model("musicnn")
class Musicnn(nn.Module):
    """musicnn (Pons & Serra 2019): (B, n_mels, frames) -> (B, n_tags) logits.

    Front-end: batch-normalised input; timbral filters 7 x int(0.4 n_mels) and 7 x int(0.7 n_mels)
    (int(1.6 x 128) = 204 each) and temporal filters 128, 64 and 32 x 1 (int(1.6 x 32) = 51 each),
    each convolution + ReLU + batch norm + max over frequency: (B, 561, T). Mid-end: three
    7-wide convolutions of ``midend_filters`` channels, the last two residual; front- and mid-end
    maps concatenated (dense connections): (B, 561 + 3 x 64, T). Back-end: max and mean over time,
    batch norm, dense ``backend_units`` + ReLU + batch norm (the penultimate embedding), dense
    ``n_tags``; dropout 0.5 before each dense layer.
    """

    def __init__(self, n_tags: int = 50, n_mels: int = N_MELS, frontend_filters: float = 1.6, midend_filters: int = 64,
                 backend_units: int = 200, dropout: float = 0.5, tags: list[str] | None = None) -> None:
        super().__init__()
        if tags is not None and len(tags) != n_tags:
            raise ValueError(f"{len(tags)} tag names for {n_tags} tags")
        self.tags = list(tags) if tags is not None else None
        timbral, temporal = int(frontend_filters * 128), int(frontend_filters * 32)
        self.input_norm = _bn2d(1)
        self.timbral = nn.ModuleList(nn.Conv2d(1, timbral, (7, int(share * n_mels))) for share in (0.4, 0.7))
        self.timbral_norm = nn.ModuleList(_bn2d(timbral) for _ in range(2))
        self.temporal_lengths = (128, 64, 32)
        self.temporal = nn.ModuleList(nn.Conv2d(1, temporal, (length, 1)) for length in self.temporal_lengths)
        self.temporal_norm = nn.ModuleList(_bn2d(temporal) for _ in self.temporal_lengths)
        front = 2 * timbral + 3 * temporal
        self.mid = nn.ModuleList([nn.Conv1d(front, midend_filters, 7), nn.Conv1d(midend_filters, midend_filters, 7),
                                  nn.Conv1d(midend_filters, midend_filters, 7)])
        self.mid_norm = nn.ModuleList(_bn1d(midend_filters) for _ in range(3))
        pooled = 2 * (front + 3 * midend_filters)
        self.pool_norm = _bn1d(pooled)
        self.dense = nn.Linear(pooled, backend_units)
        self.dense_norm = _bn1d(backend_units)
        self.out = nn.Linear(backend_units, n_tags)
        self.dropout = nn.Dropout(dropout)
        self.embedding_size = backend_units

    def front_end(self, spec: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T) -> (B, 561, T): timbral and temporal features, each max-pooled over frequency."""
        x = self.input_norm(spec.transpose(1, 2).unsqueeze(1))  # (B, 1, T, n_mels): time as height, as in TF's NHWC
        padded = _pad_time(x, 3, 3)
        parts = [norm(F.relu(conv(padded))).amax(dim=3) for conv, norm in zip(self.timbral, self.timbral_norm)]
        for length, conv, norm in zip(self.temporal_lengths, self.temporal, self.temporal_norm):
            same = _pad_time(x, (length - 1) // 2, length // 2)  # TF's "same": the extra row after
            parts.append(norm(F.relu(conv(same))).amax(dim=3))
        return torch.cat(parts, dim=1)

    def mid_end(self, front: torch.Tensor) -> torch.Tensor:
        """(B, 561, T) -> (B, 561 + 3 x midend_filters, T)."""
        maps, h = [front], front
        for i, (conv, norm) in enumerate(zip(self.mid, self.mid_norm)):
            step = norm(F.relu(conv(_pad_time(h, 3, 3))))
            h = step if i == 0 else step + h
            maps.append(h)
        return torch.cat(maps, dim=1)

    def embed(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, n_tags), penultimate (B, backend_units))."""
        features = self.mid_end(self.front_end(spec))
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)  # TF's flatten of (B, C, [max, mean])
        penultimate = self.dense_norm(F.relu(self.dense(self.dropout(self.pool_norm(pooled)))))
        return self.out(self.dropout(penultimate)), penultimate

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.embed(spec)[0]

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """ONNX export: (batch, n_mels, frames) with frames free (at least 1)."""
        n_mels = self.config["n_mels"]
        return {"spectrogram": torch.randn(batch, n_mels, PATCH_FRAMES + length)}, {"spectrogram": {0: "batch", 2: "frames"}}


@register_model("musicnn_vgg")
class MusicnnVGG(nn.Module):
    """musicnn's VGG-like baseline: (B, n_mels, frames) -> (B, n_tags) logits.

    Batch-normalised input; five blocks of 3x3 convolution (``filters``, "same") + ReLU + batch norm
    + max pooling ((4, 1) stride 2, then 2x2 three times, then 4x4), dropout 0.25 after the first
    four; the last pooling flattened (the embedding: 2 x 1 x 128 = 256 for 187 x 96 inputs), dropout
    0.5, dense ``n_tags``. The input size is fixed by the dense layer (``frames``)."""

    POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))

    def __init__(self, n_tags: int = 50, n_mels: int = N_MELS, frames: int = PATCH_FRAMES, filters: int = 128,
                 dropout: float = 0.5, tags: list[str] | None = None) -> None:
        super().__init__()
        if tags is not None and len(tags) != n_tags:
            raise ValueError(f"{len(tags)} tag names for {n_tags} tags")
        self.tags = list(tags) if tags is not None else None
        self.input_norm = _bn2d(1)
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5))
        self.norms = nn.ModuleList(_bn2d(filters) for _ in range(5))
        self.pools = nn.ModuleList(nn.MaxPool2d(size, stride) for size, stride in self.POOLS)
        height, width = frames, n_mels
        for (kh, kw), (sh, sw) in self.POOLS:
            height, width = (height - kh) // sh + 1, (width - kw) // sw + 1
        if height < 1 or width < 1:
            raise ValueError(f"a {n_mels} x {frames} input is too small for five poolings")
        self.embedding_size = height * width * filters
        self.block_dropout = nn.Dropout(0.25)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.embedding_size, n_tags)

    def embed(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, n_tags), flattened last pooling (B, embedding_size))."""
        h = self.input_norm(spec.transpose(1, 2).unsqueeze(1))  # (B, 1, T, n_mels)
        for i, (conv, norm, pool) in enumerate(zip(self.convs, self.norms, self.pools)):
            if i:
                h = self.block_dropout(h)
            h = pool(norm(F.relu(conv(h))))
        flat = h.permute(0, 2, 3, 1).flatten(1)  # TF's NHWC order, as the dense kernel expects
        return self.out(self.dropout(flat)), flat

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.embed(spec)[0]

    def example_inputs(self, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
        """ONNX export: (batch, n_mels, frames) with the frames the model was built for."""
        return {"spectrogram": torch.randn(batch, self.config["n_mels"], self.config["frames"])}, {"spectrogram": {0: "batch"}}


def with_tags(model: Musicnn | MusicnnVGG, tags: Sequence[str], *, seed: int = 0) -> Musicnn | MusicnnVGG:
    """A copy of a (pretrained) musicnn model whose output layer scores ``tags`` instead: the
    rows of tags it already knows (same name) are kept, the others freshly initialised
    (seeded); every other layer is shared in value. The start of a fine-tuning on one's own tags."""
    import copy

    config = dict(model.config) | {"n_tags": len(tags), "tags": list(tags)}
    torch.manual_seed(seed)
    fresh = type(model)(**config)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("out.")}
    fresh.load_state_dict(state, strict=False)
    known = {t: i for i, t in enumerate(model.tags or [])}
    with torch.no_grad():
        for j, tag in enumerate(tags):
            if tag in known:
                fresh.out.weight[j] = model.out.weight[known[tag]]
                fresh.out.bias[j] = model.out.bias[known[tag]]
    return copy.deepcopy(fresh).to(next(model.parameters()).device)


# ----------------------------------------------------------------------------- TF checkpoint -> torch
def tf_names(model: Musicnn | MusicnnVGG) -> dict[str, str]:
    """{torch state-dict key: TF checkpoint tensor} for a musicnn model, by the order in which
    ``musicnn/models.py`` creates its layers (tf.layers numbers them conv2d, conv2d_1, ...)."""
    def numbered(base: str, i: int) -> str:
        return base if i == 0 else f"{base}_{i}"

    if isinstance(model, Musicnn):
        convs = [f"timbral.{i}" for i in range(2)] + [f"temporal.{i}" for i in range(3)] + [f"mid.{i}" for i in range(3)]
        conv_names = {c: numbered("conv2d", i) for i, c in enumerate(convs)}
        norms = (["input_norm"] + [f"timbral_norm.{i}" for i in range(2)] + [f"temporal_norm.{i}" for i in range(3)]
                 + [f"mid_norm.{i}" for i in range(3)] + ["pool_norm", "dense_norm"])
        denses = {"dense": "dense", "out": "dense_1"}
    else:
        conv_names = {f"convs.{i}": f"{i + 1}CNN" for i in range(5)}
        norms = ["input_norm"] + [f"norms.{i}" for i in range(5)]
        denses = {"out": "dense"}
    names = {}
    for torch_name, tf_name in conv_names.items() | denses.items():
        names[f"{torch_name}.weight"], names[f"{torch_name}.bias"] = f"{tf_name}/kernel", f"{tf_name}/bias"
    for i, torch_name in enumerate(norms):
        tf_name = numbered("batch_normalization", i)
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            names[f"{torch_name}.{ours}"] = f"{tf_name}/{theirs}"
    return names


def state_dict_from_tf(model: Musicnn | MusicnnVGG, weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The torch state dict of ``model`` from a musicnn checkpoint's tensors: convolution kernels
    (kh, kw, in, out) -> (out, in, kh, kw) (the mid-end's as 1-D: (out, in, 7)), dense kernels
    transposed, batch norm's gamma/beta/moving statistics as weight/bias/running statistics."""
    state = {}
    expected = model.state_dict()
    for key, tf_name in tf_names(model).items():
        if tf_name not in weights:
            raise KeyError(f"the checkpoint has no tensor {tf_name!r} (for {key})")
        value = torch.from_numpy(np.asarray(weights[tf_name], dtype=np.float32))
        if key.endswith("weight") and value.dim() == 4:
            value = value.permute(3, 2, 0, 1)  # (out, in, kh, kw)
            if expected[key].dim() == 3:  # the mid-end: a (7, C) kernel over a 1-channel map is a 1-D convolution over C channels
                value = value[:, 0].permute(0, 2, 1) if value.shape[1] == 1 else value
        elif key.endswith("weight") and value.dim() == 2:
            value = value.T
        if value.shape != expected[key].shape:
            raise ValueError(f"checkpoint tensor {tf_name!r} has shape {tuple(value.shape)}, {key} needs {tuple(expected[key].shape)}")
        state[key] = value.contiguous()
    for key, value in expected.items():
        state.setdefault(key, torch.zeros_like(value))  # num_batches_tracked
    return state


def package_dir() -> Path:
    """The installed ``musicnn`` package's folder (found, never imported: importing it would import TensorFlow)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the musicnn package is not installed: pip install --no-deps {PACKAGE_PIN} "
                                "(its checkpoints are read without TensorFlow; --no-deps keeps its old numpy and TensorFlow pins out)")
    return Path(next(iter(spec.submodule_search_locations)))


def package_tags(source: Path, list_name: str) -> list[str]:
    """A tag list of musicnn's ``configuration.py``, read as a literal (nothing is executed)."""
    tree = ast.parse((source / "configuration.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == list_name for t in node.targets):
            return [str(t) for t in ast.literal_eval(node.value)]
    raise KeyError(f"{source / 'configuration.py'} has no {list_name}")


def convert_pretrained(name: str, *, source: str | Path | None = None) -> Musicnn | MusicnnVGG:
    """The model ``name`` (``musicnn-mtt``, ``musicnn-msd``, ``vgg-mtt``, ``vgg-msd``) with the
    weights of the musicnn package's checkpoint (``source``: the package folder, by default the
    installed one), in eval mode."""
    from .tf_checkpoint import read_checkpoint

    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained tagger {name!r}: choose one of {', '.join(PRETRAINED)}")
    folder, kind, labels = PRETRAINED[name]
    source = Path(source) if source is not None else package_dir()
    tags = package_tags(source, labels)
    cls = Musicnn if kind == "musicnn" else MusicnnVGG
    model = cls(n_tags=len(tags), tags=tags)
    weights = read_checkpoint(f"{source / folder}{'/'}")
    model.load_state_dict(state_dict_from_tf(model, weights), strict=True)
    return model.eval()


def pretrained_tagger(name: str, *, cache_dir: str | Path | None = None, source: str | Path | None = None,
                      device: str = "cpu") -> Musicnn | MusicnnVGG:
    """The pretrained model ``name``, converted once from the musicnn package and then loaded from
    the cache (``cache_dir``/musicnn/``name``, safetensors + config.json; default cache:
    ``$LABKIT_CACHE`` or ``~/.cache/labkit``)."""
    from ..embed.cache import default_cache_dir
    from ..io import from_pretrained, save_pretrained

    folder = Path(cache_dir or default_cache_dir()) / "musicnn" / name
    if (folder / "model.safetensors").is_file():
        return from_pretrained(folder, device=device)
    model = convert_pretrained(name, source=source)
    save_pretrained(model, folder, extra={"converted_from": f"{PACKAGE_PIN} {PRETRAINED[name][0]}"})
    return model.to(device)


# ----------------------------------------------------------------------------- tagging
@dataclass
class Tagging:
    """One clip tagged: probabilities (n_tags,) and embedding (d,), each the mean over its
    patches, and the taggram (n_patches, n_tags) of per-patch probabilities."""

    probabilities: np.ndarray
    embedding: np.ndarray
    taggram: np.ndarray

    def top(self, tags: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(tags[i], float(self.probabilities[i])) for i in order]


@torch.inference_mode()
def tag_patches(model: nn.Module, patches: np.ndarray | torch.Tensor, *, batch_size: int = 64, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (n, n_tags), embeddings (n, d)) of (n, 96, frames) patches, in eval mode."""
    model.to(device).eval()
    x = torch.as_tensor(np.asarray(patches, dtype=np.float32))
    probs, embeds = [], []
    for start in range(0, len(x), batch_size):
        logits, embedding = model.embed(x[start : start + batch_size].to(device))
        probs.append(torch.sigmoid(logits).cpu().numpy())
        embeds.append(embedding.cpu().numpy())
    return np.concatenate(probs), np.concatenate(embeds)


def tag_waves(model: nn.Module, waves: Iterable[np.ndarray], *, patch_hop: int | None = None, batch_size: int = 64,
              device: str = "cpu") -> list[Tagging]:
    """Tag 16 kHz waveforms with a musicnn model: each cut into 187-frame patches (every
    ``patch_hop`` frames; default no overlap), tags and embeddings averaged over its patches."""
    out = []
    for wave in waves:
        patches = musicnn_patches(musicnn_log_mel(wave), hop=patch_hop)
        probs, embeds = tag_patches(model, patches, batch_size=batch_size, device=device)
        out.append(Tagging(probs.mean(axis=0), embeds.mean(axis=0), probs))
    return out


# ----------------------------------------------------------------------------- fine-tuning
def fine_tune(model: Musicnn | MusicnnVGG, data, *, propagated: np.ndarray | None = None, support_weight: float = 1.0,
              epochs: int = 10, batch_size: int = 16, lr: float = 1e-4, patch_hop: int | None = None, seed: int = 0,
              device: str = "cpu", progress: bool = True) -> tuple[Musicnn | MusicnnVGG, list[float]]:
    """Fine-tune a (pretrained) musicnn model on a user's clips and tags: (the new model, the mean
    loss of each epoch). The model is copied with an output layer for ``data``'s tags
    (:func:`with_tags`: the tags it knows keep their weights), every layer trains.

    data: a :class:`labkit.audio.ClipTags`; propagated: (n_clips, n_tags) supportive targets (the
    tags a playlist walk brings each clip, seed 001 Eq. 3), or None for the plain BCE."""
    from .training import train_tagger

    tuned = with_tags(model, data.tags.tokens, seed=seed)
    x, y, owners = data.musicnn_patches(hop=patch_hop)
    q = None if propagated is None else torch.from_numpy(np.asarray(propagated, dtype=np.float32)[owners])
    history = train_tagger(tuned, x, y, propagated=q, support_weight=support_weight, epochs=epochs, batch_size=batch_size,
                           lr=lr, seed=seed, device=device, progress=progress)
    return tuned, history
