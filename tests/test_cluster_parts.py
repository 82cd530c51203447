"""Tag clusters: spherical k-means, silhouette, NPMI, co-occurrence merges, trees, filters,
projections, checked on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans

from labkit.tagclusters import (
    SphericalKMeans,
    cluster_membership,
    cooccurrence,
    cosine_distance,
    cosine_objective,
    frequent_tags,
    items_by_clusters,
    k_sweep,
    keep_core_clusters,
    m_correlated,
    merge_m_correlated,
    normalized_cooccurrence,
    npmi,
    npmi_clusters,
    project,
    remove_singletons,
    silhouette,
    silhouette_per_point,
    tree_clusters,
)


def directions(seed: int = 0, n: int = 60, dim: int = 8, groups: int = 3, spread: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around ``groups`` orthogonal directions, with random lengths."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(groups), n // groups)
    x = np.eye(dim)[truth] + spread * rng.normal(size=(len(truth), dim))
    return (x * rng.uniform(0.5, 3.0, size=(len(truth), 1))).astype(np.float32), truth


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


def test_spherical_kmeans_finds_directions_whatever_the_lengths():
    x, truth = directions()
    model = SphericalKMeans(n_clusters=3, random_state=0).fit(x)
    assert same_partition(model.labels_, truth)
    np.testing.assert_allclose(np.linalg.norm(model.cluster_centers_, axis=1), 1.0, atol=1e-5)
    assert model.objective_ == pytest.approx(cosine_objective(x, model.labels_), rel=1e-5)
    np.testing.assert_array_equal(model.predict(x * 7), model.labels_)


def test_spherical_kmeans_objective_by_hand():
    # two clusters of two unit vectors each at +-30 degrees around the axes: distance 1 - cos 30 each
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    x = np.array([[c, s], [c, -s], [s, c], [-s, c]])
    model = SphericalKMeans(n_clusters=2, random_state=1).fit(x)
    assert model.objective_ == pytest.approx(4 * (1 - c), abs=1e-5)


def test_spherical_kmeans_is_reproducible_and_beats_or_ties_sklearn():
    x, _ = directions(seed=3, n=300, dim=16, groups=6, spread=0.6)
    a = SphericalKMeans(n_clusters=6, n_init=4, random_state=5).fit(x)
    b = SphericalKMeans(n_clusters=6, n_init=4, random_state=5).fit(x)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    theirs = KMeans(n_clusters=6, n_init=4, random_state=5).fit(unit).labels_
    assert a.objective_ <= cosine_objective(unit, theirs) + 1e-6


@pytest.mark.parametrize(
    "points, k, message",
    [
        (np.ones((3, 2)), 4, "k = 4"),
        (np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), 2, "point 1 is a zero vector"),
        (np.array([[1.0, 0.0], [np.nan, 1.0]]), 1, "point 1 holds NaN"),
    ],
)
def test_spherical_kmeans_bad_input(points, k, message):
    with pytest.raises(ValueError, match=message):
        SphericalKMeans(n_clusters=k).fit(points)


def test_silhouette_by_hand():
    # points 0, 1 on a line and 5, 6: a(i) = 1, b(i) = 5 or 4 / 6 or 5 -> s = 1 - a / b
    pos = np.array([0.0, 1.0, 5.0, 6.0])
    d = np.abs(pos[:, None] - pos[None, :])
    labels = np.array([0, 0, 1, 1])
    b = np.array([5.5, 4.5, 4.5, 5.5])  # mean distance to the other cluster
    expected = 1 - 1 / b
    np.testing.assert_allclose(silhouette_per_point(d, labels, metric="precomputed"), expected)
    assert silhouette(d, labels, metric="precomputed") == pytest.approx(expected.mean())
    assert np.isnan(silhouette(d, np.zeros(4, dtype=int), metric="precomputed"))


def test_k_sweep_reports_within_and_silhouette():
    x, _ = directions(seed=1, n=90, groups=3)
    table, models = k_sweep(x, [2, 3, 6, 500], progress=False)
    assert list(table["k"]) == [2, 3, 6]  # 500 > n - 1 is skipped
    assert table["within"].is_monotonic_decreasing
    assert table.set_index("k")["silhouette"].idxmax() == 3
    assert set(models) == {2, 3, 6}


def matrix(rows: list[list[int]], n_tags: int) -> sp.csr_matrix:
    r = [i for i, tags in enumerate(rows) for _ in tags]
    c = [t for tags in rows for t in tags]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_tags))


def test_npmi_by_hand():
    # 4 items; a, b always together (P = 1/2); c never with a; d independent of a (P(a, d) = 1/4)
    y = matrix([[0, 1, 3], [0, 1], [2, 3], [2]], 4)
    m = npmi(y)
    assert m[0, 1] == pytest.approx(1.0)
    assert m[0, 2] == pytest.approx(-1.0)
    assert m[0, 3] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(np.diag(m), 1.0)
    np.testing.assert_allclose(m, m.T)
    # P(i) = 3/4, P(j) = 1/2, P(i, j) = 1/4 (tags 2 and 3 on items 2 and 0; tag 2 also on 3): by the formula
    y2 = matrix([[0, 1], [0], [0, 1], [1]], 2)
    p_i, p_j, p_ij = 3 / 4, 3 / 4, 2 / 4
    assert npmi(y2)[0, 1] == pytest.approx(np.log(p_i * p_j) / np.log(p_ij) - 1)


def test_normalized_cooccurrence_and_m_correlation_by_hand():
    # "metal" on 10 items, "heavy metal" on 6 of them and 0 more, "jazz" on 3 of the metal items + 3 others
    rows = [[0, 1]] * 6 + [[0]] * 1 + [[0, 2]] * 3 + [[2]] * 3
    y = matrix(rows, 3)
    n = cooccurrence(y)
    assert n[0, 0] == 10 and n[1, 1] == 6 and n[0, 1] == 6 and n[0, 2] == 3
    c = normalized_cooccurrence(n)
    assert c[0, 1] == pytest.approx(6 / np.sqrt(60))
    linked = m_correlated(n, 1.5)
    assert linked[0, 1] and linked[1, 0]  # 6 > min(10, 6) / 1.5 = 4
    assert not linked[0, 2]  # 3 > min(10, 6) / 1.5? min is 6 -> 4: no
    assert not linked.diagonal().any()
    labels, pairs = merge_m_correlated(y, np.array([0, 1, 2]), 1.5)
    assert labels[0] == labels[1] != labels[2]
    assert pairs == [(0, 1)]
    with pytest.raises(ValueError, match="at least 1"):
        m_correlated(n, 0.5)


def test_items_by_clusters():
    y = matrix([[0, 1], [2], []], 3)
    m = items_by_clusters(y, np.array([0, 0, -1]))
    np.testing.assert_array_equal(m.toarray(), [[1], [0], [0]])
    assert cluster_membership(np.array([1, -1, 0])).toarray().tolist() == [[0, 1], [0, 0], [1, 0]]


def test_npmi_clusters_two_blocks_and_a_singleton_removed():
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(200):
        block = rng.integers(2)
        tags = [t for t in range(block * 4, block * 4 + 4) if rng.random() < 0.7]
        rows.append([8] if rng.random() < 0.05 else tags)  # tag 8: alone on its items
    result = npmi_clusters(npmi(matrix(rows, 9)), range(2, 6))
    labels = result.labels
    assert len(set(labels[:4])) == 1 and len(set(labels[4:8])) == 1 and labels[0] != labels[4]
    assert labels[8] == -1
    assert {"k", "silhouette", "singletons"} <= set(result.sweep.columns)


def test_tree_clusters_on_cosine_keep_near_duplicates_together():
    x, truth = directions(seed=2, n=45, groups=3, spread=0.05)
    result = tree_clusters(cosine_distance(x), range(2, 8))
    assert result.k == 3 and same_partition(result.labels, truth)
    assert np.bincount(result.labels).tolist() == sorted(np.bincount(result.labels).tolist(), reverse=True)


def test_remove_singletons_and_filters():
    np.testing.assert_array_equal(remove_singletons(np.array([3, 3, 1, 2, 2, 2])), [1, 1, -1, 0, 0, 0])
    np.testing.assert_array_equal(frequent_tags(np.array([5, 100, 20, 100, 3]), 10), [1, 3, 2])
    kept = keep_core_clusters(np.array([0, 0, 1, 1, 2]), ["rock", "metal", "happy", "sad", "jazz"], {"rock", "jazz"})
    np.testing.assert_array_equal(kept, [0, 0, -1, -1, 2])


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_projections_are_tables(method):
    x, truth = directions(seed=4, n=60, groups=3)
    table = project(x, method=method, dim=2, seed=0, labels=[f"t{i}" for i in range(len(x))])
    assert list(table.columns) == ["label", "x", "y"] and len(table) == len(x)
    assert np.isfinite(table[["x", "y"]].to_numpy()).all()
    if method != "tsne":
        again = project(x, method=method, dim=2, seed=0)
        np.testing.assert_allclose(again[["x", "y"]].to_numpy(), table[["x", "y"]].to_numpy(), rtol=1e-4, atol=1e-4)
    three = project(x, method="pca", dim=3)
    assert list(three.columns) == ["x", "y", "z"]
    with pytest.raises(ValueError, match="too few"):
        project(x[:2], method="pca", dim=2)


def test_first_variation_never_raises_the_objective_and_refining_helps():
    from labkit.kmeans import _first_variation

    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 12)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = rng.integers(0, 10, size=len(x))
    for _ in range(5):
        before = cosine_objective(x, labels)
        labels, moved = _first_variation(x, labels, 10)
        assert cosine_objective(x, labels) <= before + 1e-4
        assert np.bincount(labels, minlength=10).min() > 0
    plain = SphericalKMeans(n_clusters=10, n_init=2, refine_rounds=0, random_state=3).fit(x)
    refined = SphericalKMeans(n_clusters=10, n_init=2, random_state=3).fit(x)
    assert refined.objective_ <= plain.objective_ + 1e-6


def test_spherical_kmeans_is_a_sklearn_estimator():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    model = SphericalKMeans(n_clusters=3, random_state=1)
    params = model.get_params()
    assert params == {"n_clusters": 3, "n_init": 4, "max_iter": 100, "tol": 1e-4, "refine_rounds": 10, "init_trials": None,
                      "random_state": 1, "progress": False, "seed": "deprecated"}
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    assert model.set_params(n_init=2) is model and model.n_init == 2 and copy.n_init == 4
    with pytest.raises(TypeError):
        SphericalKMeans(3)  # options are keyword-only
    x, truth = directions(seed=6)
    for method in ("predict", "transform", "score"):
        with pytest.raises(NotFittedError):
            getattr(copy, method)(x)
    assert copy.fit(x) is copy
    assert not hasattr(clone(copy), "labels_")  # clone copies the parameters, not the fit
    labels = SphericalKMeans(n_clusters=3, random_state=1).fit_predict(x)
    np.testing.assert_array_equal(labels, copy.labels_)
    assert same_partition(labels, truth) and copy.n_features_in_ == x.shape[1]


def test_spherical_kmeans_transform_score_and_predict_agree_by_hand():
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    x = np.array([[c, s], [c, -s], [s, c], [-s, c]])
    model = SphericalKMeans(n_clusters=2, random_state=1).fit(x)
    order = np.argsort(model.cluster_centers_[:, 0])[::-1]  # the centre on the x axis first
    np.testing.assert_allclose(model.cluster_centers_[order], [[1, 0], [0, 1]], atol=1e-6)
    distances = model.transform(x * 5)[:, order]
    np.testing.assert_allclose(distances, [[1 - c, 1 - s], [1 - c, 1 + s], [1 - s, 1 - c], [1 + s, 1 - c]], atol=1e-6)
    np.testing.assert_array_equal(model.predict(x), order[[0, 0, 1, 1]])
    assert model.score(x) == pytest.approx(-4 * (1 - c), abs=1e-5) == pytest.approx(-model.objective_, abs=1e-5)
    assert model.inertia_ == model.objective_
    with pytest.raises(ValueError, match="X has 3 features, but SphericalKMeans is expecting 2"):
        model.predict(np.ones((2, 3)))


def test_spherical_kmeans_random_state_and_deprecated_seed():
    x, _ = directions(seed=3, n=300, dim=16, groups=6, spread=0.6)
    a = SphericalKMeans(n_clusters=6, n_init=2, random_state=5).fit(x)
    with pytest.warns(DeprecationWarning, match="random_state"):
        b = SphericalKMeans(n_clusters=6, n_init=2, seed=5).fit(x)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    c = SphericalKMeans(n_clusters=6, n_init=2, random_state=np.random.default_rng(5)).fit(x)
    np.testing.assert_array_equal(a.labels_, c.labels_)  # an int seeds np.random.default_rng
    with pytest.raises(ValueError, match="random_state"):
        SphericalKMeans(n_clusters=2, random_state="five").fit(x)
    with pytest.raises(ValueError, match="n_init must be a positive integer"):
        SphericalKMeans(n_clusters=2, n_init=0).fit(x)


def test_spherical_kmeans_in_a_pipeline_and_grid_search():
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    x, truth = directions(seed=8, n=90, groups=3)
    pipe = make_pipeline(Normalizer(), SphericalKMeans(n_clusters=3, random_state=0))
    labels = pipe.fit_predict(x)
    assert same_partition(labels, truth)
    np.testing.assert_array_equal(pipe.predict(x), labels)
    assert pipe.transform(x).shape == (len(x), 3)
    np.testing.assert_array_equal(pipe[-1].labels_, SphericalKMeans(n_clusters=3, random_state=0).fit(x).labels_)
    # the held-out score (minus the cosine objective) climbs steeply up to the 3 true directions, then flattens
    search = GridSearchCV(pipe, {"sphericalkmeans__n_clusters": [1, 2, 3, 4]}, cv=KFold(3, shuffle=True, random_state=0)).fit(x)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.diff(scores) > 0)
    assert scores[2] - scores[1] > 20 * (scores[3] - scores[2])


def test_spherical_kmeans_passes_sklearn_estimator_checks():
    import inspect

    from sklearn.utils.estimator_checks import check_estimator

    if "expected_failed_checks" not in inspect.signature(check_estimator).parameters:
        pytest.skip("scikit-learn < 1.6 has no expected_failed_checks")
    # zero rows (which integer test data holds) have no direction: SphericalKMeans rejects them on purpose
    check_estimator(SphericalKMeans(n_clusters=2, n_init=2),
                    expected_failed_checks={"check_estimators_dtypes": "zero rows are rejected: they have no direction"})
