"""The linear peers a researcher compares GUDN with: TF-IDF features, PECOS's XR-Linear and
napkinXC's probabilistic label tree (PLT). Both learn from sparse TF-IDF vectors of the texts.

``LinearXMC(method="xr-linear" | "plt").fit(texts, label_sets)`` then ``predict(texts, top_k)``
gives each text's labels, best first, with scores, as :meth:`XMCModel.predict` does, so that
``labkit xmc`` writes every method's output the same way.

libpecos 1.2.8 declares numpy < 2 and scipy < 1.14; its compiled core works with today's, but two
of its Python helpers do not (``scipy.sparse.sputils`` lost ``get_index_dtype`` and ``upcast``;
``np.array(copy=False)`` now refuses to copy). :func:`import_pecos` supplies those two helpers,
with the same behaviour, before PECOS is imported; the kit installs libpecos with ``--no-deps``.
"""

from __future__ import annotations

import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import scipy.sparse as sp

from ..data.vocab import Vocabulary
from ..text.language import detect_language
from ..text.tokenize import tokenize

PEER_METHODS = ("xr-linear", "plt")
PECOS_PIN = "libpecos==1.2.8"


def import_pecos():
    """PECOS's ``XLinearModel``, ``Indexer`` and ``LabelEmbeddingFactory``, with the numpy 2 /
    scipy 1.14 fixes above applied once (they touch only PECOS's own helper and scipy's deprecated
    alias module, which PECOS alone still reads)."""
    try:
        import pecos.utils.smat_util as smat_util
    except ImportError as error:
        raise ImportError(f"XR-Linear needs PECOS: pip install --no-deps {PECOS_PIN} (see README, 'XMC peers')") from error
    import scipy.sparse._sputils as sputils
    import scipy.sparse.sputils as old_sputils

    for name in ("get_index_dtype", "upcast"):
        if name not in vars(old_sputils):
            setattr(old_sputils, name, getattr(sputils, name))
    if not getattr(smat_util.cs_matrix, "labkit_fixed", False):
        smat_util.cs_matrix = _cs_matrix
    from pecos.xmc import Indexer, LabelEmbeddingFactory
    from pecos.xmc.xlinear.model import XLinearModel

    return XLinearModel, Indexer, LabelEmbeddingFactory


def _cs_matrix(arg1, mat_type, shape=None, dtype=None, copy=False, check_contents=False):
    """PECOS's ``smat_util.cs_matrix`` (a CSR/CSC matrix whose indices and indptr may have
    different integer types) with numpy 2's copy rule: copy only when asked or when a type
    changes, as ``copy=False`` meant in numpy 1."""
    from scipy.sparse._sputils import get_index_dtype

    data, indices, indptr = arg1
    if shape is None:
        return mat_type((data, indices, indptr), dtype=dtype, copy=copy)
    as_array = np.array if copy else np.asarray
    out = mat_type(shape, dtype=dtype)
    out.indices = as_array(indices, dtype=get_index_dtype(indices, check_contents=check_contents))
    out.indptr = as_array(indptr, dtype=get_index_dtype(indptr, check_contents=check_contents))
    out.data = as_array(data, dtype=dtype)
    return out


_cs_matrix.labkit_fixed = True


@dataclass
class TfidfFeatures:
    """Sparse TF-IDF vectors of texts (scikit-learn's ``TfidfVectorizer`` on the kit's tokens:
    English words, or jieba's Chinese words), 1- to ``max_ngram``-grams seen in at least
    ``min_df`` training texts, sublinear term frequency, rows L2-normalised.
    lang: ``"en"``, ``"zh"`` or ``"auto"`` (detected from the training texts)."""

    lang: str = "auto"
    max_ngram: int = 2
    min_df: int = 2
    max_features: int | None = None
    vectorizer: object = field(default=None, repr=False)

    def fit(self, texts: Sequence[str]) -> TfidfFeatures:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if self.lang == "auto":
            self.lang = detect_language(list(texts)[:500])
        self.vectorizer = TfidfVectorizer(tokenizer=partial(tokenize, lang=self.lang), lowercase=False, token_pattern=None,
                                          ngram_range=(1, self.max_ngram), min_df=min(self.min_df, len(texts)),
                                          max_features=self.max_features, sublinear_tf=True, dtype=np.float32)
        self.vectorizer.fit(texts)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(n_texts, n_features) float32 CSR."""
        if self.vectorizer is None:
            raise RuntimeError("TfidfFeatures.transform before fit")
        return sp.csr_matrix(self.vectorizer.transform(texts), dtype=np.float32)

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)


def top_k_rows(scores: sp.csr_matrix | np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values), each (n_rows, k): every row's k best columns, best first (ties by
    column), -1 / -inf where a sparse row has fewer than k entries."""
    n, width = scores.shape
    k = min(k, width)
    if not sp.issparse(scores):
        dense = np.asarray(scores, dtype=np.float64)
        order = np.argsort(-dense, axis=1, kind="stable")[:, :k]
        values = np.take_along_axis(dense, order, axis=1)
        return np.where(np.isfinite(values), order, -1), values
    csr = sp.csr_matrix(scores)  # only the stored entries are sorted: no (n_rows, n_labels) array
    rows = np.repeat(np.arange(n), np.diff(csr.indptr))
    order = np.lexsort((csr.indices, -csr.data, rows))  # by row, then best score, then column
    rank = np.arange(len(order)) - csr.indptr[rows[order]]
    keep = order[rank < k]
    idx = np.full((n, k), -1, dtype=np.int64)
    values = np.full((n, k), -np.inf)
    idx[rows[keep], rank[rank < k]] = csr.indices[keep]
    values[rows[keep], rank[rank < k]] = csr.data[keep]
    return idx, values


@dataclass
class LinearXMC:
    """TF-IDF features and a linear XMC peer, an estimator: ``fit(texts, label_sets)``, then
    ``scores``/``predict``. method: ``xr-linear`` (PECOS: a PIFA label tree of ``branching``
    children per node, leaves of at most ``max_leaf_size`` labels, one L2-loss SVM per node,
    beam search of width ``beam_size``) or ``plt`` (napkinXC's probabilistic label tree).
    ``features`` may be given already fitted (the hybrid joins them with GUDN's)."""

    method: str = "xr-linear"
    features: TfidfFeatures = field(default_factory=TfidfFeatures)
    branching: int = 16
    max_leaf_size: int = 100
    beam_size: int = 10
    seed: int = 0
    labels: Vocabulary | None = field(default=None, repr=False)
    fit_seconds: float = 0.0
    model: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.method not in PEER_METHODS:
            raise ValueError(f"unknown method {self.method!r}: choose from {PEER_METHODS}")

    def fit(self, texts: Sequence[str], label_sets: Sequence[Sequence[str]], *, x: sp.csr_matrix | None = None) -> LinearXMC:
        """Fit on texts (or on their feature rows ``x``, (n_texts, n_features)) and label sets."""
        if len(texts) != len(label_sets) or not len(texts):
            raise ValueError(f"need as many label sets as texts (and at least one): {len(texts)} texts, {len(label_sets)} label sets")
        clock = time.perf_counter()
        self.labels = Vocabulary(dict.fromkeys(sorted({label for labels in label_sets for label in labels})))
        if not len(self.labels):
            raise ValueError("the training items have no labels")
        if x is None:
            x = self.features.fit_transform(texts)
        y = sp.csr_matrix(self.labels.label_matrix(label_sets), dtype=np.float32)
        if self.method == "xr-linear":
            XLinearModel, Indexer, LabelEmbeddingFactory = import_pecos()
            label_features = LabelEmbeddingFactory.create(y, x, method="pifa")
            tree = Indexer.gen(label_features, nr_splits=self.branching, max_leaf_size=self.max_leaf_size, seed=self.seed)
            self.model = XLinearModel.train(x, y, C=tree)
        else:
            from napkinxc.models import PLT

            folder = tempfile.mkdtemp(prefix="labkit-plt-")  # napkinXC keeps its model in a folder: the kit's own, removed with it
            weakref.finalize(self, _remove_folder, folder)
            self.model = PLT(folder, seed=self.seed, threads=1, verbose=False)
            _seed_c_rand(self.seed)  # liblinear, inside napkinXC, shuffles with the C library's rand()
            self.model.fit(x, [row.indices.tolist() for row in y])
        self.fit_seconds = time.perf_counter() - clock
        return self

    def scores(self, texts: Sequence[str] | None = None, *, x: sp.csr_matrix | None = None, top_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(label indices, scores), each (n_texts, top_k), best first; -1 where fewer were found."""
        if self.model is None:
            raise RuntimeError("LinearXMC.scores before fit")
        if x is None:
            x = self.features.transform(texts)
        if x.shape[0] == 0:
            return np.zeros((0, top_k), dtype=np.int64), np.zeros((0, top_k))
        if self.method == "xr-linear":
            beam = max(self.beam_size, -(-top_k // max(1, self.max_leaf_size)))
            return top_k_rows(self.model.predict(x, beam_size=beam, only_topk=top_k), top_k)
        ranked = self.model.predict_proba(x, top_k=top_k)
        idx = np.full((len(ranked), top_k), -1, dtype=np.int64)
        val = np.full((len(ranked), top_k), -np.inf)
        for i, row in enumerate(ranked):  # napkinXC returns Python lists: one row per text
            if row:
                labels, probs = zip(*row)
                idx[i, : len(row)], val[i, : len(row)] = labels, probs
        return idx, val

    def predict(self, texts: Sequence[str], *, top_k: int = 10) -> list[tuple[list[str], list[float]]]:
        """Each text's ``top_k`` labels, best first, with their scores."""
        idx, val = self.scores(texts, top_k=min(top_k, len(self.labels)))
        return ranked_lists(idx, val, self.labels)


def ranked_lists(idx: np.ndarray, val: np.ndarray, labels: Vocabulary) -> list[tuple[list[str], list[float]]]:
    """(n, k) label indices (-1: none) and scores -> [(labels, scores)] per row."""
    return [([labels.tokens[j] for j in row if j >= 0], [float(v) for j, v in zip(row, vals) if j >= 0]) for row, vals in zip(idx, val)]


def _seed_c_rand(seed: int) -> None:
    """Seed the C library's ``rand()``: napkinXC seeds its own generator, but the liblinear solver
    it trains each node with draws from ``rand()``, so a second fit in one process differed from
    the first without this."""
    import ctypes

    ctypes.CDLL(None).srand(ctypes.c_uint(seed))


def _remove_folder(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
