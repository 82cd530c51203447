"""Where the kit finds its bundled sample data and the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def sample_data_dir() -> Path:
    """The bundled synthetic corpus (``data/synthetic`` in the repository)."""
    return REPO_ROOT / "data" / "synthetic"


def sample_audio_dir() -> Path:
    """The bundled synthetic clips and their ``tags.tsv`` (``data/audio``; see
    :mod:`labkit.data.synthetic_audio`)."""
    return REPO_ROOT / "data" / "audio"


def shared_data_dir() -> Path | None:
    """The real public data: ``$LABKIT_SHARED_DATA``, else ``../shared/data`` beside the repository.

    Returns ``None`` where neither exists, so callers can skip with a message.
    """
    env = os.environ.get("LABKIT_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    return next((p for p in candidates if p.is_dir()), None)
