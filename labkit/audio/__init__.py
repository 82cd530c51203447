"""Audio for the taggers: loading and resampling, log-mel spectrograms, fixed-length chunks, clips
paired with tags, one training loop for every tagger (with seed 001's supportive loss), and
musicnn's pretrained taggers converted from their TensorFlow checkpoints (:mod:`.musicnn`)."""

from .dataset import ClipTags
from .features import AUDIO_EXTENSIONS, chunk, list_clips, load_audio, log_mel
from .musicnn import PRETRAINED, Musicnn, MusicnnVGG, fine_tune, pretrained_tagger, tag_waves, with_tags
from .training import predict, tagger_loss, train_tagger

__all__ = ["AUDIO_EXTENSIONS", "PRETRAINED", "ClipTags", "Musicnn", "MusicnnVGG", "chunk", "fine_tune", "list_clips", "load_audio",
           "log_mel", "predict", "pretrained_tagger", "tag_waves", "tagger_loss", "train_tagger", "with_tags"]
