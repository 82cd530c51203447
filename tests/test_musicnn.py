"""musicnn's pretrained taggers in torch: the TensorFlow checkpoint reader (on the installed
package's checkpoints, and on truncated or corrupted copies), the models' shapes, the
preprocessing by hand on a tone, seed 001's supportive loss by hand, fine-tuning, and `labkit tag`
on the bundled clips and on broken files. The parity with the original TensorFlow graphs is
`bench/musicnn_parity.py` (it needs TensorFlow, which the kit never does)."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import torch

from labkit.audio import ClipTags, load_audio
from labkit.audio.musicnn import (
    PATCH_FRAMES,
    PRETRAINED,
    Musicnn,
    MusicnnVGG,
    convert_pretrained,
    mel_filters,
    mel_power,
    musicnn_log_mel,
    musicnn_patches,
    package_dir,
    pretrained_tagger,
    tag_waves,
    tf_names,
    with_tags,
)
from labkit.audio.tf_checkpoint import masked_crc32c, read_checkpoint, read_index
from labkit.audio.training import tagger_loss
from labkit.cli import main
from labkit.errors import DataFormatError
from labkit.paths import sample_audio_dir

needs_musicnn = pytest.mark.skipif(importlib.util.find_spec("musicnn") is None,
                                   reason="the musicnn package is not installed (pip install --no-deps musicnn==0.1.0)")
OPTIMISER_SLOTS = ("/Adam", "/Adam_1", "beta1_power", "beta2_power")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("labkit-cache")


# ----------------------------------------------------------------------------- the checkpoint reader
@needs_musicnn
@pytest.mark.parametrize("name", list(PRETRAINED))
def test_reader_gives_every_tensor_as_the_index_lists_it(name):
    folder = package_dir() / PRETRAINED[name][0]
    header, entries = read_index(f"{folder}/")
    assert header == {"num_shards": 1, "endianness": "little"}
    weights = read_checkpoint(f"{folder}/")  # every tensor's bytes checked against its CRC-32C
    assert list(weights) == list(entries) == sorted(entries)  # an SSTable is sorted by key
    for tensor, entry in entries.items():
        assert weights[tensor].shape == entry.shape and str(weights[tensor].dtype) == entry.dtype, tensor
    # the entries tile the data shard: every byte of it belongs to exactly one tensor
    spans = sorted((e.offset, e.offset + e.size) for e in entries.values())
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert spans[-1][1] == (folder / ".data-00000-of-00001").stat().st_size
    # the model uses every trained tensor (the optimiser's slots aside) and nothing else
    model_tensors = {t for t in entries if not any(slot in t for slot in OPTIMISER_SLOTS)}
    model = (Musicnn if PRETRAINED[name][1] == "musicnn" else MusicnnVGG)()
    assert set(tf_names(model).values()) == model_tensors
    assert sum(int(np.prod(entries[t].shape)) for t in model_tensors) == sum(
        v.numel() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked"))


@needs_musicnn
def test_reader_knows_musicnn_layers_by_hand():
    _, entries = read_index(f"{package_dir() / 'MTT_musicnn'}/")
    assert len(entries) == 150
    assert entries["conv2d/kernel"].shape == (7, 38, 1, 204)  # timbral 7 x int(0.4 * 96), int(1.6 * 128) filters
    assert entries["conv2d_1/kernel"].shape == (7, 67, 1, 204)  # 7 x int(0.7 * 96)
    assert entries["conv2d_2/kernel"].shape == (128, 1, 1, 51)  # temporal 128 x 1, int(1.6 * 32) filters
    assert entries["conv2d_5/kernel"].shape == (7, 561, 1, 64)  # mid-end over the 561 front-end features
    assert entries["batch_normalization_9/gamma"].shape == (1506,)  # max and mean of 561 + 3 x 64 features
    assert entries["dense_1/kernel"].shape == (200, 50) and entries["dense_1/kernel"].dtype == "float32"
    _, vgg = read_index(f"{package_dir() / 'MTT_vgg'}/")
    assert vgg["1CNN/kernel"].shape == (3, 3, 1, 128) and vgg["dense/kernel"].shape == (256, 50)


def test_masked_crc32c_by_hand():
    # CRC-32C("123456789") = 0xE3069283 (the standard check value), masked as LevelDB does
    crc = 0xE3069283
    assert masked_crc32c(b"123456789") == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


@pytest.fixture
def vgg_copy(tmp_path):
    if importlib.util.find_spec("musicnn") is None:
        pytest.skip("the musicnn package is not installed")
    folder = tmp_path / "MTT_vgg"
    shutil.copytree(package_dir() / "MTT_vgg", folder)
    return folder


@pytest.mark.parametrize("keep", [0, 10, 47, 1000, -49, -1])
def test_truncated_index_names_the_file(vgg_copy, keep):
    index = vgg_copy / ".index"
    data = index.read_bytes()
    index.write_bytes(data[:keep])
    with pytest.raises(DataFormatError, match="truncated|corrupted|not a TensorFlow checkpoint") as err:
        read_index(f"{vgg_copy}/")
    assert err.value.path == str(index)


@pytest.mark.parametrize("where", [5, 300, 1500, -60])
def test_corrupted_index_fails_its_checksum(vgg_copy, where):
    index = vgg_copy / ".index"
    data = bytearray(index.read_bytes())
    data[where] ^= 0x40
    index.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="corrupted|truncated") as err:
        read_index(f"{vgg_copy}/")
    assert err.value.path == str(index)


def test_truncated_or_corrupted_data_names_the_shard(vgg_copy):
    shard = vgg_copy / ".data-00000-of-00001"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="truncated data") as err:
        read_checkpoint(f"{vgg_copy}/")
    assert err.value.path == str(shard)
    flipped = bytearray(data)
    flipped[7_120_600] ^= 1  # inside dense/kernel
    shard.write_bytes(bytes(flipped))
    with pytest.raises(DataFormatError, match="'dense/kernel' fails its checksum") as err:
        read_checkpoint(f"{vgg_copy}/")
    assert err.value.path == str(shard)
    assert read_checkpoint(f"{vgg_copy}/", names=["1CNN/bias"])["1CNN/bias"].shape == (128,)  # other tensors still read
    shard.unlink()
    with pytest.raises(FileNotFoundError, match="data shard"):
        read_checkpoint(f"{vgg_copy}/")


def test_a_file_of_another_kind_is_refused(tmp_path):
    (tmp_path / "x.index").write_bytes(b"\x00" * 100)
    with pytest.raises(DataFormatError, match="not a TensorFlow checkpoint index") as err:
        read_index(tmp_path / "x")
    assert err.value.path == str(tmp_path / "x.index")
    with pytest.raises(FileNotFoundError, match="no checkpoint index"):
        read_index(tmp_path / "absent")


# ----------------------------------------------------------------------------- the models
def test_musicnn_shapes_layer_by_layer():
    torch.manual_seed(0)
    model = Musicnn().eval()
    x = torch.randn(3, 96, PATCH_FRAMES)
    front = model.front_end(x)
    assert front.shape == (3, 2 * 204 + 3 * 51, PATCH_FRAMES)  # timbral 2 x 204, temporal 3 x 51
    assert model.mid_end(front).shape == (3, 561 + 3 * 64, PATCH_FRAMES)  # dense connections
    logits, embedding = model.embed(x)
    assert logits.shape == (3, 50) and embedding.shape == (3, 200)
    assert sum(p.numel() for p in model.parameters()) == 787_159
    assert model(torch.randn(2, 96, 400)).shape == (2, 50)  # musicnn takes any patch length
    vgg = MusicnnVGG().eval()
    logits, embedding = vgg.embed(x)
    assert logits.shape == (3, 50) and embedding.shape == (3, 256)  # pool5: 2 x 1 x 128
    assert sum(p.numel() for p in vgg.parameters()) == 605_748


def test_tf_same_padding_puts_the_extra_row_after():
    """A temporal filter of 128 frames sees 63 frames before and 64 after (TensorFlow's "same")."""
    model = Musicnn(n_tags=2, frontend_filters=1 / 32, midend_filters=2, backend_units=2).eval()
    conv = model.temporal[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # picks the first frame of the window: output t reads input t - 63
        conv.bias.zero_()
        x = torch.zeros(1, 1, PATCH_FRAMES, 96)
        x[0, 0, 10, 5] = 1.0
        same = torch.nn.functional.pad(x, (0, 0, 63, 64))
        out = conv(same)
    assert out.shape[2] == PATCH_FRAMES and out[0, 0, 10 + 63, 5] == 1.0


@needs_musicnn
def test_pretrained_loads_from_the_cache_unchanged(cache):
    converted = convert_pretrained("musicnn-msd")
    cached = pretrained_tagger("musicnn-msd", cache_dir=cache)  # converts and writes the cache
    again = pretrained_tagger("musicnn-msd", cache_dir=cache)  # reads safetensors
    assert (cache / "musicnn" / "musicnn-msd" / "model.safetensors").is_file()
    assert again.tags == converted.tags and len(again.tags) == 50 and again.tags[0] == "rock"
    for a, b in zip(converted.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert cached.config == again.config


# ----------------------------------------------------------------------------- preprocessing
def test_preprocessing_of_a_tone_by_hand():
    """A 1 kHz sine of amplitude 0.05 at 16 kHz sits on FFT bin 32 (31.25 Hz per bin). Through a
    periodic Hann window of 512 samples its spectrum is A N / 4 = 6.4 on bin 32 and A N / 8 = 3.2
    on bins 31 and 33, nothing elsewhere: power 40.96 and 10.24. The mel bands weigh those bins."""
    sr, seconds, amplitude = 16000, 3.0, 0.05
    wave = (amplitude * np.sin(2 * np.pi * 1000.0 * np.arange(int(sr * seconds)) / sr)).astype(np.float32)
    power = mel_power(wave)
    assert power.shape == (96, 1 + int(sr * seconds) // 256)  # centred frames: 1 + n / hop
    weights = mel_filters()
    expected = 40.96 * weights[:, 32] + 10.24 * (weights[:, 31] + weights[:, 33])
    np.testing.assert_allclose(power[:, 20:-20], np.repeat(expected[:, None], power.shape[1] - 40, axis=1), rtol=1e-4, atol=1e-6)
    # the filters by hand: 98 band edges evenly spaced in mels from 0 to mel(8 kHz) = 15 + 27 ln 8 / ln 6.4
    # (Slaney's scale: 200/3 Hz per mel below 1 kHz, logarithmic above); band m is a triangle over
    # edges m, m + 1, m + 2 of height 2 / (its width in Hz)
    assert weights.shape == (96, 257)
    hz = np.arange(257) * 31.25
    step = (15 + 27 * np.log(8) / np.log(6.4)) / 97
    for m in range(int(15 / step) - 2):  # the bands below 1 kHz
        low, centre, high = m * step * 200 / 3, (m + 1) * step * 200 / 3, (m + 2) * step * 200 / 3
        triangle = np.maximum(0, np.minimum((hz - low) / (centre - low), (high - hz) / (high - centre))) * 2 / (high - low)
        np.testing.assert_allclose(weights[m], triangle, rtol=1e-5, atol=1e-9)
    rep = musicnn_log_mel(wave)
    band = int(np.argmax(expected))
    assert rep[band, 50] == pytest.approx(np.log10(10000 * np.float16(power[band, 50]) + 1), rel=1e-3)  # no float16 overflow here
    assert np.isfinite(rep).all() and rep.dtype == np.float32
    patches = musicnn_patches(rep)
    assert patches.shape == (1, 96, PATCH_FRAMES)  # 188 frames: one whole patch, the rest left out as musicnn does
    np.testing.assert_array_equal(patches[0], rep[:, :PATCH_FRAMES])
    assert musicnn_patches(rep, hop=50).shape == (1, 96, PATCH_FRAMES)
    short = musicnn_patches(rep[:, :100])  # shorter than a patch: repeated until it fills one
    np.testing.assert_array_equal(short[0, :, 100:], rep[:, :87])


def test_loud_audio_does_not_overflow_as_musicnn_float16_does():
    wave = np.sin(2 * np.pi * 440.0 * np.arange(16000 * 4) / 16000).astype(np.float32)  # full scale: mel power in the hundreds
    power = mel_power(wave)
    assert power.max() > 6.55 * 10
    with np.errstate(over="ignore"):
        theirs = np.log10(10000 * power.astype(np.float16) + 1)  # musicnn's arithmetic
    assert np.isinf(theirs).any()
    ours = musicnn_log_mel(wave)
    assert np.isfinite(ours).all()
    finite = np.isfinite(theirs)
    np.testing.assert_array_equal(ours[finite], theirs[finite].astype(np.float32))  # musicnn's values wherever it has one
    np.testing.assert_allclose(ours[~finite], np.log10(10000 * power.astype(np.float16)[~finite].astype(np.float32) + 1))


@pytest.mark.shared_data
def test_mel_power_is_librosas_on_a_real_recording(shared_audio):
    import librosa

    wave = load_audio(shared_audio / "sorohanro_-_solo-trumpet-06.ogg", sr=16000)
    np.testing.assert_array_equal(mel_power(wave), librosa.feature.melspectrogram(y=wave, sr=16000, n_fft=512, hop_length=256, n_mels=96))
    np.testing.assert_array_equal(mel_filters(), librosa.filters.mel(sr=16000, n_fft=512, n_mels=96))
    assert np.array_equal(load_audio(shared_audio / "pibble.ogg", sr=16000), librosa.load(shared_audio / "pibble.ogg", sr=16000)[0])


@needs_musicnn
@pytest.mark.shared_data
def test_pretrained_taggers_hear_the_real_recordings(shared_audio, cache):
    model = pretrained_tagger("musicnn-mtt", cache_dir=cache)
    orchestra, trumpet = (load_audio(shared_audio / f"{stem}.ogg", sr=16000) for stem in (
        "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra)", "sorohanro_-_solo-trumpet-06"))
    orchestra_tags, trumpet_tags = tag_waves(model, [orchestra, trumpet])
    assert {t for t, _ in orchestra_tags.top(model.tags, 3)} == {"classical", "violin", "strings"}
    assert orchestra_tags.taggram.shape == (len(musicnn_patches(musicnn_log_mel(orchestra))), 50)
    msd = pretrained_tagger("musicnn-msd", cache_dir=cache)
    assert tag_waves(msd, [trumpet])[0].top(msd.tags, 1)[0][0] == "jazz"


# ----------------------------------------------------------------------------- training: seed 001's supportive loss
def test_supportive_term_gradient_is_eq3_by_hand():
    """On the bundled clips: two playlists give P(s'|s); the supportive targets q = P Y. The
    gradient of the loss with respect to the logits is that of Eq. 3 written out:
    d/dz [BCE(z, y) - w mean(q log sigmoid(z))] = (sigmoid(z) - y - w q (1 - sigmoid(z))) / (B T)."""
    data = ClipTags.from_folder(sample_audio_dir(), sample_audio_dir() / "tags.tsv", sr=16000)
    y_clips = data.labels.toarray().astype(np.float32)
    n = len(data)
    transition = np.zeros((n, n))  # a walk from a clip moves to a neighbour in its playlist: P(s'|s) uniform over them
    for playlist in (range(0, n // 2), range(n // 2, n)):
        for s in playlist:
            for t in playlist:
                if s != t:
                    transition[s, t] = 1.0 / (len(playlist) - 1)
    q_clips = (transition @ y_clips).astype(np.float32)
    x, y, owners = data.musicnn_patches()
    torch.manual_seed(0)
    model = Musicnn(n_tags=y.shape[1], frontend_filters=0.1, midend_filters=8, backend_units=16, dropout=0.0).eval()
    logits = model(x).detach().requires_grad_(True)
    q = torch.from_numpy(q_clips[owners])
    weight = 0.7
    loss = tagger_loss(logits, y, q, support_weight=weight)
    loss.backward()
    p = torch.sigmoid(logits.detach())
    by_hand = (p - y - weight * q * (1 - p)) / y.numel()
    torch.testing.assert_close(logits.grad, by_hand, rtol=1e-5, atol=1e-7)
    # the value too: BCE on the own tags plus w times -mean(q log p)
    value = torch.nn.functional.binary_cross_entropy(p, y) - weight * (q * torch.log(p)).mean()
    assert loss.item() == pytest.approx(value.item(), rel=1e-5)
    assert torch.equal(tagger_loss(logits.detach(), y), torch.nn.functional.binary_cross_entropy_with_logits(logits.detach(), y))


@needs_musicnn
def test_fine_tuning_a_pretrained_musicnn_on_the_bundled_clips(cache):
    from labkit.audio import fine_tune

    data = ClipTags.from_folder(sample_audio_dir(), sample_audio_dir() / "tags.tsv", sr=16000)
    base = pretrained_tagger("musicnn-mtt", cache_dir=cache)
    renamed = with_tags(base, ["piano", "my tag", "drums"])
    torch.testing.assert_close(renamed.out.weight[0], base.out.weight[base.tags.index("piano")])
    torch.testing.assert_close(renamed.out.weight[2], base.out.weight[base.tags.index("drums")])
    torch.testing.assert_close(renamed.dense.weight, base.dense.weight)
    q = np.full((len(data), len(data.tags)), 0.1, dtype=np.float32)
    tuned, history = fine_tune(base, data, propagated=q, epochs=2, batch_size=12, lr=1e-3, progress=False)
    assert tuned.tags == data.tags.tokens and len(history) == 2 and all(np.isfinite(history))
    assert not torch.equal(tuned.dense.weight, base.dense.weight)  # every layer trained
    torch.testing.assert_close(base.out.weight, pretrained_tagger("musicnn-mtt", cache_dir=cache).out.weight)  # the base untouched


# ----------------------------------------------------------------------------- labkit tag
@needs_musicnn
def test_labkit_tag_on_the_bundled_clips(tmp_path, cache, capsys):
    out, embeddings = tmp_path / "tags.tsv", tmp_path / "emb.npy"
    assert main(["tag", str(sample_audio_dir()), "--model", "vgg-mtt", "--top-k", "3", "--out", str(out),
                 "--embeddings", str(embeddings), "--cache", str(cache)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "file\trank\ttag\tscore"
    rows = [line.split("\t") for line in lines[1:]]
    clips = sorted(sample_audio_dir().glob("*.wav"))
    assert len(rows) == 3 * len(clips) and [r[1] for r in rows[:3]] == ["1", "2", "3"]
    vectors = np.load(embeddings)
    assert vectors.shape == (len(clips), 256) and vectors.dtype == np.float32
    model = pretrained_tagger("vgg-mtt", cache_dir=cache)
    first = tag_waves(model, [load_audio(clips[0], sr=16000)])[0]
    assert [r[2] for r in rows[:3]] == [t for t, _ in first.top(model.tags, 3)]
    assert [float(r[3]) for r in rows[:3]] == pytest.approx([s for _, s in first.top(model.tags, 3)], abs=1e-4)
    np.testing.assert_allclose(vectors[0], first.embedding, rtol=1e-5, atol=1e-6)
    assert "12 file(s) tagged with vgg-mtt" in capsys.readouterr().err
    # run again: its own outputs are replaced
    assert main(["tag", str(clips[0]), "--out", str(out), "--embeddings", str(embeddings), "--cache", str(cache)]) == 0
    assert np.load(embeddings).shape == (1, 200)


@needs_musicnn
def test_labkit_tag_names_and_skips_a_broken_file(tmp_path, cache, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(sorted(sample_audio_dir().glob("*.wav"))[0], folder / "good.wav")
    (folder / "broken.ogg").write_bytes(b"OggS but not really audio")
    out = tmp_path / "tags.tsv"
    assert main(["tag", str(folder), "--out", str(out), "--cache", str(cache)]) == 0
    err = capsys.readouterr().err
    assert f"skipped {folder / 'broken.ogg'}: cannot decode audio" in err and "1 skipped" in err
    assert {line.split("\t")[0] for line in out.read_text().splitlines()[1:]} == {str(folder / "good.wav")}
    # only broken files: one line, exit 2, nothing written
    alone = tmp_path / "alone.tsv"
    assert main(["tag", str(folder / "broken.ogg"), "--out", str(alone), "--cache", str(cache)]) == 2
    assert "none of the 1 file(s) could be decoded" in capsys.readouterr().err and not alone.exists()


def test_labkit_tag_refuses_what_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "notes.tsv"
    mine.write_text("my own notes\n")
    assert main(["tag", str(sample_audio_dir()), "--out", str(mine)]) == 2
    assert "not a labkit audio-tags file" in capsys.readouterr().err and mine.read_text() == "my own notes\n"
    array = tmp_path / "mine.npy"
    np.save(array, np.arange(5))  # not an embeddings file: 1-D int
    assert main(["tag", str(sample_audio_dir()), "--out", str(tmp_path / "t.tsv"), "--embeddings", str(array)]) == 2
    assert "--embeddings" in capsys.readouterr().err and np.array_equal(np.load(array), np.arange(5))
    assert main(["tag", str(tmp_path / "nothing.wav"), "--out", str(tmp_path / "t.tsv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["tag", str(sample_audio_dir()), "--out", str(tmp_path / "t.tsv"), "--top-k", "0"]) == 2
    assert not (tmp_path / "t.tsv").exists()
