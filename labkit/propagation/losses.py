"""The supportive BCE of playlist propagation (seed 001, Eq. 3). It lives in the core
(:func:`labkit.losses.supportive_bce`), since two houses train with it: this one's song tagger and
the audio taggers (seed 001's sample-level CNN among them)."""

from ..losses import supportive_bce

__all__ = ["supportive_bce"]
