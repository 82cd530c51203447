"""Spherical k-means: k-means on the unit sphere with cosine similarity (thesis, Sec. 7.1).

Points and centroids are unit vectors; a point joins the centroid of largest cosine similarity and
a centroid is the normalised sum of its points. When these Lloyd steps settle, single-point moves
that still lower the objective ("first variation", Dhillon, Guan & Kogan 2002) are applied and
Lloyd resumes, so the result is a local optimum for both kinds of step. The objective is the within-cluster cosine
distance sum_i (1 - cos(x_i, c_{l_i})). Every step is one matrix product (n, d) x (d, k) and one
sparse (k, n) x (n, d) product: no loop over points.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .sparse import unit_rows

_RESHAPE = "Reshape your data with x.reshape(-1, 1) for one feature or x.reshape(1, -1) for one point"


def _check_points(x: np.ndarray, n_clusters: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"points must be a 2-D array (n, dim), got shape {x.shape}: {_RESHAPE}")
    if x.shape[1] == 0:
        raise ValueError(f"the {len(x)} points are zero-length vectors (dimension 0): nothing to cluster by "
                         f"(0 feature(s) (shape={x.shape}) while a minimum of 1 is required.)")
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise ValueError(f"point {row} holds NaN or infinite values")
    norms = np.linalg.norm(x, axis=1)
    if (norms == 0).any():
        raise ValueError(f"point {int(np.flatnonzero(norms == 0)[0])} is a zero vector: it has no direction to cluster by")
    if not 1 <= n_clusters <= len(x):
        raise ValueError(f"k = {n_clusters} clusters need 1 <= k <= the number of points ({len(x)})")
    return unit_rows(x)


def _init_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator, trials: int | None = None) -> np.ndarray:
    """Greedy k-means++ seeding with cosine distance (Arthur & Vassilvitskii; the greedy variant
    scikit-learn uses): each step draws ``trials`` (default 2 + ln k) candidates with probability
    proportional to their distance 1 - cos to the nearest centre so far and keeps the one that
    lowers the total distance most (``trials=1``: plain k-means++)."""
    n = len(x)
    trials = 2 + int(np.log(k)) if trials is None else trials
    centres = np.empty((k, x.shape[1]), dtype=np.float32)
    centres[0] = x[rng.integers(n)]
    best = np.clip(1.0 - x @ centres[0], 0.0, None)
    for j in range(1, k):
        weights = best.astype(np.float64)
        total = weights.sum()
        if total <= 0:
            candidates = rng.integers(n, size=trials)
        else:
            cumulative = np.cumsum(weights)
            candidates = np.minimum(np.searchsorted(cumulative, rng.random(trials) * cumulative[-1]), n - 1)
        distances = np.minimum(best[:, None], np.clip(1.0 - x @ x[candidates].T, 0.0, None))  # (n, trials)
        pick = int(np.argmin(distances.sum(axis=0)))
        centres[j] = x[candidates[pick]]
        best = distances[:, pick]
    return centres


def _cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, dim) float64 sums S_j of each cluster's points, by one sparse (k, n) x (n, dim) product."""
    members = sp.csr_matrix((np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    return np.asarray(members @ x, dtype=np.float64)


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, dim) normalised sums of each cluster's points, and (k,) cluster sizes."""
    sums = _cluster_sums(x, labels, k).astype(np.float32)
    return unit_rows(sums), np.bincount(labels, minlength=k)


_DEPRECATED = "deprecated"


def _generator(random_state) -> np.random.Generator:
    """A numpy Generator from ``random_state``: an int or None (``np.random.default_rng``), a
    Generator (used as is), or a legacy ``RandomState`` (one draw seeds a new Generator)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    raise ValueError(f"random_state must be an int, None, a numpy Generator or RandomState, got {random_state!r}")


def _as_points(x) -> np.ndarray:
    """x as a dense numeric array (shape checked later); sparse, complex or non-numeric input raises."""
    if sp.issparse(x):
        raise TypeError("SphericalKMeans needs dense input: a sparse matrix was passed; use x.toarray()")
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        try:
            x = x.astype(np.float64)
        except (TypeError, ValueError) as error:
            kind = TypeError if isinstance(error, TypeError) else ValueError
            raise kind(f"points must be numbers, got an array of dtype {x.dtype}: {error}") from error
    if np.iscomplexobj(x):
        raise ValueError("points must be real numbers: Complex data not supported")
    return x


class SphericalKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """Spherical k-means with k-means++ seeding and ``n_init`` restarts (the best objective wins),
    a scikit-learn estimator (``get_params``/``set_params``, ``clone``, pipelines).

    Parameters (keyword-only, stored unchanged): ``n_clusters``; ``n_init`` restarts;
    ``max_iter`` Lloyd iterations per run; ``tol`` (stop when the objective drops by at most
    ``tol * n``); ``refine_rounds``: at most this many rounds of first-variation moves after
    Lloyd settles (0: plain spherical k-means); ``init_trials``: candidates per k-means++ seeding
    step (None: the greedy 2 + ln k; 1: plain k-means++, faster for large k); ``random_state``: int, None, or a numpy
    Generator/RandomState (the same int gives the same result); ``progress``: a progress bar over
    the restarts. ``seed`` is the deprecated name of ``random_state`` (a DeprecationWarning; it
    will be removed in the next release).

    Fitted attributes: ``labels_`` (n,), ``cluster_centers_`` (k, dim) unit rows, ``objective_``
    (within-cluster cosine distance, lower is better), ``inertia_`` (the same number, under
    scikit-learn's name), ``n_iter_``, ``n_features_in_``.

    ``predict`` gives the nearest centre (largest cosine), ``transform`` the cosine distances
    1 - cos to every centre (n, k), and ``score`` minus the cosine objective of x against the
    fitted centres (higher is better, as in ``sklearn.cluster.KMeans.score``).
    """

    def __init__(
        self,
        *,
        n_clusters: int = 8,
        n_init: int = 4,
        max_iter: int = 100,
        tol: float = 1e-4,
        refine_rounds: int = 10,
        init_trials: int | None = None,
        random_state=0,
        progress: bool = False,
        seed=_DEPRECATED,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.refine_rounds = refine_rounds
        self.init_trials = init_trials
        self.random_state = random_state
        self.progress = progress
        self.seed = seed

    def _random_state(self):
        if isinstance(self.seed, str) and self.seed == _DEPRECATED:
            return self.random_state
        warnings.warn(
            "SphericalKMeans(seed=...) is deprecated and will be removed in the next release: use random_state=... "
            "(seed, when given, is used in place of random_state)",
            DeprecationWarning, stacklevel=3,
        )
        return self.seed

    def _check_params(self) -> None:
        for name in ("n_clusters", "n_init", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.refine_rounds, bool) or not isinstance(self.refine_rounds, (numbers.Integral, np.integer)) or self.refine_rounds < 0:
            raise ValueError(f"refine_rounds must be a non-negative integer, got {self.refine_rounds!r}")
        if self.init_trials is not None and (isinstance(self.init_trials, bool) or not isinstance(self.init_trials, (numbers.Integral, np.integer))
                                             or self.init_trials < 1):
            raise ValueError(f"init_trials must be None or a positive integer, got {self.init_trials!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")

    def fit(self, X, y=None) -> SphericalKMeans:
        """X: (n, dim) vectors (normalised here); zero rows or NaN raise ValueError naming the row.
        y is ignored. Returns self."""
        self._check_params()
        rng = _generator(self._random_state())
        x = _check_points(_as_points(X), self.n_clusters)
        best = None
        for _ in tqdm(range(self.n_init), desc=f"spherical k-means, k={self.n_clusters}", disable=not self.progress):
            run = self._single_run(x, rng)
            if best is None or run[2] < best[2]:
                best = run
        self.labels_, self.cluster_centers_, self.objective_, self.n_iter_ = best
        self.inertia_ = self.objective_
        self.n_features_in_ = x.shape[1]
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit on X and return the (n,) labels of its rows (``labels_``)."""
        return self.fit(X).labels_

    def _unit_input(self, X) -> np.ndarray:
        """X checked against the fitted model and scaled to unit rows (zero rows stay zero)."""
        check_is_fitted(self, ("cluster_centers_", "labels_"))
        x = np.asarray(_as_points(X), dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"points must be a 2-D array (n, dim), got shape {x.shape}: {_RESHAPE}")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but SphericalKMeans is expecting {self.n_features_in_} features as input")
        if not np.isfinite(x).all():
            row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
            raise ValueError(f"point {row} holds NaN or infinite values")
        return unit_rows(x)

    def predict(self, X) -> np.ndarray:
        """(n,) index of the nearest centre (largest cosine) of each row of X."""
        return np.argmax(self._unit_input(X) @ self.cluster_centers_.T, axis=1)

    def transform(self, X) -> np.ndarray:
        """(n, k) cosine distances 1 - cos(x_i, c_j) from each row of X to each centre."""
        return 1.0 - self._unit_input(X) @ self.cluster_centers_.T

    def score(self, X, y=None) -> float:
        """Minus the within-cluster cosine distance of X's rows to their nearest fitted centres."""
        sims = self._unit_input(X) @ self.cluster_centers_.T
        return -float(len(sims) - sims.max(axis=1).sum(dtype=np.float64))

    def _single_run(self, x: np.ndarray, rng: np.random.Generator):
        """Seeding, Lloyd iterations, then rounds of first-variation moves (each followed by Lloyd
        again) until no single move lowers the objective."""
        k = self.n_clusters
        labels, iterations = self._lloyd(x, _init_plus_plus(x, k, rng, self.init_trials))
        for _ in range(self.refine_rounds):
            labels, moved = _first_variation(x, labels, k)
            if not moved:
                break
            labels, more = self._lloyd(x, _centroids(x, labels, k)[0], labels)
            iterations += more
        centres, _ = _centroids(x, labels, k)
        return labels, centres, _objective(x, labels, centres), iterations

    def _lloyd(self, x: np.ndarray, centres: np.ndarray, labels: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Assign to the nearest centre, recompute centres, until labels settle; returns labels
        and the number of iterations. Empty clusters are reseeded with the farthest points."""
        k = len(centres)
        labels = np.full(len(x), -1) if labels is None else labels
        previous = np.inf
        iteration = 0
        for iteration in range(1, self.max_iter + 1):
            sims = x @ centres.T
            new_labels = np.argmax(sims, axis=1)
            nearest = sims[np.arange(len(x)), new_labels]
            objective = float(len(x) - nearest.sum(dtype=np.float64))
            if np.array_equal(new_labels, labels) or previous - objective <= self.tol * len(x):
                return new_labels, iteration
            labels, previous = new_labels, objective
            centres, sizes = _centroids(x, labels, k)
            empty = np.flatnonzero(sizes == 0)
            if len(empty):
                far = np.argsort(nearest)[: len(empty)]
                centres[empty] = x[far]
                labels[far] = empty
        return labels, iteration


def _sum_norms(x: np.ndarray, labels: np.ndarray, k: int) -> float:
    """sum_j |S_j|, S_j the sum of cluster j's points (the objective is n minus this)."""
    return float(np.linalg.norm(_cluster_sums(x, labels, k), axis=1).sum())


def _first_variation(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, bool]:
    """One round of single-point moves that lower the objective (the "first variation" of Dhillon,
    Guan & Kogan 2002). With S_j the sum of cluster j's points, the objective is n - sum_j |S_j|,
    so moving x from a to b gains |S_a - x| - |S_a| + |S_b + x| - |S_b|; all gains come from one
    (n, k) product. All improving moves are tried at once and kept if the objective drops;
    otherwise they are applied best first, at most one per cluster, so that each applied gain is
    exact. Returns the new labels and whether anything moved."""
    sums = _cluster_sums(x, labels, k)
    norms = np.linalg.norm(sums, axis=1)
    sizes = np.bincount(labels, minlength=k)
    dots = (x @ sums.T.astype(np.float32)).astype(np.float64)  # (n, k): x_i . S_j
    rows = np.arange(len(x))
    own = dots[rows, labels]
    leave = np.sqrt(np.maximum(norms[labels] ** 2 - 2 * own + 1.0, 0.0)) - norms[labels]
    gain = np.sqrt(np.maximum(norms[None, :] ** 2 + 2 * dots + 1.0, 0.0)) - norms[None, :] + leave[:, None]
    gain[rows, labels] = -np.inf
    gain[sizes[labels] <= 1] = -np.inf  # never empty a cluster
    target = np.argmax(gain, axis=1)
    best = gain[rows, target]
    candidates = np.flatnonzero(best > 1e-7)
    if not len(candidates):
        return labels, False
    bold = labels.copy()  # every improving move at once: gains interact, so keep it only if it helps
    bold[candidates] = target[candidates]
    if (np.bincount(bold, minlength=k) > 0).all() and _sum_norms(x, bold, k) > norms.sum() + 1e-7:
        return bold, True
    labels = labels.copy()
    used = np.zeros(k, dtype=bool)
    for i in candidates[np.argsort(-best[candidates], kind="stable")]:
        a, b = labels[i], target[i]
        if not used[a] and not used[b]:
            labels[i] = b
            used[a] = used[b] = True
    return labels, True


def cosine_objective(x: np.ndarray, labels: np.ndarray) -> float:
    """Within-cluster cosine distance of any labelling: sum_i 1 - cos(x_i, c_{l_i}), c the
    normalised sum of the cluster's points (the best centre for that labelling)."""
    x = unit_rows(np.asarray(x, dtype=np.float32))
    labels = np.unique(np.asarray(labels), return_inverse=True)[1]
    centres, _ = _centroids(x, labels, int(labels.max()) + 1)
    return _objective(x, labels, centres)


def _objective(x: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    """sum_i 1 - cos(x_i, centre of its cluster), for unit rows and unit centres."""
    return float(len(x) - np.einsum("ij,ij->i", x, centres[labels]).sum(dtype=np.float64))
