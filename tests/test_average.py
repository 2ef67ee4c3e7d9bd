"""average: Polyak-Ruppert iterate averaging for sgd and minibatch.

The core's averaged results are compared with the NumPy twin
``reference.fit(average=...)`` (the same shuffles, updates and running
mean avg += (theta - avg) / count) over methods, update rules, penalties,
dtypes, layouts and sparse X; the callback sees the average; the bits do
not depend on the thread count; bad values are refused naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

import descend
from descend import reference

from conftest import seed_of

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-4}


def _problem(n, d, loss="squared", *, seed, dtype=np.float64, order="C"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = X @ rng.standard_normal(d) + 0.4
    y = p + 0.3 * rng.standard_normal(n) if loss == "squared" else (p > 0).astype(float)
    if loss == "softmax":
        y = np.digitize(p, [-0.5, 0.5]).astype(float)
    return np.asarray(X.astype(dtype), order=order), y.astype(dtype)


def _assert_close(got, want, rtol):
    scale = max(np.abs(want.coef).max(), np.abs(want.intercept).max())
    np.testing.assert_allclose(got.coef, want.coef, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got.intercept, want.intercept, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got.loss_history, want.loss_history, rtol=rtol)


CASES = [
    pytest.param(dict(), id="gd"),
    pytest.param(dict(fit_intercept=True, l2=0.01, l1=0.01), id="elastic-net"),
    pytest.param(dict(optimizer="momentum", fit_intercept=True), id="momentum"),
    pytest.param(dict(optimizer="adam", fit_intercept=True), id="adam"),
    pytest.param(dict(learning_rate=descend.schedules.InverseScaling(0.05, power_t=0.5)), id="schedule"),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("average", [True, 7, 150, 10**6])
@pytest.mark.parametrize("method, batch_size", [("sgd", 1), ("minibatch", 16)])
@pytest.mark.parametrize("dtype, order", [(np.float64, "C"), (np.float64, "F"), (np.float32, "C")])
def test_average_equals_its_numpy_twin(case, average, method, batch_size, dtype, order):
    X, y = _problem(120, 5, seed=seed_of("twin", method, average), dtype=dtype, order=order)
    kw = dict(dict(learning_rate=0.01), **case)
    kw.update(method=method, batch_size=batch_size, average=average, max_iter=4, tol=None, seed=5)
    got = descend.fit(X, y, **kw)
    want = reference.fit(X, y, **kw)
    _assert_close(got, want, RTOL[np.dtype(dtype)])
    if average == 10**6:  # never started: the last iterate, as without averaging
        kw["average"] = False
        plain = descend.fit(X, y, **kw)
        assert np.array_equal(got.coef, plain.coef)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("method", ["sgd", "minibatch"])
def test_average_on_sparse_x_equals_its_numpy_twin(fmt, method):
    X, y = _problem(150, 8, seed=seed_of("sparse", fmt, method))
    X[np.abs(X) < 0.8] = 0.0
    kw = dict(method=method, batch_size=8, average=20, learning_rate=0.02, l2=0.01, l1=0.005,
              fit_intercept=True, max_iter=3, tol=None, seed=9)
    got = descend.fit(scipy.sparse.csr_matrix(X).asformat(fmt), y, **kw)
    _assert_close(got, reference.fit(X, y, **kw), 1e-12)


@pytest.mark.parametrize("loss", ["logistic", "softmax"])
def test_average_with_other_losses(loss):
    X, y = _problem(100, 4, loss, seed=seed_of("loss", loss))
    kw = dict(loss=loss, method="sgd", average=True, learning_rate=0.05, fit_intercept=True, max_iter=3,
              tol=None, seed=2)
    _assert_close(descend.fit(X, y, **kw), reference.fit(X, y, **kw), 1e-12)


def test_average_differs_from_the_last_iterate():
    X, y = _problem(200, 5, seed=seed_of("differs"))
    kw = dict(method="sgd", learning_rate=0.05, max_iter=3, tol=None, seed=1)
    assert not np.allclose(descend.fit(X, y, average=True, **kw).coef, descend.fit(X, y, **kw).coef)


def test_callback_sees_the_average():
    X, y = _problem(100, 3, seed=seed_of("callback"))
    seen = []
    result = descend.fit(X, y, method="sgd", average=True, learning_rate=0.02, max_iter=3, tol=None, seed=0,
                         fit_intercept=True, callback=lambda s: seen.append((s.coef.copy(), s.intercept)))
    assert np.array_equal(seen[-1][0], result.coef) and seen[-1][1] == result.intercept


@pytest.mark.parametrize("threads", [2, 3])
def test_average_is_bitwise_the_same_for_any_thread_count(threads, restore_threads):
    X, y = _problem(3000, 40, seed=seed_of("threads"))
    kw = dict(method="minibatch", batch_size=512, average=3, learning_rate=0.01, max_iter=3, tol=None, seed=4)
    one = descend.fit(X, y, n_threads=1, **kw)
    many = descend.fit(X, y, n_threads=threads, **kw)
    assert np.array_equal(one.coef, many.coef)


def test_estimators_pass_average():
    X, y = _problem(200, 4, seed=seed_of("estimator"))
    kw = dict(method="sgd", learning_rate=0.01, max_iter=3, tol=None, random_state=3, fit_intercept=False, l2=0.0)
    model = descend.GDRegressor(average=True, **kw).fit(X, y)
    direct = descend.fit(X, y, method="sgd", average=True, learning_rate=0.01, max_iter=3, tol=None, seed=3)
    np.testing.assert_array_equal(model.coef_, direct.coef)
    labels = (y > 0).astype(float)
    clf = descend.GDClassifier(average=5, **kw).fit(X, labels)
    direct = descend.fit(X, labels, loss="logistic", method="sgd", average=5, learning_rate=0.01, max_iter=3,
                         tol=None, seed=3)
    np.testing.assert_array_equal(clf.coef_.ravel(), direct.coef)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="batch", average=True), ValueError, "average applies to method='sgd' or 'minibatch'"),
    (dict(method="sgd", average=-1), ValueError, "average must be False, True or an update count >= 1"),
    (dict(method="sgd", average=1.5), TypeError, "average must be an integer"),
    (dict(method="sgd", average="yes"), TypeError, "average must be an integer"),
])
def test_bad_average_is_refused(kwargs, error, match):
    X, y = _problem(20, 2, seed=0)
    with pytest.raises(error, match=match):
        descend.fit(X, y, **kwargs)
