"""GUDN with the linear peers (beyond the paper): two ways to use what the fine-tuned encoder
learned beside the sparse TF-IDF features that XR-Linear ranks so well with.

* ``gudn-join`` (XR-Transformer's recipe): each text's GUDN features E_t, L2-normalised and scaled
  by ``weight``, are appended to its L2-normalised TF-IDF vector, and XR-Linear is trained on the
  joined rows: x = [tfidf / ||tfidf||, weight * E_t / ||E_t||].
* ``gudn-rerank``: XR-Linear's ``shortlist`` best labels of each text are re-scored and sorted
  again (labels outside the shortlist are not ranked), by one of :data:`FUSIONS` with p_GUDN
  GUDN's sigmoid probability and s_linear XR-Linear's score (in (0, 1]):
  ``score`` (1 - weight) * s_linear + weight * p_GUDN; ``product`` s_linear^(1 - weight) *
  p_GUDN^weight (kept as its logarithm); ``rank`` reciprocal-rank fusion (Cormack et al., 2009)
  (1 - weight) / (60 + r_linear) + weight / (60 + r_GUDN), with r the 1-based rank among the
  linear shortlist and among all of GUDN's labels.

Both train GUDN once (:func:`train_xmc`) and the linear model on the same training texts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from .peers import LinearXMC, TfidfFeatures, ranked_lists
from .training import XMCConfig, XMCModel, train_xmc

HYBRID_METHODS = ("gudn-join", "gudn-rerank")
# chosen on MusicCaps' validation fifth after 5 epochs (bench/results/xmc_peers_validation_5epochs_hybrids.md):
# the row reaching XR-Linear's P@1 and P@5, then the highest P@1 + P@5
DEFAULT_WEIGHTS = {"gudn-join": 0.25, "gudn-rerank": 0.05}
FUSIONS = ("score", "product", "rank")
DEFAULT_FUSION = "product"
RANK_OFFSET = 60  # reciprocal-rank fusion's constant k in 1 / (k + rank)
LOG_FLOOR = 1e-12  # probabilities below it count as it in ``product`` (GUDN gives 0 outside its best clusters)


def join_features(tfidf: sp.csr_matrix, dense: np.ndarray, weight: float) -> sp.csr_matrix:
    """(n, f) sparse and (n, d) dense rows -> (n, f + d) float32 CSR rows
    [tfidf_i / ||tfidf_i||, weight * dense_i / ||dense_i||] (a zero row stays zero)."""
    if tfidf.shape[0] != len(dense):
        raise ValueError(f"{tfidf.shape[0]} sparse rows for {len(dense)} dense rows")
    left = normalize(sp.csr_matrix(tfidf, dtype=np.float32), norm="l2", axis=1)
    right = weight * normalize(np.asarray(dense, dtype=np.float32), norm="l2", axis=1)
    return sp.hstack([left, sp.csr_matrix(right)], format="csr", dtype=np.float32)


def rerank(idx: np.ndarray, linear: np.ndarray, probs: np.ndarray, weight: float, top_k: int,
           fusion: str = DEFAULT_FUSION) -> tuple[np.ndarray, np.ndarray]:
    """Re-score a shortlist. idx, linear: (n, s) label indices (-1: none) and linear scores, best
    first; probs: (n, n_labels) GUDN probabilities; fusion: one of :data:`FUSIONS` (module doc).
    Returns (n, top_k) indices and fused scores, best first (ties: the linear order)."""
    picked = np.take_along_axis(probs, np.clip(idx, 0, None), axis=1)
    if fusion == "score":
        fused = (1.0 - weight) * linear + weight * picked
    elif fusion == "product":
        fused = (1.0 - weight) * np.log(np.maximum(linear, LOG_FLOOR)) + weight * np.log(np.maximum(picked, LOG_FLOOR))
    elif fusion == "rank":
        gudn_rank = np.argsort(np.argsort(-probs, axis=1, kind="stable"), axis=1) + 1  # (n, n_labels) 1-based, by GUDN
        linear_rank = np.arange(1, idx.shape[1] + 1)[None, :]
        picked_rank = np.take_along_axis(gudn_rank, np.clip(idx, 0, None), axis=1)
        fused = (1.0 - weight) / (RANK_OFFSET + linear_rank) + weight / (RANK_OFFSET + picked_rank)
    else:
        raise ValueError(f"unknown fusion {fusion!r}: choose from {FUSIONS}")
    fused = np.where(idx >= 0, fused, -np.inf)
    order = np.argsort(-fused, axis=1, kind="stable")[:, :top_k]
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(fused, order, axis=1)


@dataclass
class HybridXMC:
    """GUDN joined with XR-Linear (``method`` one of :data:`HYBRID_METHODS`), an estimator:
    ``fit(texts, label_sets)`` then ``predict(texts, top_k)``. ``weight``: of GUDN's features
    (join) or probabilities (rerank); None: :data:`DEFAULT_WEIGHTS`, chosen with ``fusion``'s
    default on a validation fifth of MusicCaps' training part (``bench/xmc_peers.py --validation``).
    ``shortlist``: XR-Linear's labels re-scored per text (at least the ``top_k`` asked for)."""

    method: str = "gudn-join"
    config: XMCConfig = field(default_factory=XMCConfig)
    weight: float | None = None
    shortlist: int = 50
    fusion: str = DEFAULT_FUSION
    features: TfidfFeatures = field(default_factory=TfidfFeatures)
    gudn: XMCModel | None = field(default=None, repr=False)
    linear: LinearXMC | None = field(default=None, repr=False)
    fit_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in HYBRID_METHODS:
            raise ValueError(f"unknown method {self.method!r}: choose from {HYBRID_METHODS}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}: choose from {FUSIONS}")
        if self.weight is None:
            self.weight = DEFAULT_WEIGHTS[self.method]
        if not (self.weight >= 0 and (self.method == "gudn-join" or self.weight <= 1)):
            raise ValueError(f"weight must be in [0, 1] for gudn-rerank and at least 0 for gudn-join, got {self.weight}")

    @property
    def labels(self):
        return self.linear.labels

    def fit(self, texts: Sequence[str], label_sets: Sequence[Sequence[str]], *, gudn: XMCModel | None = None) -> HybridXMC:
        """Train GUDN (or take a trained one, ``gudn``, fitted on the same texts) and XR-Linear."""
        clock = time.perf_counter()
        self.gudn = gudn if gudn is not None else train_xmc(texts, label_sets, self.config)
        x = self.features.fit_transform(texts)
        if self.method == "gudn-join":
            x = join_features(x, self.gudn.features(texts), self.weight)
        self.linear = LinearXMC("xr-linear", features=self.features).fit(texts, label_sets, x=x)
        if list(self.linear.labels.tokens) != list(self.gudn.labels.tokens):
            raise ValueError("GUDN was trained on other label sets than these")
        self.fit_seconds = time.perf_counter() - clock
        return self

    def scores(self, texts: Sequence[str], *, top_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(label indices, scores), each (n_texts, top_k), best first; -1 where fewer were found."""
        if self.linear is None:
            raise RuntimeError("HybridXMC.scores before fit")
        top_k = min(top_k, len(self.labels))
        x = self.features.transform(texts)
        if self.method == "gudn-join":
            return self.linear.scores(x=join_features(x, self.gudn.features(texts), self.weight), top_k=top_k)
        idx, linear = self.linear.scores(x=x, top_k=max(top_k, self.shortlist))
        return rerank(idx, linear, self.gudn.scores(texts), self.weight, top_k, self.fusion)

    def predict(self, texts: Sequence[str], *, top_k: int = 10) -> list[tuple[list[str], list[float]]]:
        """Each text's ``top_k`` labels, best first, with their scores."""
        idx, val = self.scores(texts, top_k=top_k)
        return ranked_lists(idx, val, self.labels)
