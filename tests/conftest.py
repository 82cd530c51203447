"""Shared fixtures: the real data in ../shared/data (skipped with a message where absent)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest

from labkit.paths import REPO_ROOT, shared_data_dir


def _shared(sub: str) -> Path:
    root = shared_data_dir()
    if root is None or not (root / sub).exists():
        pytest.skip(f"real data ../shared/data/{sub} is absent: set LABKIT_SHARED_DATA or place it beside the repo")
    return root / sub


@pytest.fixture
def musiccaps_protocol() -> Path:
    return _shared("musiccaps/diva")


@pytest.fixture
def musiccaps_csv() -> Path:
    return _shared("musiccaps/musiccaps.csv")


@pytest.fixture
def yes_playlists() -> Path:
    return _shared("yes-playlists")


@pytest.fixture
def shared_audio() -> Path:
    return _shared("audio")


@pytest.fixture
def hetrec() -> Path:
    return _shared("lastfm-hetrec2011")


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def write(tmp_path):
    """write(name, text or bytes) -> path of a new file in tmp_path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


def make_tiny_bert(folder: Path, words: list[str], *, seed: int = 0) -> Path:
    """A randomly initialised 2-layer BERT with a word-level vocabulary, saved to ``folder``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = list(dict.fromkeys(specials + words))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny random BERT whose vocabulary covers the bundled synthetic corpus and some Chinese."""
    import re

    from labkit.paths import sample_data_dir

    text = " ".join((sample_data_dir() / name).read_text() for name in ("train.jsonl", "test_comments.jsonl"))
    words = sorted(set(re.findall(r"[a-z0-9]+", text.lower())))
    chinese = sorted(set("这首歌很好听旋律伤感没有人声钢琴吉他欢快节奏悲伤温柔女声男声安静摇滚民谣鼓点电子舒缓的了是我们都喜欢听着让人想哭开心跳舞"))
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), words + chinese)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own embedding cache folder."""
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "labkit-cache"))


# A small DiVa setting shared by the tuner and widget tests: a 120-song synthetic corpus on the tiny BERT.
SMALL_DIVA = dict(epochs=3, finetune_epochs=1, rounds=2, kmeans_runs=2, n_clusters=4, pv_sample=16, progress=False, tower=32,
                  hidden=32, min_steps=100, joint_threshold=1e-4)


@pytest.fixture(scope="session")
def synthetic_space(tiny_bert, tmp_path_factory):
    """(corpus, candidate space) of a 120-song synthetic corpus (train + test comments), built once."""
    from labkit.data.synthetic import make_synthetic_corpus
    from labkit.embed import TransformerEncoder, build_candidate_space

    corpus = make_synthetic_corpus(120, seed=1, n_playlists=10)
    encoder = TransformerEncoder(str(tiny_bert), progress=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("synthetic-space-cache")))
        space = build_candidate_space([*corpus.train.comments, *corpus.test_comments.comments], corpus.gold_vocab, encoder, lang="en",
                                      n_fit=len(corpus.train))
    return corpus, space


def new_small_run(corpus, space):
    """A fresh DiVa run over ``synthetic_space`` with the SMALL_DIVA settings."""
    import numpy as np

    from labkit.diva import DiVa, DiVaConfig
    from labkit.diva.harvest import gold_matrix

    return DiVa(space, np.arange(len(corpus.train)), gold_matrix(space, corpus.train.label_sets, space.n_items), DiVaConfig(**SMALL_DIVA))
