"""Saved weights: every model round-trips bit for bit through safetensors + config.json, and a
missing, mismatched or corrupted file gives an error that names it. Nothing is pickled."""

import json

import numpy as np
import pytest
import torch

from labkit.audio.musicnn import Musicnn, MusicnnVGG
from labkit.audio.pons import PonsSpectrogramTagger, PonsWaveformTagger
from labkit.audio.sample_cnn import SampleCNN
from labkit.data.errors import DataFormatError
from labkit.diva.classifier import PairClassifier
from labkit.gudn.model import GUDN, EncoderMLC, load_encoder
from labkit.gudn.training import XMCConfig, XMCModel, train_xmc
from labkit.io import from_pretrained, read_config, save_pretrained, tensors_equal
from labkit.mlc import MultiLabelClassifier
from labkit.registry import load_all

PLAIN = [
    (PairClassifier, dict(item_dim=12, label_dim=10, n_features=6, tower=8, hidden=8), lambda: (torch.randn(3, 12), torch.randn(3, 10), torch.randn(3, 6))),
    (MultiLabelClassifier, dict(item_dim=12, n_labels=7, hidden=16), lambda: (torch.randn(3, 12),)),
    (SampleCNN, dict(n_tags=5), lambda: (torch.randn(2, 59049),)),
    (PonsSpectrogramTagger, dict(n_tags=5, filters=4, width=32), lambda: (torch.randn(2, 96, 64),)),
    (PonsWaveformTagger, dict(n_tags=5, channels=8, width=32), lambda: (torch.randn(2, 16000),)),
    (Musicnn, dict(n_tags=5, frontend_filters=0.25, midend_filters=16, backend_units=32), lambda: (torch.randn(2, 96, 187),)),
    (MusicnnVGG, dict(n_tags=5, filters=16), lambda: (torch.randn(2, 96, 187),)),
]


def saved_files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("cls, args, inputs", PLAIN, ids=[c.__name__ for c, _, _ in PLAIN])
def test_every_plain_model_round_trips_bit_for_bit(cls, args, inputs, tmp_path):
    torch.manual_seed(0)
    model = cls(**args).eval()
    x = inputs()
    folder = save_pretrained(model, tmp_path / "m", extra={"tags": ["a", "b"]})
    assert saved_files(folder) == ["config.json", "labkit-folder.json", "model.safetensors"]
    config = read_config(folder)
    assert config["args"] == model.config and config["labkit_version"] and config["extra"] == {"tags": ["a", "b"]}
    loaded = from_pretrained(folder)
    assert type(loaded) is cls and not loaded.training and tensors_equal(model, loaded)
    with torch.no_grad():
        assert torch.equal(model(*x), loaded(*x))


def test_registry_covers_the_plain_models():
    assert {c for c, _, _ in PLAIN} == {c for name, c in load_all().items() if name not in ("gudn", "encoder_mlc")}


@pytest.fixture(scope="module")
def io_bert(tmp_path_factory):
    from conftest import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("io-bert"), ["mellow", "piano", "loud", "rock", "drums", ","])


@pytest.mark.parametrize("with_clusters", [False, True])
def test_encoder_models_round_trip_with_their_encoder(io_bert, with_clusters, tmp_path):
    encoder, tokenizer = load_encoder(str(io_bert))
    torch.manual_seed(0)
    clusters = torch.tensor([0, 0, 1, 1, 2]) if with_clusters else None
    models = [GUDN(encoder, 5, text_layers=2, dim=8, hidden=6, clusters=clusters, top_clusters=2, pooling="mean").eval()]
    if not with_clusters:
        models.append(EncoderMLC(load_encoder(str(io_bert))[0], 5).eval())
    enc = tokenizer(["mellow piano", "loud rock drums"], padding=True, return_tensors="pt")
    for i, model in enumerate(models):
        folder = save_pretrained(model, tmp_path / f"m{i}", tokenizer=tokenizer)
        assert not any(name.endswith((".bin", ".pt", ".pkl", ".pth")) for name in saved_files(folder))
        loaded = from_pretrained(folder)
        assert type(loaded) is type(model) and tensors_equal(model, loaded)
        with torch.no_grad():
            assert torch.equal(model(enc["input_ids"], enc["attention_mask"]), loaded(enc["input_ids"], enc["attention_mask"]))


def test_trained_xmc_model_saves_and_predicts_the_same(io_bert, tmp_path):
    texts, labels = ["mellow piano", "loud rock drums", "piano mellow", "rock drums loud"], [["piano"], ["rock", "drums"], ["piano"], ["rock"]]
    config = XMCConfig(encoder=str(io_bert), epochs=2, max_length=12, batch_size=2, dim=8, hidden=8, text_layers=2, device="cpu", progress=False)
    model = train_xmc(texts, labels, config)
    folder = model.save(tmp_path / "xmc")
    again = XMCModel.load(folder)
    assert again.labels.tokens == model.labels.tokens and again.config.max_length == 12
    assert again.epoch_seconds == model.epoch_seconds and len(again.epoch_seconds) == 2 and again.losses == pytest.approx(model.losses)
    np.testing.assert_array_equal(again.scores(texts), model.scores(texts))
    assert again.predict(texts, top_k=2) == model.predict(texts, top_k=2)


def test_missing_mismatched_and_corrupted_files_are_named(tmp_path):
    torch.manual_seed(0)
    folder = save_pretrained(MultiLabelClassifier(8, 3, hidden=4), tmp_path / "m")
    (folder / "model.safetensors").rename(folder / "gone")
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        from_pretrained(folder)
    (folder / "gone").rename(folder / "model.safetensors")

    config = json.loads((folder / "config.json").read_text())
    config["args"]["hidden"] = 5  # the tensors were saved with 4
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match="does not match model.safetensors") as err:
        from_pretrained(folder)
    assert str(folder) in str(err.value)

    config["args"]["hidden"] = 4
    config["args"]["no_such_argument"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match="do not build"):
        from_pretrained(folder)

    (folder / "config.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="config.json:1"):
        from_pretrained(folder)

    folder = save_pretrained(MultiLabelClassifier(8, 3, hidden=4), tmp_path / "m2")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="cannot read the weights"):
        from_pretrained(folder)
    with pytest.raises(TypeError, match="not one of the kit's models"):
        save_pretrained(torch.nn.Linear(2, 2), tmp_path / "x")


def test_saving_replaces_a_folder_atomically(tmp_path):
    torch.manual_seed(0)
    first, second = MultiLabelClassifier(8, 3, hidden=4), MultiLabelClassifier(8, 3, hidden=4)
    save_pretrained(first, tmp_path / "m")
    save_pretrained(second, tmp_path / "m")
    assert tensors_equal(from_pretrained(tmp_path / "m"), second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary folders left


def test_onnx_export_matches_pytorch(io_bert, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from labkit.export import export_onnx, onnx_parity

    torch.manual_seed(0)
    pair = PairClassifier(12, 10, 6, tower=8, hidden=8).eval()
    path = export_onnx(pair, tmp_path / "pair.onnx")
    assert onnx_parity(pair, path, batch=7) < 1e-5
    encoder, _ = load_encoder(str(io_bert))
    for name, model in (("gudn", GUDN(encoder, 5, text_layers=2, dim=8, hidden=6, pooling="mean")),
                        ("gudn-clusters", GUDN(load_encoder(str(io_bert))[0], 5, text_layers=2, dim=8, hidden=6,
                                               clusters=torch.tensor([0, 0, 1, 1, 2]), top_clusters=2)),
                        ("mlc", EncoderMLC(load_encoder(str(io_bert))[0], 5))):
        path = export_onnx(model, tmp_path / f"{name}.onnx")
        assert onnx_parity(model, path, batch=4, length=9) < 1e-4, name
    with pytest.raises(TypeError, match="ONNX export covers"):
        export_onnx(torch.nn.Linear(3, 2), tmp_path / "x.onnx")  # not one of the kit's models
