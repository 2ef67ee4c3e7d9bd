"""descend.schedules.ReduceOnPlateau and FitResult.learning_rate_history.

ReduceOnPlateau multiplies the step size by ``factor`` once the objective
of ``patience`` checks in a row has not improved on the best so far by
more than ``threshold`` (relative), never below ``min_lr``. descend.fit
evaluates it in the C++ loop; every run here is compared with
descend.reference.fit on fresh random data (every method and update rule,
dense and sparse X, float64 and float32), and its rates with the rule
written out below, replayed from the run's own loss_history.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import descend
from descend import _core, optim, reference, schedules
from descend._defaults import SCHEDULE

from conftest import METHODS, OPTIMIZERS, seed_of


def rates_by_rule(history, s):
    """The step size in force at each check (before its objective is seen)."""
    rates, eta, best, bad = [], s.eta0, None, 0
    for J in history:
        rates.append(eta)
        if best is None or J < best * (1 - s.threshold):
            best, bad = J, 0
        else:
            bad += 1
            if bad == s.patience:
                eta, bad = max(eta * s.factor, s.min_lr), 0
    return np.array(rates)


def _regression(seed, n=60, d=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.4 + 0.3 * rng.standard_normal(n)
    return X.astype(dtype), y.astype(dtype)


def _compare(got, ref, rtol):
    assert got.n_iter == ref.n_iter == len(got.learning_rate_history)
    scale = max(np.abs(ref.coef).max(), np.abs(ref.intercept).max())
    np.testing.assert_allclose(got.coef, ref.coef, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got.intercept, ref.intercept, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got.loss_history, ref.loss_history, rtol=rtol, atol=rtol * ref.loss_history.max())
    np.testing.assert_allclose(got.learning_rate_history, ref.learning_rate_history, rtol=1e-15)


# A high threshold and short patience: slow progress counts as a plateau,
# so a 40-check run reduces a few times.
PLATEAU = schedules.ReduceOnPlateau(0.05, factor=0.5, patience=2, threshold=0.1, min_lr=0.002)
# momentum and nesterov take about 1/(1 - momentum) = 10 times the step.
PLATEAU_MOMENTUM = schedules.ReduceOnPlateau(0.01, factor=0.5, patience=2, threshold=0.1, min_lr=0.002)


def _reduced(res, s=PLATEAU):
    """The run followed the rule and did reduce."""
    np.testing.assert_array_equal(res.learning_rate_history, rates_by_rule(res.loss_history, s))
    assert res.learning_rate_history[-1] < s.eta0


# ---------------------------------------------------------------------------
# descend.fit == reference.fit


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("method", METHODS)
def test_fit_matches_reference(method, optimizer):
    X, y = _regression(seed_of("plateau", method, optimizer))
    s = PLATEAU_MOMENTUM if optimizer in ("momentum", "nesterov") else PLATEAU
    kw = dict(method=method, optimizer=optimizer, learning_rate=s, max_iter=40, tol=None, batch_size=8,
              fit_intercept=True, seed=seed_of(method, optimizer))
    got = descend.fit(X, y, **kw)
    _compare(got, reference.fit(X, y, **kw), 1e-12)
    _reduced(got, s)
    assert got.learning_rate == s.eta0  # eta_0, as for every schedule


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("method", METHODS)
def test_sparse_x_matches_reference(method, optimizer, fmt):
    """Sparse sgd/minibatch with plain gd run the lazy O(nnz) update, which
    reads the step size per update: the reductions reach it too."""
    X, y = _regression(seed_of("sparse", method, optimizer, fmt))
    X[np.abs(X) < 0.7] = 0.0
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    kw = dict(method=method, optimizer=optimizer, learning_rate=PLATEAU, max_iter=40, tol=None, batch_size=8,
              fit_intercept=True, seed=3, l2=0.02, l1=0.005)
    got = descend.fit(Xs, y, **kw)
    _compare(got, reference.fit(X, y, **kw), 1e-12)
    _reduced(got)


def test_a_reduction_reaches_the_lazy_sparse_sgd_update():
    """Past the first reduction, sparse sgd follows the reduced rate: it
    leaves the run at the rate it started with, and the epochs after the
    reduction are those of a run started there at the reduced rate."""
    X, y = _regression(seed_of("lazy"), n=80, d=8)
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)
    kw = dict(method="sgd", max_iter=30, tol=None, fit_intercept=True, l2=0.01, seed=9, shuffle=False)
    got = descend.fit(Xs, y, learning_rate=PLATEAU, **kw)
    _reduced(got)
    first = int(np.argmax(got.learning_rate_history < PLATEAU.eta0))  # the first epoch at a reduced rate
    assert first > 0
    before = descend.fit(Xs, y, learning_rate=PLATEAU.eta0, **dict(kw, max_iter=first))
    np.testing.assert_allclose(got.loss_history[:first], before.loss_history, rtol=1e-13)
    after = descend.fit(Xs, y, learning_rate=got.learning_rate_history[first], coef0=before.coef,
                        intercept0=before.intercept, **dict(kw, max_iter=1))
    np.testing.assert_allclose(got.loss_history[first], after.loss_history[0], rtol=1e-12)
    constant = descend.fit(Xs, y, learning_rate=PLATEAU.eta0, **dict(kw, max_iter=first + 1))
    assert abs(constant.loss_history[first] - got.loss_history[first]) > 1e-6 * got.loss_history[first]


@pytest.mark.parametrize("loss", ["logistic", "hinge", "huber", "softmax"])
@pytest.mark.parametrize("method", METHODS)
def test_other_losses_and_float32(method, loss):
    rng = np.random.default_rng(seed_of("losses", method, loss))
    X = rng.standard_normal((50, 4))
    p = X @ rng.standard_normal(4)
    if loss == "softmax":
        y = np.digitize(p, [-0.5, 0.5]).astype(np.float64)
    elif loss == "huber":
        y = p + rng.standard_normal(50)
    else:
        y = (p + 0.5 * rng.standard_normal(50) > 0).astype(np.float64)
    s = schedules.ReduceOnPlateau(0.3, factor=0.5, patience=2, threshold=0.1)
    kw = dict(loss=loss, method=method, learning_rate=s, max_iter=40, tol=None, batch_size=8, fit_intercept=True,
              seed=2)
    got = descend.fit(X, y, **kw)
    _compare(got, reference.fit(X, y, **kw), 1e-12)
    _reduced(got, s)
    got32 = descend.fit(X.astype(np.float32), y, **kw)
    assert got32.coef.dtype == np.float32
    ref32 = reference.fit(X.astype(np.float32).astype(np.float64), y, **kw)
    np.testing.assert_allclose(got32.coef, ref32.coef, rtol=0,
                               atol=(1e-5 if method == "batch" else 1e-4) * np.abs(ref32.coef).max())


def test_min_lr_is_a_floor_and_the_count_restarts_after_a_reduction():
    X, y = _regression(seed_of("floor"))
    s = schedules.ReduceOnPlateau(0.05, factor=0.5, patience=3, threshold=0.5, min_lr=0.01)
    res = descend.fit(X, y, learning_rate=s, max_iter=40, tol=None, fit_intercept=True)
    rates = res.learning_rate_history
    np.testing.assert_array_equal(rates, rates_by_rule(res.loss_history, s))
    assert rates.min() == s.min_lr and np.all(rates >= s.min_lr)
    # patience checks at each rate before the next reduction
    changes = np.flatnonzero(np.diff(rates)) + 1
    assert len(changes) >= 2 and np.all(np.diff(changes) >= s.patience)
    # a threshold of 0 with steady progress never reduces
    steady = descend.fit(X, y, learning_rate=schedules.ReduceOnPlateau(0.01, threshold=0.0), max_iter=20, tol=None)
    np.testing.assert_array_equal(steady.learning_rate_history, np.full(20, 0.01))


def test_bitwise_identical_for_any_thread_count(restore_threads):
    X, y = _regression(seed_of("threads"), n=20_000, d=16)
    kw = dict(learning_rate=schedules.ReduceOnPlateau(0.2, patience=1, threshold=0.1), max_iter=15, tol=None,
              fit_intercept=True)
    one = descend.fit(X, y, n_threads=1, **kw)
    two = descend.fit(X, y, n_threads=2, **kw)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.learning_rate_history, two.learning_rate_history)
    assert one.learning_rate_history[-1] < 0.2


def test_estimators_take_it():
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    from sklearn.exceptions import ConvergenceWarning

    X, y = _regression(seed_of("estimator"))
    est = descend.GDRegressor(method="sgd", learning_rate=PLATEAU, max_iter=20, tol=None, random_state=0, l2=0.0)
    with warnings.catch_warnings():  # tol=None: max_iter is the plan, nothing warns
        warnings.simplefilter("error", ConvergenceWarning)
        est = clone(est).fit(X, y)
    res = descend.fit(X, y, method="sgd", learning_rate=PLATEAU, max_iter=20, tol=None, fit_intercept=True, seed=0)
    np.testing.assert_allclose(est.coef_, res.coef, rtol=1e-12)
    np.testing.assert_allclose(est.loss_curve_, res.loss_history, rtol=1e-12)


# ---------------------------------------------------------------------------
# learning_rate_history for every schedule


UPDATES_PER_EPOCH = {"batch": 1, "sgd": 45, "minibatch": 6}  # 45 rows, batches of 8


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("schedule", [
    0.02,
    schedules.InverseScaling(0.05, power_t=0.5),
    schedules.Exponential(0.05, gamma=0.99),
    schedules.Step(0.05, step_size=7, gamma=0.5),
    schedules.Cosine(0.05, t_max=40, eta_min=0.001),
], ids=lambda s: type(s).__name__)
def test_history_holds_the_rate_of_each_check(schedule, method):
    """batch: the rate iteration k's update uses, eta_k; sgd/minibatch: the
    rate of epoch k's first update, eta at t = k * updates per epoch."""
    X, y = _regression(seed_of("history", method), n=45, d=3)
    kw = dict(method=method, learning_rate=schedule, max_iter=12, tol=None, batch_size=8, seed=1)
    got = descend.fit(X, y, **kw)
    at = (lambda t: schedule) if isinstance(schedule, float) else schedule
    expected = [at(k * UPDATES_PER_EPOCH[method]) for k in range(12)]
    np.testing.assert_allclose(got.learning_rate_history, expected, rtol=1e-15)
    assert got.learning_rate_history.dtype == np.float64
    np.testing.assert_array_equal(got.learning_rate_history, reference.fit(X, y, **kw).learning_rate_history)


def test_history_with_auto_is_one_over_l():
    X, y = _regression(seed_of("auto"))
    res = descend.fit(X, y, learning_rate="auto", max_iter=5, tol=None)
    np.testing.assert_array_equal(res.learning_rate_history, np.full(5, res.learning_rate))


# ---------------------------------------------------------------------------
# the object: defaults, checks, where it is refused


def test_defaults_are_the_cores():
    s = schedules.ReduceOnPlateau(0.1)
    core = _core.schedule_defaults()
    assert (s.factor, s.patience, s.threshold, s.min_lr) == (core["factor"], core["patience"], core["threshold"],
                                                            core["min_lr"])
    assert SCHEDULE == core
    assert isinstance(s.patience, int)
    # scikit-learn's "adaptive" divides by 5; PyTorch's threshold is 1e-4
    assert s.factor == 0.2 and s.threshold == 1e-4
    assert "ReduceOnPlateau" in _core.SCHEDULES


BAD = [
    ({"eta0": 0.0}, "eta0"),
    ({"eta0": -1.0}, "eta0"),
    ({"eta0": float("inf")}, "eta0"),
    ({"eta0": 0.1, "factor": 0.0}, "factor"),
    ({"eta0": 0.1, "factor": 1.0}, "factor"),
    ({"eta0": 0.1, "factor": 1.5}, "factor"),
    ({"eta0": 0.1, "factor": float("nan")}, "factor"),
    ({"eta0": 0.1, "patience": 0}, "patience"),
    ({"eta0": 0.1, "patience": -2}, "patience"),
    ({"eta0": 0.1, "threshold": -1e-3}, "threshold"),
    ({"eta0": 0.1, "threshold": float("nan")}, "threshold"),
    ({"eta0": 0.1, "min_lr": -0.01}, "min_lr"),
    ({"eta0": 0.1, "min_lr": 0.2}, "min_lr"),
]


@pytest.mark.parametrize("params,name", BAD, ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD)])
def test_bad_parameters_raise_value_error_naming_them(params, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        schedules.ReduceOnPlateau(**params)


@pytest.mark.parametrize("params,name", [
    ({"eta0": 0.1, "patience": 2.5}, "patience"),
    ({"eta0": 0.1, "factor": "0.5"}, "factor"),
    ({"eta0": "0.1"}, "eta0"),
])
def test_wrong_types_raise_type_error_naming_them(params, name):
    with pytest.raises(TypeError, match=name):
        schedules.ReduceOnPlateau(**params)


def test_it_is_not_a_function_of_t():
    with pytest.raises(TypeError, match="learning_rate_history"):
        schedules.ReduceOnPlateau(0.1)(0)


def test_optim_and_minimize_refuse_it():
    """They step on gradients (or a loop of the caller's): no checks to watch."""
    s = schedules.ReduceOnPlateau(0.1)
    with pytest.raises(ValueError, match="ReduceOnPlateau"):
        optim.Adam(np.zeros(3), lr=s)
    opt = optim.GD(np.zeros(3), lr=0.1)
    with pytest.raises(ValueError, match="ReduceOnPlateau"):
        opt.lr = s
    assert opt.lr == 0.1
    with pytest.raises(ValueError, match="ReduceOnPlateau"):
        descend.minimize(lambda x: (float(x @ x), 2 * x), np.ones(2), learning_rate=s)
