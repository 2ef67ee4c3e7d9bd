"""precompute: the Gram path of a squared-loss batch fit (gram.hpp).

The path iterates on S = sum_i w_i z_i z_i^T, z_i = (x_i, 1, y_i), formed
once. Its results are checked against

- the streaming path (precompute=False) over 1,000 iterations: the same
  iterates to rounding (rtol 1e-9 on well-conditioned data; float32 ~1e-5),
  the same history and the same stopping decisions;
- the NumPy twin ``reference.fit(precompute=True)`` (S in NumPy);
- itself across thread counts (bitwise) and across dense, CSR and CSC X;
- the "auto" rule, observed through the bits: an "auto" fit equals the
  precompute=True fit bit for bit where the rule takes the Gram path, and
  the precompute=False fit where it does not.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

import descend
from descend import reference

from conftest import seed_of, textbook_problem

OPTIONS = [
    pytest.param({}, id="plain"),
    pytest.param(dict(fit_intercept=True), id="intercept"),
    pytest.param(dict(fit_intercept=True, weights=True, l2=0.1), id="weights-l2"),
    pytest.param(dict(fit_intercept=True, l1=0.02), id="l1"),
    pytest.param(dict(fit_intercept=True, learning_rate="auto"), id="auto-lr"),
    pytest.param(dict(fit_intercept=True, optimizer="nesterov", learning_rate=0.05), id="nesterov"),
    pytest.param(dict(fit_intercept=True, optimizer="adam", learning_rate=0.01), id="adam"),
    pytest.param(dict(learning_rate=descend.schedules.Exponential(0.1, gamma=0.999)), id="schedule"),
]
RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-5}


def _problem(n, d, *, seed, dtype=np.float64, order="C"):
    """Well-conditioned Gaussian X, y = X beta + 0.7 + noise, weights in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.7 + 0.3 * rng.standard_normal(n)
    w = rng.uniform(0.5, 1.5, n)
    return np.asarray(X.astype(dtype), order=order), y.astype(dtype), w.astype(dtype)


def _kwargs(options, w):
    kw = dict(options)
    if kw.pop("weights", False):
        kw["sample_weight"] = w
    kw.setdefault("learning_rate", 0.1)
    return kw


def _assert_same_fit(a, b, rtol):
    scale = max(np.abs(b.coef).max(), abs(b.intercept), 1e-300)
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(a.intercept, b.intercept, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=rtol)
    np.testing.assert_allclose(a.learning_rate, b.learning_rate, rtol=rtol)
    assert (a.n_iter, a.status) == (b.n_iter, b.status)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(400, 3), (1500, 21), (257, 40)])
def test_gram_path_equals_the_streaming_path(options, dtype, order, shape):
    X, y, w = _problem(*shape, seed=seed_of("stream", shape, order), dtype=dtype, order=order)
    kw = _kwargs(options, w)
    gram = descend.fit(X, y, precompute=True, max_iter=1000, tol=None, **kw)
    stream = descend.fit(X, y, precompute=False, max_iter=1000, tol=None, **kw)
    _assert_same_fit(gram, stream, RTOL[np.dtype(dtype)])


@pytest.mark.parametrize("options", OPTIONS)
def test_gram_path_equals_its_numpy_twin(options):
    X, y, w = _problem(300, 7, seed=seed_of("twin", options))
    kw = _kwargs(options, w)
    got = descend.fit(X, y, precompute=True, max_iter=200, tol=None, **kw)
    want = reference.fit(X, y, precompute=True, max_iter=200, tol=None, **kw)
    # auto's Lanczos estimate of lambda_max vs the twin's exact eigenvalue.
    rtol = 1e-9 if kw["learning_rate"] == "auto" else 1e-12
    _assert_same_fit(got, want, rtol)


@pytest.mark.parametrize("d", [6, 7, 8, 15, 16, 17, 64])
@pytest.mark.parametrize("dtype, order", [(np.float64, "C"), (np.float32, "F")])
@pytest.mark.parametrize("weighted", [True, False])
def test_every_entry_of_s_at_the_tile_edges(d, dtype, order, weighted):
    """S's tiles are 8 columns wide: the columns of the 1 and y lie inside
    the last tile of the features (d % 8 <= 5), astride its edge (d % 8 ==
    6 or 7) or past it (d % 8 == 0), where tail tiles add them (and a
    float64 C-order X without weights is read in place). With an
    intercept, against the twin each way (the loss history reads every
    entry of S: u^T S u)."""
    X, y, w = _problem(700, d, seed=seed_of("edges", d, order), dtype=dtype, order=order)
    kw = dict(fit_intercept=True, sample_weight=w if weighted else None, learning_rate=0.02, max_iter=60, tol=None)
    got = descend.fit(X, y, precompute=True, **kw)
    want = reference.fit(X, y, precompute=True, **kw)
    _assert_same_fit(got, want, 1e-12 if dtype == np.float64 else RTOL[np.dtype(dtype)])


def test_numpy_twin_statistics_give_the_loss_grad_of_the_rows():
    X, y, w = _problem(200, 5, seed=seed_of("stats"))
    coef = np.random.default_rng(1).standard_normal(5)
    S = reference.gram_statistics(X, y, w)
    got = reference.gram_loss_grad(S, len(y), coef, 0.3, l2=0.2)
    want = reference.loss_grad(X, y, coef, 0.3, sample_weight=w, l2=0.2)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)


@pytest.mark.parametrize("stop", [dict(tol=1e-6), dict(tol=1e-4, n_iter_no_change=3), dict(tol=None, gtol=1e-6)])
def test_the_stopping_rules_decide_the_same(stop):
    X, y, w = _problem(2000, 10, seed=seed_of("stop", stop))
    kw = dict(fit_intercept=True, learning_rate=0.1, max_iter=5000, **stop)
    gram = descend.fit(X, y, precompute=True, **kw)
    stream = descend.fit(X, y, precompute=False, **kw)
    assert gram.status != "max_iter"
    _assert_same_fit(gram, stream, 1e-9)


def test_textbook_gradient_descent_runs_on_the_gram_matrix():
    X, y, theta0, lr, num_iterations = textbook_problem()
    got = descend.gradient_descent(X, y, theta0, lr, num_iterations)
    np.testing.assert_allclose(got, reference.gradient_descent(X, y, theta0, lr, num_iterations), rtol=1e-12)
    stop = dict(learning_rate=lr, max_iter=100000, tol=1e-10)
    gram, stream = descend.fit(X, y, precompute=True, **stop), descend.fit(X, y, precompute=False, **stop)
    assert gram.status == stream.status == "tol"
    assert gram.n_iter == stream.n_iter


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_gram_path_is_bitwise_the_same_for_any_thread_count(threads):
    X, y, w = _problem(5000, 33, seed=seed_of("threads"))
    kw = dict(fit_intercept=True, sample_weight=w, precompute=True, max_iter=50, tol=None)
    one = descend.fit(X, y, n_threads=1, **kw)
    many = descend.fit(X, y, n_threads=threads, **kw)
    assert np.array_equal(one.coef, many.coef)
    assert np.array_equal(one.loss_history, many.loss_history)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_x_read_in_place_gives_the_bits_of_a_gathered_copy(threads):
    """A float64 C-order X without weights and d a multiple of 8 is read
    where it lies; its F-order copy is gathered into blocks. The same
    products in the same order: the same bits, for any thread count."""
    X, y, _ = _problem(5000, 64, seed=seed_of("in place"))
    kw = dict(fit_intercept=True, precompute=True, max_iter=50, tol=None)
    in_place = descend.fit(X, y, n_threads=threads, **kw)
    gathered = descend.fit(np.asfortranarray(X), y, n_threads=1, **kw)
    assert np.array_equal(in_place.coef, gathered.coef)
    assert np.array_equal(in_place.loss_history, gathered.loss_history)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sparse_x_forms_the_same_gram_matrix(fmt, index_dtype):
    rng = np.random.default_rng(seed_of("sparse", fmt))
    dense = scipy.sparse.random(600, 30, density=0.2, random_state=rng, format="coo")
    # A duplicate entry: scipy adds duplicates up, and so must S.
    rows, cols = np.append(dense.row, dense.row[0]), np.append(dense.col, dense.col[0])
    coo = scipy.sparse.coo_matrix((np.append(dense.data, 0.25), (rows, cols)), shape=dense.shape)
    X = coo.asformat(fmt)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    y = coo.toarray() @ rng.standard_normal(30) + 0.1 * rng.standard_normal(600)
    w = rng.uniform(0.5, 1.5, 600)
    kw = dict(fit_intercept=True, sample_weight=w, learning_rate=0.5, max_iter=300, tol=None)
    got = descend.fit(X, y, precompute=True, **kw)
    want = descend.fit(coo.toarray(), y, precompute=True, **kw)
    _assert_same_fit(got, want, 1e-12)
    _assert_same_fit(got, descend.fit(X, y, precompute=False, **kw), 1e-9)


def _gram_pays(n, d, max_iter):
    """The rule precompute="auto" documents, for a dense X."""
    p = d + 2
    stream, form = 2.0 * n * d, n * p * p / 2.0
    return d <= 4096 and 4.0 * p * p <= stream and form <= max_iter * stream


@pytest.mark.parametrize("n, d, max_iter", [(1000, 8, 100), (1000, 8, 1), (30, 20, 100), (4000, 300, 50),
                                            (4000, 300, 100)])
def test_auto_takes_the_gram_path_when_it_pays(n, d, max_iter):
    X, y, _ = _problem(n, d, seed=seed_of("auto", n, d))
    kw = dict(fit_intercept=True, learning_rate=0.01, max_iter=max_iter, tol=None)
    auto = descend.fit(X, y, **kw)  # "auto" is the default
    taken = descend.fit(X, y, precompute=_gram_pays(n, d, max_iter), **kw)
    other = descend.fit(X, y, precompute=not _gram_pays(n, d, max_iter), **kw)
    assert np.array_equal(auto.coef, taken.coef)
    # ... and the paths differ in their last bits, so the check above tells them apart.
    assert not np.array_equal(taken.loss_history, other.loss_history)


def test_estimator_passes_precompute():
    X, y, _ = _problem(500, 6, seed=seed_of("estimator"))
    gram = descend.GDRegressor(precompute=True, max_iter=10000, tol=1e-10).fit(X, y)
    stream = descend.GDRegressor(precompute=False, max_iter=10000, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(gram.coef_, stream.coef_, rtol=1e-9)
    with pytest.raises(ValueError, match="precompute=True needs loss='squared'"):
        descend.GDRegressor(loss="huber", precompute=True).fit(X, y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss="logistic"), "precompute=True needs loss='squared' and method='batch'"),
    (dict(method="sgd"), "precompute=True needs loss='squared' and method='batch'"),
])
def test_precompute_true_needs_squared_batch(kwargs, match):
    X, y, _ = _problem(50, 3, seed=0)
    with pytest.raises(ValueError, match=match):
        descend.fit(X, (y > 0).astype(float), precompute=True, **kwargs)


@pytest.mark.parametrize("value", ["yes", 1, None, np.float64(1.0)])
def test_precompute_must_be_auto_true_or_false(value):
    X, y, _ = _problem(50, 3, seed=0)
    with pytest.raises(ValueError, match="precompute must be 'auto', True or False"):
        descend.fit(X, y, precompute=value)


def test_callback_sees_every_iteration_of_the_gram_path():
    X, y, _ = _problem(300, 4, seed=seed_of("callback"))
    seen = []
    result = descend.fit(X, y, precompute=True, max_iter=20, tol=None, callback=lambda s: seen.append(s.objective))
    assert seen == list(result.loss_history)
