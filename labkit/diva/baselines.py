"""The baselines of DiVa's Table 2 that need no outside service, on the same candidate space.

- ``tfidf``: the item's candidates ranked by TF-IDF (Eq. 9), the top k kept, k the mean number
  of gold labels per training item;
- ``mlc``: multi-label classification over the gold vocabulary (Eq. 10);
- ``eq2``: the pair classifier of Eq. 2 trained on gold labels;
- ``nnpu``: the same classifier trained with the nnPU risk (Eq. 12);
- ``nst-eq2`` / ``nst-mlc``: Noisy Student: a teacher labels the training and unlabelled items
  (confidence >= 0.95), a noised student (more dropout) trains on gold + pseudo-labels, and
  becomes the next teacher.
Each returns (n_items, n_phrases) scores on the rows asked for; higher is better.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..losses import bce
from ..mlc import MultiLabelClassifier
from ..sparse import canonical_csr
from ..training import fit, index_batches, predict_batches
from .config import DiVaConfig
from .pairs import PairSpace, new_pair_classifier, restrict_rows, score_candidates, train_pair_classifier


def tfidf_scores(pairs: PairSpace, gold: sp.csr_matrix, train_rows: np.ndarray, rows: np.ndarray) -> tuple[sp.csr_matrix, int]:
    """TF-IDF of the occurring candidates of ``rows``, and k = mean gold labels per training item."""
    k = max(1, int(round(gold[train_rows].sum() / max(len(train_rows), 1))))
    return restrict_rows(pairs.si, rows), k


def _train_eq2(pairs, positives, rows, config: DiVaConfig, device, *, loss="bce", prior=None, dropout=None, desc="EQ. 2", experts_labels=None):
    c = config
    model = new_pair_classifier(pairs, tower=c.tower, hidden=c.hidden, dropout=c.dropout if dropout is None else dropout, seed=c.seed)
    train_pair_classifier(
        model, pairs, positives, rows, epochs=c.epochs, negatives_per_positive=c.negatives_per_positive,
        subsample=c.subsample, batch_size=c.batch_size, lr=c.lr, loss=loss, prior=prior, seed=c.seed,
        device=device, desc=desc, progress=c.progress, min_steps=c.min_steps,
        unlabeled_weight=c.unlabeled_weight if loss == "bce" else 1.0, nnpu_ascent=c.nnpu_ascent, experts_labels=experts_labels,
    )
    return model


def eq2_scores(pairs, gold, train_rows, rows, config: DiVaConfig, device: str) -> sp.csr_matrix:
    model = _train_eq2(pairs, gold, train_rows, config, device)
    return score_candidates(model, pairs, rows, device=device)


def nnpu_scores(pairs, gold, train_rows, rows, config: DiVaConfig, device: str) -> sp.csr_matrix:
    """EQ. 2 with the nnPU risk; the class prior is the share of gold pairs among candidate pairs."""
    candidates = restrict_rows(pairs.candidates, train_rows)
    prior = float(min(0.5, restrict_rows(gold, train_rows).nnz / max(candidates.nnz, 1)))
    model = _train_eq2(pairs, gold, train_rows, config, device, loss="nnpu", prior=prior, desc="nnPU")
    return score_candidates(model, pairs, rows, device=device)


def nst_eq2_scores(pairs, gold, train_rows, rows, config: DiVaConfig, device: str, *, iterations: int = 2) -> sp.csr_matrix:
    """Noisy Student with the pair classifier; unlabelled items are ``rows`` not in ``train_rows``."""
    all_rows = np.union1d(train_rows, rows)
    teacher = _train_eq2(pairs, gold, train_rows, config, device, desc="NST teacher")
    for it in range(iterations):
        scores = score_candidates(teacher, pairs, all_rows, device=device)
        pseudo = scores.copy()
        pseudo.data = (pseudo.data >= config.pseudo_threshold).astype(np.float64)
        positives = canonical_csr((restrict_rows(gold, train_rows) + pseudo) > 0)
        teacher = _train_eq2(pairs, positives, all_rows, config, device, dropout=min(0.5, config.dropout + 0.2), desc=f"NST student {it + 1}",
                             experts_labels=restrict_rows(gold, train_rows) if config.experts_weigh_negatives else None)
    return score_candidates(teacher, pairs, rows, device=device)


# The MLC baselines (Eq. 10) see each item once per epoch, not each (item, candidate) pair as the pair
# classifier does, so they train for more epochs on smaller batches.
MLC_EPOCH_FACTOR = 5
MLC_BATCH_SIZE = 64


def _fit_mlc(x: np.ndarray, y: np.ndarray, config: DiVaConfig, device: str, *, dropout: float, desc: str) -> MultiLabelClassifier:
    """The MLC of Eq. 10 trained on x (n, item_dim) float32 against y (n, n_gold) bool, for
    MLC_EPOCH_FACTOR times the configured epochs in batches of MLC_BATCH_SIZE; the batch order
    comes from its own generator."""
    torch.manual_seed(config.seed)  # before the model is built; fit(seed=None) keeps this stream for the dropout
    model = MultiLabelClassifier(x.shape[1], y.shape[1], hidden=2 * config.hidden, dropout=dropout)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y.astype(np.float32)).to(device)
    generator = torch.Generator().manual_seed(config.seed)

    def batches(epoch: int) -> list[tuple[torch.Tensor]]:
        return index_batches(torch.randperm(len(xt), generator=generator), MLC_BATCH_SIZE)

    def loss(model: MultiLabelClassifier, idx: torch.Tensor) -> torch.Tensor:
        return bce(model(xt[idx]).reshape(-1), yt[idx].reshape(-1))

    fit(model, batches, loss, epochs=config.epochs * MLC_EPOCH_FACTOR, lr=config.lr, seed=None, device=device, progress=config.progress, desc=desc)
    return model


def _mlc_predict(model: MultiLabelClassifier, x: np.ndarray, device: str) -> np.ndarray:
    """(n, n_gold) probabilities of x (n, item_dim), in one batch."""
    return predict_batches(model, torch.from_numpy(x), batch_size=max(len(x), 1), device=device)


def _mlc_to_phrases(probs: np.ndarray, rows: np.ndarray, shape) -> sp.csr_matrix:
    r = np.repeat(np.asarray(rows), probs.shape[1])
    c = np.tile(np.arange(probs.shape[1]), len(rows))
    return sp.csr_matrix((probs.ravel().astype(np.float64), (r, c)), shape=shape)


def mlc_scores(pairs, gold, train_rows, rows, config: DiVaConfig, device: str) -> sp.csr_matrix:
    n_gold = pairs.space.n_gold
    x = pairs.space.item_vectors
    y = gold[train_rows][:, :n_gold].toarray() > 0
    model = _fit_mlc(x[train_rows], y, config, device, dropout=config.dropout, desc="MLC")
    return _mlc_to_phrases(_mlc_predict(model, x[rows], device), rows, gold.shape)


def nst_mlc_scores(pairs, gold, train_rows, rows, config: DiVaConfig, device: str, *, iterations: int = 2) -> sp.csr_matrix:
    n_gold = pairs.space.n_gold
    x = pairs.space.item_vectors
    all_rows = np.union1d(train_rows, rows)
    y_gold = np.zeros((len(all_rows), n_gold), dtype=bool)
    train_pos = np.searchsorted(all_rows, train_rows)  # all_rows is sorted (union1d)
    y_gold[train_pos] = gold[train_rows][:, :n_gold].toarray() > 0
    teacher = _fit_mlc(x[train_rows], y_gold[train_pos], config, device, dropout=config.dropout, desc="NST-MLC teacher")
    for it in range(iterations):
        pseudo = _mlc_predict(teacher, x[all_rows], device) >= config.pseudo_threshold
        teacher = _fit_mlc(x[all_rows], y_gold | pseudo, config, device, dropout=min(0.5, config.dropout + 0.2), desc=f"NST-MLC student {it + 1}")
    return _mlc_to_phrases(_mlc_predict(teacher, x[rows], device), rows, gold.shape)
