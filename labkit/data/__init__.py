"""Data layer: the corpus, vocabularies, label matrices and validating readers of every format."""

from .corpus import Corpus, Item
from .diva_json import read_diva_json
from .errors import DataFormatError
from .jsonl import Prediction, read_jsonl_corpus, read_predictions, write_jsonl_corpus, write_predictions
from .musiccaps import complete_label_set, parse_aspect_list, read_musiccaps, read_musiccaps_table
from .playlists import (
    PlaylistCollection,
    YesDataset,
    read_aotm_json,
    read_yes_dataset,
    read_yes_playlists,
    read_yes_songs,
    read_yes_tag_names,
    read_yes_tags,
)
from .tagging import TagMatrix, read_assignments, read_hetrec_lastfm, read_magnatagatune
from .vocab import Vocabulary

__all__ = [
    "Corpus", "DataFormatError", "Item", "PlaylistCollection", "Prediction", "TagMatrix", "Vocabulary",
    "YesDataset", "parse_aspect_list", "read_aotm_json", "read_assignments", "read_diva_json",
    "complete_label_set", "read_hetrec_lastfm", "read_jsonl_corpus", "read_magnatagatune", "read_musiccaps",
    "read_musiccaps_table", "read_predictions", "read_yes_dataset", "read_yes_playlists",
    "read_yes_songs", "read_yes_tag_names", "read_yes_tags", "write_jsonl_corpus", "write_predictions",
]
