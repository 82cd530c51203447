"""ONNX export of the audio taggers: onnxruntime matches PyTorch on inputs of another batch size
(and another number of frames or samples where those are free), with batch norm in eval mode."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch import nn

from labkit.audio.musicnn import Musicnn, MusicnnVGG
from labkit.audio.pons import PonsSpectrogramTagger, PonsWaveformTagger
from labkit.audio.sample_cnn import SampleCNN

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
onnx = pytest.importorskip("onnx", reason="onnx is not installed")

from labkit.export import export_onnx, onnx_parity  # noqa: E402

ATOL = 1e-4


def _fresh(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` with batch-norm statistics and affine parameters away from their initial values
    (so that eval-mode batch norm is no identity), left in training mode: the export must switch
    it to eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
                module.weight.copy_(1 + 0.2 * torch.randn(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
    return model.train()


def _graph_inputs(path) -> dict[str, list[int | str]]:
    """{input name: its shape, a dimension's name where it is dynamic} of the ONNX graph at ``path``."""
    graph = onnx.load(str(path)).graph
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}


def _check_other_lengths(model: nn.Module, path, name: str, inputs: list[torch.Tensor]) -> None:
    """The exported graph agrees with the model on inputs of lengths other than the export's."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in inputs:
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(["logits"], {name: x.numpy()})[0]
        assert got.shape == (2, 5) and np.abs(got - expected).max() <= ATOL, x.shape[-1]


def _export_and_compare(model: nn.Module, path, *, batch: int = 5, length: int = 3) -> float:
    """Export ``model`` (its own check on a batch of 3, length 11), then the largest difference
    between onnxruntime and PyTorch on a batch of ``batch`` and length ``length``."""
    exported = export_onnx(model, path, atol=ATOL)
    assert exported == path and path.is_file()
    assert not model.training  # batch norm and dropout in eval mode
    onnx.checker.check_model(str(path))
    difference = onnx_parity(model, path, batch=batch, length=length)
    assert difference <= ATOL, f"{path.name}: ONNX and PyTorch differ by {difference:.3g}"
    return difference


@pytest.mark.slow
def test_sample_cnn(tmp_path):
    torch.manual_seed(0)
    model = _fresh(SampleCNN(n_tags=5))
    _export_and_compare(model, tmp_path / "sample_cnn.onnx")
    assert _graph_inputs(tmp_path / "sample_cnn.onnx") == {"waveform": ["batch", 59049]}


def test_pons_spectrogram(tmp_path):
    torch.manual_seed(0)
    model = _fresh(PonsSpectrogramTagger(n_tags=5, n_mels=40, filters=4, width=16))
    path = tmp_path / "pons_spectrogram.onnx"
    _export_and_compare(model, path)
    assert _graph_inputs(path) == {"spectrogram": ["batch", 40, "frames"]}
    # frames far from the export's (40): a single frame, and more than the longest temporal filter
    _check_other_lengths(model, path, "spectrogram", [torch.randn(2, 40, frames) for frames in (1, 200)])


def test_pons_waveform(tmp_path):
    torch.manual_seed(0)
    model = _fresh(PonsWaveformTagger(n_tags=5, channels=8, width=16))
    path = tmp_path / "pons_waveform.onnx"
    _export_and_compare(model, path)
    assert _graph_inputs(path) == {"waveform": ["batch", "samples"]}
    # sample counts that are no multiple of 3^7 (the pooling drops the remainder in both)
    _check_other_lengths(model, path, "waveform", [0.1 * torch.randn(2, samples) for samples in (3**7, 3**8 + 1000)])


def test_musicnn(tmp_path):
    torch.manual_seed(0)
    model = _fresh(Musicnn(n_tags=7, frontend_filters=0.2, midend_filters=8, backend_units=16))
    path = tmp_path / "musicnn.onnx"
    _export_and_compare(model, path)
    assert _graph_inputs(path) == {"spectrogram": ["batch", 96, "frames"]}


def test_musicnn_vgg(tmp_path):
    torch.manual_seed(0)
    model = _fresh(MusicnnVGG(n_tags=7, filters=8))
    path = tmp_path / "musicnn_vgg.onnx"
    _export_and_compare(model, path)
    assert _graph_inputs(path) == {"spectrogram": ["batch", 96, 187]}  # the frames are fixed by the dense layer


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("musicnn") is None, reason="the musicnn package is not installed")
def test_pretrained_musicnn(tmp_path):
    from labkit.audio.musicnn import pretrained_tagger

    model = pretrained_tagger("musicnn-mtt", cache_dir=tmp_path / "cache")
    path = tmp_path / "musicnn-mtt.onnx"
    _export_and_compare(model, path)
    assert _graph_inputs(path) == {"spectrogram": ["batch", 96, "frames"]}


def test_other_models_are_refused(tmp_path):
    with pytest.raises(TypeError, match="ONNX export covers .*audio taggers.*not Linear"):
        export_onnx(nn.Linear(3, 2), tmp_path / "linear.onnx")
    assert not (tmp_path / "linear.onnx").exists()
