"""Tag propagation without audio: hide song-tag links, propagate the rest over playlists, and
train a tagger on song features that use no tags (song vectors learned from playlist
co-occurrence), with and without the supportive loss (seed 001, Sec. V, on the Yes.com data)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..data.playlists import PlaylistCollection
from ..losses import bce
from ..metrics import annotation_map, retrieval_map, roc_auc_columns
from ..mlc import MultiLabelClassifier
from ..sparse import binary_csr, unit_rows
from ..training import fit, index_batches, predict_batches
from .losses import supportive_bce


def hide_links(song_tags: sp.spmatrix, fraction: float = 0.5, *, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split the links of a binary (n_songs, n_tags) matrix at random: (visible, hidden)."""
    y = sp.csr_matrix(song_tags > 0).tocoo()
    hide = np.random.default_rng(seed).random(y.nnz) < fraction
    return binary_csr(y.row[~hide], y.col[~hide], y.shape), binary_csr(y.row[hide], y.col[hide], y.shape)


def link_auc(scores: sp.spmatrix | np.ndarray, hidden: sp.spmatrix, visible: sp.spmatrix) -> float:
    """AUC of ranking the hidden links above every other song-tag pair that is not visible (all
    pairs pooled, ties counted half)."""
    from sklearn.metrics import roc_auc_score

    s = scores.toarray() if sp.issparse(scores) else np.asarray(scores)
    candidate = ~(sp.csr_matrix(visible) > 0).toarray()
    truth = (sp.csr_matrix(hidden) > 0).toarray()
    return float(roc_auc_score(truth[candidate], s[candidate]))


def playlist_song_vectors(playlists: PlaylistCollection, *, dim: int = 64, window: int = 5, epochs: int = 20, seed: int = 0) -> np.ndarray:
    """(n_songs, dim) unit rows: skip-gram vectors of songs trained on playlists as sentences
    (gensim, one worker, so reproducible). Songs in no playlist get zero rows. No tags are used."""
    from gensim.models import Word2Vec

    sentences = [[str(s) for s in playlists[p]] for p in range(len(playlists)) if len(playlists[p]) > 1]
    model = Word2Vec(sentences, vector_size=dim, window=window, min_count=1, sg=1, epochs=epochs, seed=seed, workers=1)
    out = np.zeros((playlists.n_songs, dim), dtype=np.float32)
    for key, row in model.wv.key_to_index.items():
        out[int(key)] = model.wv.vectors[row]
    return unit_rows(out)


def train_song_tagger(
    features: np.ndarray, targets: sp.spmatrix, rows: np.ndarray, *, propagated: sp.spmatrix | None = None,
    support_weight: float = 1.0, support_negatives: bool = False, epochs: int = 60, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
    device: str = "cpu", progress: bool = False,
) -> MultiLabelClassifier:
    """A two-layer MLP from song features to tag logits, trained on the songs ``rows``: BCE on
    their tags (Eq. 1), plus the supportive term of Eq. 3 for the ``propagated`` tags when given
    (``support_negatives``: the reading that also propagates zeros, see
    :func:`labkit.losses.supportive_bce`). Same seed, same model."""
    torch.manual_seed(seed)  # before the model is built; fit(seed=None) keeps this stream for the dropout
    rng = np.random.default_rng(seed)
    y = torch.from_numpy(sp.csr_matrix(targets)[rows].toarray().astype(np.float32)).to(device)
    q = None if propagated is None else torch.from_numpy(sp.csr_matrix(propagated)[rows].toarray().astype(np.float32)).to(device)
    x = torch.from_numpy(features[rows]).to(device)
    model = MultiLabelClassifier(features.shape[1], y.shape[1], hidden=256, dropout=0.2)

    def batches(epoch: int) -> list[tuple[torch.Tensor]]:
        return index_batches(torch.from_numpy(rng.permutation(len(rows))), batch_size)

    def loss(model: MultiLabelClassifier, idx: torch.Tensor) -> torch.Tensor:
        logits = model(x[idx])
        return bce(logits, y[idx]) if q is None else supportive_bce(logits, y[idx], q[idx], support_weight, negatives=support_negatives)

    fit(model, batches, loss, epochs=epochs, lr=lr, seed=None, device=device, progress=progress, desc="song tagger")
    return model


def predict_tags(model: MultiLabelClassifier, features: np.ndarray, rows: np.ndarray, device: str = "cpu") -> np.ndarray:
    """(len(rows), n_tags) probabilities, in eval mode, in one batch."""
    return predict_batches(model, torch.from_numpy(features[rows]), batch_size=max(len(rows), 1), device=device)


@dataclass
class TaggerScores:
    """annotation MAP, retrieval MAP, retrieval AUC-ROC (macro), and per-tag retrieval AP and AUC."""

    annotation_map: float
    retrieval_map: float
    auc_roc: float
    ap_per_tag: np.ndarray
    auc_per_tag: np.ndarray


def score_tagger(probs: np.ndarray, truth: sp.spmatrix) -> TaggerScores:
    t = (sp.csr_matrix(truth) > 0).toarray()
    from ..metrics.curves import average_precision_columns

    ap, auc = average_precision_columns(probs, t), roc_auc_columns(probs, t)
    return TaggerScores(annotation_map(probs, t), retrieval_map(probs, t), float(np.nanmean(auc)), ap, auc)


def _gain(baseline: np.ndarray, proposed: np.ndarray, tags: np.ndarray) -> dict | None:
    """Mean per-tag score without and with, and the relative gain, over ``tags`` (NaNs left out)."""
    b, p = baseline[tags], proposed[tags]
    ok = ~np.isnan(b) & ~np.isnan(p)
    if not ok.any():
        return None
    before, after = float(b[ok].mean()), float(p[ok].mean())
    return {"tags": int(ok.sum()), "baseline": before, "proposed": after,
            "relative_gain": after / before - 1 if before > 0 else float("nan"), "kept": tags[ok]}


def relative_gain_by_rank(baseline: np.ndarray, proposed: np.ndarray, popularity: np.ndarray, *, bins: int = 5) -> list[dict]:
    """Relative gain (proposed / baseline - 1) of a per-tag score averaged over popularity-rank
    bins (Figure 5 of seed 001): tags sorted by ``popularity`` (most popular first), split in
    ``bins`` equal parts; tags with NaN scores are left out."""
    order = np.argsort(-np.asarray(popularity), kind="stable")
    out = []
    for k, part in enumerate(np.array_split(order, bins)):
        gain = _gain(baseline, proposed, part) or {"tags": 0, "baseline": float("nan"), "proposed": float("nan"),
                                                    "relative_gain": float("nan"), "kept": part[:0]}
        gain.pop("kept")
        out.append({"bin": k + 1, "ranks": f"{k * len(order) // bins + 1}-{(k + 1) * len(order) // bins}", **gain})
    return out


def relative_gain_by_category(baseline: np.ndarray, proposed: np.ndarray, popularity: np.ndarray, categories) -> list[dict]:
    """Relative gain of a per-tag score and the mean popularity of each tag category (Table II
    and Figure 6 of seed 001); tags with NaN scores are left out."""
    categories = np.asarray(categories)
    out = []
    for name in dict.fromkeys(categories.tolist()):
        gain = _gain(baseline, proposed, np.flatnonzero(categories == name))
        if gain is not None:
            kept = gain.pop("kept")
            out.append({"category": name, "tags": gain.pop("tags"), "mean_popularity": float(np.mean(popularity[kept])), **gain})
    return out
