"""Fits that continue: descend.FitState, partial_fit and warm_start.

A run handed a FitState continues the update count (schedules, Adam's bias
correction), the update rule's buffers, the shuffle's stream, where
ReduceOnPlateau stands and the running average of the run before, so that k fits of max_iter=1 are one fit
of max_iter=k, bit for bit. Checked on descend.fit (every method, several
rules, a schedule, averaging, sparse X) against the single fit and against
the NumPy twin ``reference.fit(state=dict)``, and on the estimators'
partial_fit and warm_start, including a pickled estimator picking up where
it left off.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning

import descend
from descend import reference

from conftest import seed_of

CASES = [
    pytest.param(dict(learning_rate=0.01), id="gd"),
    pytest.param(dict(optimizer="adam", learning_rate=0.01, fit_intercept=True), id="adam"),
    pytest.param(dict(optimizer="nesterov", learning_rate=0.01, l1=0.01), id="nesterov-l1"),
    pytest.param(dict(learning_rate=descend.schedules.InverseScaling(0.05, power_t=0.5)), id="schedule"),
    pytest.param(dict(learning_rate=0.01, average=5, fit_intercept=True), id="average"),
    # Reductions every check or two: the plateau's state must carry over.
    pytest.param(dict(learning_rate=descend.schedules.ReduceOnPlateau(0.05, patience=1, threshold=0.3)),
                 id="plateau"),
]
METHODS = [("batch", 32), ("sgd", 1), ("minibatch", 16)]


def _problem(n, d, *, seed, labels=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = X @ rng.standard_normal(d) + 0.3
    return X, ((p > 0).astype(float) if labels else p + 0.2 * rng.standard_normal(n))


def _kwargs(case, method, batch_size):
    kw = dict(case, method=method, batch_size=batch_size, tol=None, seed=11)
    if method == "batch":
        kw["precompute"] = False  # the streaming path, as the stepwise fits of max_iter=1 take
    return kw


def _in_steps(fit, X, y, steps, kw):
    """`steps` fits of max_iter=1, each from the last one's result and state."""
    state, coef, intercept = descend.FitState(), None, None
    for _ in range(steps):
        res = fit(X, y, max_iter=1, state=state, coef0=coef, intercept0=intercept, **kw)
        coef, intercept = res.coef, res.intercept
    return res, state


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method, batch_size", METHODS)
def test_fits_with_one_state_are_one_longer_fit(case, method, batch_size):
    if method == "batch" and "average" in case:
        return _check_average_is_refused_for_batch(case)
    X, y = _problem(90, 4, seed=seed_of("steps", method))
    kw = _kwargs(case, method, batch_size)
    stepwise, state = _in_steps(descend.fit, X, y, 3, kw)
    whole = descend.fit(X, y, max_iter=3, **kw)
    assert np.array_equal(stepwise.coef, whole.coef)
    assert np.array_equal(stepwise.intercept, whole.intercept)
    assert state.started and state.steps == (3 if method == "batch" else 3 * -(-90 // batch_size))


def _check_average_is_refused_for_batch(case):
    X, y = _problem(20, 2, seed=0)
    with pytest.raises(ValueError, match="average applies to method='sgd' or 'minibatch'"):
        descend.fit(X, y, method="batch", state=descend.FitState(), **case)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method, batch_size", METHODS[1:])
def test_continued_fits_equal_the_numpy_twin(case, method, batch_size):
    X, y = _problem(60, 3, seed=seed_of("twin", method))
    kw = _kwargs(case, method, batch_size)
    got, _ = _in_steps(descend.fit, X, y, 2, kw)
    want, _ = _in_steps(_twin, X, y, 2, kw)
    scale = max(np.abs(want.coef).max(), abs(want.intercept))
    np.testing.assert_allclose(got.coef, want.coef, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(got.intercept, want.intercept, rtol=0, atol=1e-12 * scale)


def _twin(X, y, *, state, **kw):
    """reference.fit with its own state dict kept on the FitState object."""
    twin_state = state.__dict__.setdefault("twin", {})
    kw.pop("precompute", None)
    return reference.fit(X, y, state=twin_state, **kw)


def test_each_continued_epoch_draws_a_fresh_shuffle():
    X, y = _problem(50, 3, seed=seed_of("shuffle"))
    state = descend.FitState()
    descend.fit(X, y, method="sgd", max_iter=1, tol=None, seed=2, state=state)
    first = state.random
    descend.fit(X, y, method="sgd", max_iter=1, tol=None, seed=2, state=state)
    assert state.random != first  # the stream moved on: not the first permutation again


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_fits_continue(fmt):
    X, y = _problem(80, 6, seed=seed_of("sparse", fmt))
    X[np.abs(X) < 0.7] = 0.0
    Xs = scipy.sparse.csr_matrix(X).asformat(fmt)
    kw = dict(method="sgd", learning_rate=0.02, l2=0.01, l1=0.01, tol=None, seed=5, fit_intercept=True)
    stepwise, _ = _in_steps(descend.fit, Xs, y, 3, kw)
    assert np.array_equal(stepwise.coef, descend.fit(Xs, y, max_iter=3, **kw).coef)


def test_a_state_of_another_rule_is_refused():
    X, y = _problem(30, 3, seed=0)
    state = descend.FitState()
    descend.fit(X, y, method="sgd", optimizer="adam", learning_rate=0.01, max_iter=1, state=state)
    with pytest.raises(ValueError, match="FitState was left by a fit with another update rule"):
        descend.fit(X, y, method="sgd", optimizer="momentum", learning_rate=0.01, max_iter=1, state=state)
    with pytest.raises(ValueError, match="FitState was left by a fit with another update rule"):
        descend.fit(X[:, :2], y, method="sgd", optimizer="adam", learning_rate=0.01, max_iter=1, state=state)


def test_state_must_be_a_fit_state():
    X, y = _problem(10, 2, seed=0)
    with pytest.raises(TypeError, match="state must be a descend.FitState"):
        descend.fit(X, y, state={})


# ---------------------------------------------------------------- estimators

ESTIMATORS = [
    pytest.param(descend.GDRegressor, dict(method="sgd", optimizer="adam", learning_rate=0.01), False, id="reg-adam"),
    pytest.param(descend.GDRegressor, dict(method="minibatch", batch_size=8, learning_rate=0.01, average=3), False,
                 id="reg-minibatch-average"),
    pytest.param(descend.GDRegressor, dict(method="batch", optimizer="momentum", learning_rate=0.05,
                                           precompute=False), False, id="reg-batch-momentum"),
    pytest.param(descend.GDClassifier, dict(method="sgd", optimizer="adam", learning_rate=0.01), True,
                 id="clf-logistic"),
    pytest.param(descend.GDClassifier, dict(loss="hinge", method="sgd", learning_rate=0.01), True, id="clf-hinge-ovr"),
    pytest.param(descend.GDClassifier, dict(loss="softmax", method="minibatch", optimizer="rmsprop",
                                            learning_rate=0.01), True, id="clf-softmax"),
]


def _labels(y, classifier):
    return np.digitize(y, [-0.5, 0.5]) if classifier else y


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("cls, params, classifier", ESTIMATORS)
def test_partial_fit_calls_are_one_fit(cls, params, classifier):
    X, y = _problem(120, 5, seed=seed_of("partial", cls.__name__))
    y = _labels(y, classifier)
    stepwise = cls(random_state=4, **params)
    for _ in range(3):
        if classifier:
            stepwise.partial_fit(X, y, classes=np.unique(y))
        else:
            stepwise.partial_fit(X, y)
    whole = _fit_quietly(cls(random_state=4, max_iter=3, tol=None, **params), X, y)
    assert stepwise.n_iter_ == 3
    np.testing.assert_array_equal(stepwise.coef_, whole.coef_)
    np.testing.assert_array_equal(stepwise.intercept_, whole.intercept_)
    np.testing.assert_array_equal(stepwise.loss_curve_, whole.loss_curve_)


@pytest.mark.parametrize("cls, params, classifier", ESTIMATORS)
def test_warm_start_fits_continue_the_clock(cls, params, classifier):
    X, y = _problem(120, 5, seed=seed_of("warm", cls.__name__))
    y = _labels(y, classifier)
    warm = cls(random_state=4, max_iter=1, tol=None, warm_start=True, **params)
    _fit_quietly(warm, X, y)
    _fit_quietly(warm, X, y)
    whole = _fit_quietly(cls(random_state=4, max_iter=2, tol=None, **params), X, y)
    np.testing.assert_array_equal(warm.coef_, whole.coef_)


def test_a_pickled_estimator_continues_where_it_stopped():
    X, y = _problem(100, 4, seed=seed_of("pickle"))
    model = descend.GDRegressor(method="sgd", optimizer="adam", learning_rate=0.01, random_state=1)
    model.partial_fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.coef_, model.coef_)


def test_a_fresh_fit_starts_afresh():
    X, y = _problem(100, 4, seed=seed_of("fresh"))
    model = descend.GDRegressor(method="sgd", optimizer="adam", learning_rate=0.01, random_state=1, max_iter=2,
                                tol=None)
    first = model.fit(X, y).coef_.copy()
    np.testing.assert_array_equal(model.fit(X, y).coef_, first)
