"""on_divergence= in descend.fit: "raise" (the default) or "retry".

"retry" restarts a diverged run from the best point checked so far (the
lowest objective; the start included) with every step size divided by 10,
as a fresh run from there (the update rule's state, the schedule's clock
and the shuffle's stream start again), at most 5 times. Checked against
descend.reference.fit (the same option in NumPy) on fresh random data for
every method, dense and sparse X, and, independently of the reference,
against plain "raise" fits: the restart point is the best state a callback
saw before the DivergenceError, and the retried run is the plain fit from
there at a tenth of the rate.
"""

from __future__ import annotations

import re

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import descend
from descend import _core, reference, schedules
from descend._defaults import FIT

from conftest import METHODS, seed_of


def _regression(seed, n=40, d=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 + 0.2 * rng.standard_normal(n)
    return X.astype(dtype), y.astype(dtype)


def _safe_rate(X, method, fit_intercept=True):
    """1/L of the squared loss: within it gd never diverges (2/L is the edge)."""
    return reference.auto_learning_rate(X, "squared", method, fit_intercept, 0.0)


def _divided(eta0, times):
    """eta0 divided by 10 `times` times, as each retry does."""
    for _ in range(times):
        eta0 /= 10
    return eta0


def _retries(message):
    found = re.search(r"\(after (\d+) retr(?:y|ies): learning rate divided by (10+)\)", message)
    assert found, message
    k = int(found.group(1))
    assert found.group(2) == "1" + "0" * k, message
    return k


def _compare(got, ref, rtol):
    assert got.status == ref.status and got.n_iter == ref.n_iter
    assert got.learning_rate == ref.learning_rate
    scale = max(np.abs(ref.coef).max(), np.abs(ref.intercept).max())
    np.testing.assert_allclose(got.coef, ref.coef, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got.intercept, ref.intercept, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got.loss_history, ref.loss_history, rtol=rtol, atol=rtol * ref.loss_history.min())
    np.testing.assert_array_equal(got.learning_rate_history, ref.learning_rate_history)


# (method, optimizer, hyper-parameters, the diverging rate as a multiple of
# the safe one). Adam takes steps of about the rate whatever the gradient,
# so it needs a rate large against the parameters, and here it trips the
# check in batch only: an sgd/minibatch run's reference J_0 is its first
# epoch's objective, already as large as the rate makes it.
CASES = [(m, o, h, 30.0) for m in METHODS
         for o, h in [("gd", {}), ("momentum", {"momentum": 0.5}), ("nesterov", {})]]
CASES += [("batch", "adam", {}, 1e7)]


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("method,optimizer,hyper,factor", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_raise_diverges_and_retry_matches_reference(method, optimizer, hyper, factor, fmt):
    X, y = _regression(seed_of("retry", method, optimizer, fmt))
    if fmt == "csr":
        X[np.abs(X) < 0.5] = 0.0
    data = sp.csr_matrix(X) if fmt == "csr" else X
    eta0 = factor * _safe_rate(X, method)
    kw = dict(method=method, optimizer=optimizer, learning_rate=eta0, max_iter=60, tol=None, batch_size=8,
              fit_intercept=True, seed=seed_of(method, optimizer), **hyper)
    with pytest.raises(descend.DivergenceError):
        descend.fit(data, y, **kw)
    with pytest.raises(descend.DivergenceError):
        reference.fit(X, y, **kw)
    got = descend.fit(data, y, on_divergence="retry", **kw)
    ref = reference.fit(X, y, on_divergence="retry", **kw)
    _compare(got, ref, 1e-12)
    k = _retries(got.message)
    assert k >= 1 and got.message.startswith("stopped after max_iter=60")
    assert got.learning_rate == _divided(eta0, k)
    # The history is the returned parameters' path: its last rate is the one that worked.
    assert got.learning_rate_history[-1] == got.learning_rate
    assert np.all(np.isfinite(got.loss_history)) and np.all(np.isfinite(got.coef))


def _checks_before_divergence(X, y, kw):
    """The states a "raise" fit's callback saw before its DivergenceError."""
    seen = []
    with pytest.raises(descend.DivergenceError):
        descend.fit(X, y, callback=lambda s: seen.append((s.iteration, s.objective, s.coef, s.intercept)), **kw)
    return seen


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("method", METHODS)
def test_retry_is_the_plain_fit_from_the_restart_point(method, fmt):
    """One retry, replayed with plain fits: the first run up to its best
    check (the lowest objective, the latest of equals), then a fit from
    those parameters at eta0 / 10 for the iterations left. batch checks a
    point before stepping from it, so its restart checks that point again;
    an epoch is checked where it ended, and the start competes with its
    objective over all rows."""
    X, y = _regression(seed_of("replay", method, fmt))
    data = sp.csc_matrix(X) if fmt == "csc" else X
    # Rates that diverge while a tenth of them does not (the safe rate of
    # sgd/minibatch bounds every row's step, so it is conservative).
    eta0 = {"batch": 3.0, "sgd": 10.0, "minibatch": 30.0}[method] * _safe_rate(X, method)
    kw = dict(method=method, max_iter=50, tol=None, batch_size=8, fit_intercept=True, seed=4)
    seen = _checks_before_divergence(data, y, dict(kw, learning_rate=eta0))
    start_objective = np.inf if method == "batch" else descend.loss_grad(data, y, np.zeros(4), 0.0)[0]
    best = (0, start_objective, np.zeros(4), 0.0)
    for check in seen:
        if check[1] <= best[1]:
            best = check
    keep = best[0] - 1 if method == "batch" else best[0]
    plain = descend.fit(data, y, learning_rate=eta0 / 10, coef0=best[2], intercept0=best[3],
                        **dict(kw, max_iter=kw["max_iter"] - keep))
    got = descend.fit(data, y, learning_rate=eta0, on_divergence="retry", **kw)
    assert _retries(got.message) == 1
    np.testing.assert_array_equal(got.coef, plain.coef)
    assert got.intercept == plain.intercept
    np.testing.assert_array_equal(got.loss_history, [s[1] for s in seen[:keep]] + list(plain.loss_history))
    np.testing.assert_array_equal(got.learning_rate_history, [eta0] * keep + [eta0 / 10] * plain.n_iter)
    assert got.n_iter == kw["max_iter"] and got.status == plain.status == "max_iter"
    assert got.grad_norm == plain.grad_norm


def test_six_divergences_raise_and_five_retries_are_enough():
    X, y = _regression(seed_of("six"))
    safe = _safe_rate(X, "batch")
    kw = dict(max_iter=300, tol=None, fit_intercept=True, on_divergence="retry")
    # 3/L diverges and 0.3/L does not: 3e5/L needs six divisions, 3e4/L five.
    with pytest.raises(descend.DivergenceError) as six:
        descend.fit(X, y, learning_rate=3e5 * safe, **kw)
    message = str(six.value)
    assert _retries(message) == 5
    named = float(re.search(r"learning_rate=([-+0-9.eE]+)", message).group(1))
    assert named == _divided(3e5 * safe, 5)  # the last rate it tried
    with pytest.raises(descend.DivergenceError):
        reference.fit(X, y, learning_rate=3e5 * safe, **kw)
    five = descend.fit(X, y, learning_rate=3e4 * safe, **kw)
    assert _retries(five.message) == 5
    _compare(five, reference.fit(X, y, learning_rate=3e4 * safe, **kw), 1e-12)


def test_retry_is_bitwise_identical_for_any_thread_count(restore_threads):
    X, y = _regression(seed_of("threads"), n=20_000, d=16)
    kw = dict(learning_rate=30 * _safe_rate(X, "batch"), max_iter=40, tol=None, fit_intercept=True,
              on_divergence="retry")
    one, two = descend.fit(X, y, n_threads=1, **kw), descend.fit(X, y, n_threads=2, **kw)
    assert _retries(one.message) >= 1
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.loss_history, two.loss_history)


@pytest.mark.parametrize("method", METHODS)
def test_retry_with_tol_float32(method):
    X, y = _regression(seed_of("f32", method), dtype=np.float32)
    kw = dict(method=method, learning_rate=30 * _safe_rate(X, method), max_iter=400, tol=1e-7, batch_size=8,
              fit_intercept=True, on_divergence="retry", seed=1)
    got = descend.fit(X, y, **kw)
    ref = reference.fit(X.astype(np.float64), y.astype(np.float64), **kw)
    assert got.coef.dtype == np.float32 and _retries(got.message) >= 1
    assert abs(got.n_iter - ref.n_iter) <= 2  # float32 may meet tol a check or two apart
    np.testing.assert_allclose(got.coef, ref.coef, rtol=0,
                               atol=(1e-5 if method == "batch" else 1e-4) * np.abs(ref.coef).max())


# Slow schedules from eta0: a rate that diverges stays one for a while.
SCHEDULES = {
    "Cosine": lambda eta0: schedules.Cosine(eta0, t_max=5000, eta_min=eta0 / 2),
    "Step": lambda eta0: schedules.Step(eta0, step_size=500, gamma=0.8),
    "InverseScaling": lambda eta0: schedules.InverseScaling(eta0, power_t=0.1),
    "ReduceOnPlateau": lambda eta0: schedules.ReduceOnPlateau(eta0, factor=0.5, patience=2, threshold=0.1,
                                                              min_lr=eta0 / 100),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", SCHEDULES)
def test_retry_scales_the_whole_schedule_and_restarts_its_clock(kind, method):
    X, y = _regression(seed_of("schedules", method))
    schedule = SCHEDULES[kind](100 * _safe_rate(X, method))
    kw = dict(method=method, learning_rate=schedule, max_iter=40, tol=None, batch_size=8, fit_intercept=True,
              seed=2)
    with pytest.raises(descend.DivergenceError):
        descend.fit(X, y, **kw)
    got = descend.fit(X, y, on_divergence="retry", **kw)
    _compare(got, reference.fit(X, y, on_divergence="retry", **kw), 1e-12)
    k = _retries(got.message)
    assert got.learning_rate == _divided(schedule.eta0, k)
    if not isinstance(schedule, schedules.ReduceOnPlateau):
        # The history ends with the final attempt's rates: the schedule from
        # t = 0, a tenth of it per retry.
        rates = got.learning_rate_history
        per_check = {"batch": 1, "sgd": 40, "minibatch": 5}[method]

        def scaled_from_zero(count):
            return np.array([schedule(t * per_check) for t in range(count)]) * 10.0**-k

        tails = [s for s in range(len(rates)) if np.allclose(rates[s:], scaled_from_zero(len(rates) - s),
                                                             rtol=1e-14, atol=0)]
        assert tails and rates[tails[0]] == got.learning_rate


def test_a_start_that_is_not_finite_is_not_retried():
    X, y = _regression(seed_of("start"))
    with pytest.raises(descend.DivergenceError, match="cannot help"):
        descend.fit(X, y, coef0=np.full(4, 1e200), on_divergence="retry", max_iter=5)
    with pytest.raises(descend.DivergenceError):
        reference.fit(X, y, coef0=np.full(4, 1e200), on_divergence="retry", max_iter=5)


def test_a_callback_sees_the_abandoned_checks_too():
    X, y = _regression(seed_of("callback"))
    iterations = []
    res = descend.fit(X, y, learning_rate=3 * _safe_rate(X, "batch"), max_iter=30, tol=None, fit_intercept=True,
                      on_divergence="retry", callback=lambda s: iterations.append(s.iteration))
    assert _retries(res.message) == 1
    assert np.any(np.diff(iterations) <= 0)  # the numbering goes back at the restart
    assert iterations[-1] == res.n_iter and len(iterations) > res.n_iter


# ---------------------------------------------------------------------------
# the option itself


def test_raise_is_the_default_everywhere():
    assert _core.ON_DIVERGENCE == ("raise", "retry")
    assert FIT["on_divergence"] == "raise"
    import inspect

    assert inspect.signature(descend.fit).parameters["on_divergence"].default == "raise"
    assert inspect.signature(reference.fit).parameters["on_divergence"].default == "raise"
    X, y = _regression(seed_of("default"))
    with pytest.raises(descend.DivergenceError, match="try a smaller learning_rate") as e:
        descend.fit(X, y, learning_rate=30 * _safe_rate(X, "batch"), max_iter=100)
    assert "retr" not in str(e.value)


def test_unknown_values_are_refused_before_any_work():
    X, y = _regression(seed_of("bad"))
    calls = []
    with pytest.raises(ValueError) as e:
        descend.fit(X, y, on_divergence="ignore", callback=lambda s: calls.append(s))
    assert str(e.value) == "unknown on_divergence 'ignore'; expected one of 'raise', 'retry'"
    with pytest.raises(TypeError, match="on_divergence"):
        descend.fit(X, y, on_divergence=True)
    assert not calls
    with pytest.raises(ValueError, match="on_divergence"):
        reference.fit(X, y, on_divergence="ignore")


def test_estimators_pass_it_on():
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    X, y = _regression(seed_of("estimator"))
    rate = 30 * _safe_rate(X, "batch")
    assert descend.GDRegressor().get_params()["on_divergence"] == "raise"
    with pytest.raises(descend.DivergenceError):
        descend.GDRegressor(learning_rate=rate, max_iter=50).fit(X, y)
    # descend.fit's own stopping rule and objective (the estimators' defaults differ: l2, precondition, gtol).
    fit_like = dict(l2=0.0, precondition=None, tol=FIT["tol"], gtol=None)
    est = clone(descend.GDRegressor(learning_rate=rate, max_iter=2000, on_divergence="retry", **fit_like)).fit(X, y)
    res = descend.fit(X, y, learning_rate=rate, max_iter=2000, fit_intercept=True, on_divergence="retry")
    np.testing.assert_allclose(est.coef_, res.coef, rtol=1e-12)
    labels = (y > np.median(y)).astype(int)
    clf = descend.GDClassifier(learning_rate=1e12, max_iter=50, on_divergence="retry", tol=None, l2=0.0)
    with warnings.catch_warnings():  # tol=None: max_iter is the plan, nothing warns
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, labels)
    assert clf.get_params()["on_divergence"] == "retry" and np.all(np.isfinite(clf.coef_))


def test_dask_batch_passes_it_on_and_mixing_refuses_what_it_cannot_run():
    """descend.dask's batch runs the core's loop (retries included); its
    sgd/minibatch (parameter mixing) loop is Python's, without restarts or
    ReduceOnPlateau: refused before the blocks move."""
    pytest.importorskip("distributed")
    import dask.array as da
    from distributed import Client, LocalCluster

    import descend.dask

    X, y = _regression(seed_of("dask"), n=80)
    rate = 30 * _safe_rate(X, "batch")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster):
        Xd, yd = da.from_array(X, chunks=(40, 4)), da.from_array(y, chunks=40)
        got = descend.dask.fit(Xd, yd, learning_rate=rate, max_iter=60, tol=None, on_divergence="retry")
        local = descend.fit(X, y, learning_rate=rate, max_iter=60, tol=None, on_divergence="retry")
        assert got.message == local.message and _retries(got.message) >= 1
        np.testing.assert_allclose(got.coef, local.coef, rtol=1e-12)
        np.testing.assert_array_equal(got.learning_rate_history, local.learning_rate_history)
        with pytest.raises(ValueError, match="on_divergence='retry'"):
            descend.dask.fit(Xd, yd, method="sgd", on_divergence="retry")
        with pytest.raises(ValueError, match="ReduceOnPlateau"):
            descend.dask.fit(Xd, yd, method="minibatch", learning_rate=schedules.ReduceOnPlateau(0.01))
        mixed = descend.dask.fit(Xd, yd, method="sgd", learning_rate=0.01, max_iter=3, tol=None)
        np.testing.assert_array_equal(mixed.learning_rate_history, np.full(3, 0.01))
