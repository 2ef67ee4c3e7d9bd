"""The reproducers of issue 17's probe, each now a clear error or a correct
result: a batch_size of 2**60 (was SIGFPE), a last update that made the
parameters non-finite (was returned as status "max_iter"), softmax labels
of 1e7 (was 12 GB), integers that overflow the core's types (was
pybind11's "incompatible function arguments"), a start that overflows the
loss (was blamed on the learning rate), NaN gradients in descend.optim
(were written into the parameters)."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import DivergenceError, optim


def _data(seed=0, n=40, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


# 1. batch_size beyond the row count


@pytest.mark.parametrize("batch_size", [2**60, 2**63 - 1])
def test_huge_batch_size_is_one_batch_of_all_rows(batch_size):
    X, y = _data()
    common = dict(method="minibatch", learning_rate=0.05, max_iter=5, tol=None, seed=3, fit_intercept=True)
    huge = descend.fit(X, y, batch_size=batch_size, **common)
    whole = descend.fit(X, y, batch_size=len(X), **common)
    np.testing.assert_array_equal(huge.coef, whole.coef)
    assert huge.intercept == whole.intercept
    np.testing.assert_array_equal(huge.loss_history, whole.loss_history)
    assert np.isfinite(huge.loss_history).all()


def test_batch_size_beyond_the_row_count_equals_the_reference():
    X, y = _data(seed=1, n=7)
    common = dict(method="minibatch", learning_rate=0.05, max_iter=4, tol=None, shuffle=False)
    res = descend.fit(X, y, batch_size=1000, **common)
    ref = descend.reference.fit(X, y, batch_size=7, **common)
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-12)


# 2. the last update is checked


def test_last_update_overflow_raises_instead_of_returning_nan():
    with pytest.raises(DivergenceError, match="non-finite in the last update"):
        descend.fit(np.array([[1e308]]), np.array([1.0]), max_iter=1, optimizer="adam")


def test_textbook_function_last_update_overflow_raises():
    with pytest.raises(DivergenceError, match="last update"):
        descend.gradient_descent(np.array([[1e25]], np.float32), np.zeros(1, np.float32),
                                 np.ones(1, np.float32), 1e-3, 1)


def test_estimator_partial_fit_last_update_overflow_raises():
    pytest.importorskip("sklearn")
    est = descend.GDRegressor(method="batch", optimizer="adam", learning_rate=1e-3)
    with pytest.raises(DivergenceError):
        est.partial_fit([[1e308], [1e308]], [1.0, 2.0])


@pytest.mark.parametrize("method", ["sgd", "minibatch"])
def test_an_epoch_that_ends_non_finite_raises(method):
    X = np.array([[1e200, 1.0], [1.0, 1e200]])
    with pytest.raises(DivergenceError):
        descend.fit(X, np.array([1.0, 0.0]), method=method, batch_size=1, learning_rate=1e10, max_iter=1,
                    tol=None, check_finite=True)


def test_retry_recovers_from_a_last_update_overflow():
    # The one step, -1e308 * (-2), overflows; a tenth of it does not.
    X, y = np.array([[1.0]]), np.array([1.0])
    with pytest.raises(DivergenceError, match="last update"):
        descend.fit(X, y, learning_rate=1e308, max_iter=1, tol=None)
    res = descend.fit(X, y, learning_rate=1e308, max_iter=1, tol=None, on_divergence="retry")
    assert np.isfinite(res.coef).all() and res.learning_rate == 1e307
    assert "after 1 retry" in res.message


# 3. softmax labels


@pytest.mark.parametrize("label", [1e7, 1e8, 2.0])
def test_softmax_label_beyond_the_row_count_names_y(label):
    with pytest.raises(ValueError, match=r"y's largest label .* np\.unique"):
        descend.fit(np.ones((2, 1)), np.array([0.0, label]), loss="softmax", max_iter=1)


def test_softmax_with_every_class_present_still_fits():
    X, _ = _data(seed=3, n=6)
    res = descend.fit(X, np.arange(6, dtype=float), loss="softmax", max_iter=2, learning_rate=0.1)
    assert res.coef.shape == (3, 6)


# 5. errors that name the argument


@pytest.mark.parametrize("name", ["max_iter", "batch_size", "n_iter_no_change"])
def test_integers_beyond_int64_name_the_argument(name):
    X, y = _data()
    with pytest.raises(ValueError, match=name):
        descend.fit(X, y, method="minibatch", **{name: 2**63})


def test_num_iterations_beyond_int64_is_named():
    X, y = _data()
    with pytest.raises(ValueError, match="num_iterations"):
        descend.gradient_descent(X, y, np.zeros(3), 0.01, 2**63)


@pytest.mark.parametrize("n_threads", [2**31, 2**63, 2**70])
def test_thread_counts_beyond_int32_are_named(n_threads):
    X, y = _data()
    with pytest.raises(ValueError, match="n_threads"):
        descend.fit(X, y, n_threads=n_threads)
    with pytest.raises(ValueError, match="^n must"):
        descend.set_num_threads(n_threads)


def test_a_huge_but_valid_thread_count_gives_the_same_bits():
    X, y = _data(seed=4, n=5000, d=8)
    many = descend.fit(X, y, learning_rate=0.1, max_iter=3, tol=None, n_threads=2**31 - 1)
    one = descend.fit(X, y, learning_rate=0.1, max_iter=3, tol=None, n_threads=1)
    np.testing.assert_array_equal(many.coef, one.coef)


def test_all_zero_sample_weights_are_named():
    with pytest.raises(ValueError, match="sample_weight is zero for every row"):
        descend.fit(np.ones((2, 1)), np.ones(2), sample_weight=np.zeros(2), intercept0=1e300)


def test_a_start_that_overflows_is_not_blamed_on_the_learning_rate():
    with pytest.raises(DivergenceError, match="not finite at the start") as info:
        descend.fit(np.ones((2, 1)), np.ones(2), intercept0=1e300, max_iter=3)
    assert "learning_rate" not in str(info.value)


def test_minimize_start_and_gradient_errors():
    with pytest.raises(DivergenceError, match=r"fun\(x0\) is not finite"):
        descend.minimize(lambda x: (float("inf"), np.ones_like(x)), np.zeros(2), jac=True)
    with pytest.raises(ValueError, match="gradient at step 0 contains NaN"):
        descend.minimize(lambda x: (1.0, np.full_like(x, np.nan)), np.zeros(2), jac=True)


@pytest.mark.parametrize("rule", ["GD", "Momentum", "Adam", "AdamW", "RMSprop", "Adagrad", "Nesterov"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_optim_refuses_a_non_finite_gradient_before_any_change(rule, bad):
    p1, p2 = np.arange(4.0), np.ones((2, 3), np.float32)
    opt = getattr(optim, rule)([p1, p2], lr=0.1)
    opt.step([np.ones(4), np.ones((2, 3))])
    before = [p1.copy(), p2.copy()]
    state = [[s.copy() for s in slots] for slots in opt.state]
    g2 = np.ones((2, 3))
    g2[1, 2] = bad
    with pytest.raises(ValueError, match=r"grads\[1\] contains NaN or infinity"):
        opt.step([np.ones(4), g2])
    np.testing.assert_array_equal(p1, before[0])  # the first array was not updated either
    np.testing.assert_array_equal(p2, before[1])
    for now, then in zip(opt.state, state):
        for a, b in zip(now, then):
            np.testing.assert_array_equal(a, b)
    assert opt.t == 1


def test_optim_check_finite_false_skips_the_check():
    p = np.zeros(3)
    opt = optim.GD(p, lr=0.1)
    opt.step(np.array([1.0, np.nan, 1.0]), check_finite=False)
    assert np.isnan(p[1]) and p[0] == -0.1
