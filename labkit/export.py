"""ONNX export of the kit's models, checked against PyTorch with onnxruntime: the pair
classifier, GUDN (or the encoder MLC) and the audio taggers; and the export of a DiVa run
directory (``labkit export``).

The exported graphs take a batch of any size (and, where marked free, any sequence length, number
of frames or of samples); their one output is ``logits``, float32:

- pair classifier: inputs ``items`` (B, item_dim), ``labels`` (B, label_dim), ``features``
  (B, n_features), all float32; output ``logits`` (B,);
- GUDN / encoder MLC: inputs ``input_ids`` and ``attention_mask`` (B, L) int64, L free; output
  ``logits`` (B, n_labels) (with label clusters, labels outside the best clusters get a very
  negative logit);
- the audio taggers, output ``logits`` (B, n_tags):

  - sample-level CNN (``sample_cnn``): input ``waveform`` (B, 59049) float32, the clip length fixed;
  - Pons et al. (``pons_spectrogram``): input ``spectrogram`` (B, n_mels, frames) float32 log-mel,
    frames free; (``pons_waveform``): input ``waveform`` (B, samples) float32, samples free (at
    least 3^7 = 2,187);
  - musicnn (``musicnn``): input ``spectrogram`` (B, n_mels, frames) float32, frames free; its VGG
    baseline (``musicnn_vgg``): the same input, with the frames it was built for (187 for the
    pretrained ones) fixed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn


def _example_inputs(model: nn.Module, batch: int = 2, length: int = 8) -> tuple[dict[str, torch.Tensor], dict]:
    """A model's example inputs for the export: its ``example_inputs(batch, length)`` method gives
    ``({name: tensor}, {name: {axis: "batch" | "length" | "frames" | "samples"}})``, the tensors
    drawn from torch's global generator."""
    if not hasattr(model, "example_inputs"):
        raise TypeError("ONNX export covers the pair classifier, GUDN, the encoder MLC and the audio taggers (sample_cnn, "
                        f"pons_spectrogram, pons_waveform, musicnn, musicnn_vgg), not {type(model).__name__}")
    return model.example_inputs(batch, length)


class _FiniteLogits(nn.Module):
    """GUDN with label clusters marks unscored labels -inf; ONNX graphs keep them finite (-1e9)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args):
        return torch.clamp(self.model(*args), min=-1e9)


def export_onnx(model: nn.Module, path: str | Path, *, check: bool = True, atol: float = 1e-4) -> Path:
    """Write ``model`` as ONNX to ``path`` (opset 17, dynamic batch and length) and, with
    ``check``, run it with onnxruntime on fresh inputs and compare with PyTorch (max abs
    difference <= atol, else ``AssertionError``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    inputs, dynamic = _example_inputs(model)
    wrapped = _FiniteLogits(model)
    tmp = path.with_name(f".{path.name}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        # the exporter's own lowering of F.pad (musicnn's "same" padding) reverses the pads with a
        # step -1 Slice, which it then cannot constant-fold: harmless, the graph computes it
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
        torch.onnx.export(wrapped, tuple(inputs.values()), str(tmp), input_names=list(inputs), output_names=["logits"],
                          dynamic_axes=dynamic | {"logits": {0: "batch"}}, opset_version=17, dynamo=False)
    tmp.replace(path)
    if check:
        difference = onnx_parity(model, path, batch=3, length=11)
        if difference > atol:
            raise AssertionError(f"{path}: ONNX and PyTorch logits differ by {difference:.3g} (> {atol})")
    return path


def onnx_parity(model: nn.Module, path: str | Path, *, batch: int = 3, length: int = 11, seed: int = 0) -> float:
    """Largest absolute difference between PyTorch's and onnxruntime's logits on random inputs
    of a batch size and length other than the export's."""
    import onnxruntime as ort

    torch.manual_seed(seed)
    inputs, _ = _example_inputs(model, batch=batch, length=length)
    with torch.no_grad():
        expected = torch.clamp(model.eval()(*inputs.values()), min=-1e9).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {name: value.numpy() for name, value in inputs.items()})[0]
    return float(np.max(np.abs(got - expected))) if expected.size else 0.0
