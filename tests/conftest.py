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
