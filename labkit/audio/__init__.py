"""Audio for the taggers: loading and resampling (librosa), log-mel spectrograms, fixed-length
chunks, clips paired with tags, and one training loop for every tagger."""

from .dataset import ClipTags
from .features import AUDIO_EXTENSIONS, chunk, list_clips, load_audio, log_mel
from .training import predict, train_tagger

__all__ = ["AUDIO_EXTENSIONS", "ClipTags", "chunk", "list_clips", "load_audio", "log_mel", "predict", "train_tagger"]
