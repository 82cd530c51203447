"""Playlist-based tag propagation (seed 001): the exact transition matrix P(s'|s) and its random
walk (:mod:`.transitions`), the hidden-link experiment with a song tagger (:mod:`.experiment`), the
supportive loss (:mod:`.losses`), tag categories (:mod:`.categories`) and plotly figures (:mod:`.plots`).
"""

from .categories import categorize
from .experiment import (
    TaggerScores,
    hide_links,
    link_auc,
    playlist_song_vectors,
    predict_tags,
    relative_gain_by_category,
    relative_gain_by_rank,
    score_tagger,
    train_song_tagger,
)
from .losses import supportive_bce
from .transitions import (
    assignments_matrix,
    links_table,
    new_links,
    propagated_scores,
    random_walk,
    tag_matrix,
    transition_matrix,
)

__all__ = [
    "TaggerScores", "assignments_matrix", "categorize", "hide_links", "link_auc", "links_table", "new_links", "playlist_song_vectors",
    "predict_tags", "propagated_scores", "random_walk", "relative_gain_by_category", "relative_gain_by_rank", "score_tagger",
    "supportive_bce", "tag_matrix", "train_song_tagger", "transition_matrix",
]
