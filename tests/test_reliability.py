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


# 6. The fuzz suite's findings (tests/test_fuzz.py), fixed in the Python layer


@pytest.mark.parametrize("name", ["y", "sample_weight", "coef0", "intercept0"])
def test_float64_values_beyond_float32_are_named_for_float32_x(name):
    # Was: a RuntimeWarning from the cast, then "contains NaN or infinity"
    # for an input that has neither.
    X, y = np.ones((3, 2), np.float32), np.ones(3)
    kwargs = {"y": y, "sample_weight": None, "coef0": None, "intercept0": None}
    kwargs[name] = 1e300 if name == "intercept0" else np.array([1.0, 1e300, 1.0][: 2 if name == "coef0" else 3])
    with pytest.raises(ValueError, match=rf"{name}(\[1\])? = 1e\+300 is beyond the range of float32, X's dtype"):
        descend.fit(X, kwargs.pop("y"), max_iter=1, **kwargs)


def test_estimator_y_beyond_float32_is_named():
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match=r"y\[0\] = 1e\+300 is beyond the range of float32"):
        descend.GDRegressor().fit(np.ones((2, 1), np.float32), np.array([1e300, 0.0]))


def test_loss_grad_at_a_point_that_overflows_raises():
    # Was: (inf, [inf], 1e300) returned from finite inputs.
    X, y = np.zeros((1, 1)), np.zeros(1)
    with pytest.raises(ValueError, match="not finite at this coef and intercept"):
        descend.loss_grad(X, y, np.zeros(1), 1e300)
    value, grad, _ = descend.loss_grad(X, y, np.zeros(1), 1e300, check_finite=False)
    assert value == np.inf and np.isfinite(grad).all()


@pytest.mark.parametrize("f", [None, "abc", np.array([1.0, 2.0])], ids=["None", "str", "array"])
def test_minimize_names_an_objective_that_is_not_a_number(f):
    # Was: float()'s own TypeError/ValueError ("... not 'NoneType'").
    with pytest.raises(TypeError, match="fun must return the objective as a real number"):
        descend.minimize(lambda x: (f, 2 * x), np.ones(2), max_iter=1)


def test_minimize_and_optim_refuse_a_complex_gradient():
    # Was: a ComplexWarning and the imaginary part dropped.
    with pytest.raises(TypeError, match="gradient must hold real numbers"):
        descend.minimize(lambda x: (float(x @ x), 2 * x + 1j), np.ones(2), max_iter=1)
    p = np.ones(2)
    with pytest.raises(TypeError, match=r"grads\[0\] must hold real numbers"):
        optim.Adam(p).step(np.ones(2) + 0.5j)
    np.testing.assert_array_equal(p, 1.0)


@pytest.mark.parametrize("rule", ["GD", "Adagrad", "Adam"])
def test_optim_learning_rate_beyond_float32_is_refused_for_float32_params(rule):
    # Was: the step size was infinity in float32, and a zero gradient made NaN parameters.
    p = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match="learning rate 1e\\+300 is beyond the range of float32"):
        getattr(optim, rule)(p, lr=1e300)
    opt = getattr(optim, rule)(p, lr=0.1)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        opt.lr = descend.schedules.Constant(1e300)
    assert opt.lr == 0.1
    opt.step(np.zeros(2, np.float32))
    np.testing.assert_array_equal(p, 0.0)
    descend.optim.GD(np.zeros(2), lr=1e300)  # float64 parameters: fine


def test_optim_gradient_beyond_float32_is_named_as_such():
    p = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"grads\[0\] contains NaN or infinity once cast to params\[0\]'s dtype"):
        optim.GD(p).step(np.array([1e300, 0.0]))


def test_load_model_of_deeply_nested_json_is_a_value_error(tmp_path):
    # Was: RecursionError from the json module.
    path = tmp_path / "model.json"
    path.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ValueError, match="nested too deeply"):
        descend.load_model(path)


def _model_file(tmp_path, **changes):
    import json

    d = descend.Model(loss="logistic", coef=np.array([0.5, -0.25]), intercept=0.125, feature_names=("a", "b"),
                      classes=["x", "y"]).to_dict()
    d.update(changes)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize("changes, match", [
    ({"coef": {"a": 10**400, "b": 1.0}}, "beyond float64's range"),        # was OverflowError
    ({"coef": {"a": 1.0, "b": [1.0, 2.0]}}, "every feature to a number"),  # was NumPy's "inhomogeneous shape"
    ({"features": [["a"], "b"]}, "list of names"),                       # was "unhashable type: 'list'"
    ({"intercept": None}, "intercept must be a number"),                   # was float()'s "not 'NoneType'"
    ({"intercept": 10**400}, "beyond float64's range"),                   # was OverflowError
])
def test_load_model_names_bad_numbers(tmp_path, changes, match):
    with pytest.raises(ValueError, match=match):
        descend.load_model(_model_file(tmp_path, **changes))


def _result(coef):
    return descend.FitResult(coef=coef, intercept=0.0, n_iter=0, converged=False, status="max_iter", message="",
                             loss_history=np.empty(0), grad_norm=0.0, learning_rate=0.1,
                             learning_rate_history=np.empty(0))


def test_save_model_refuses_a_scalar_or_complex_coef(tmp_path):
    # Were: IndexError, and a ComplexWarning with the imaginary part dropped.
    with pytest.raises(ValueError, match=r"shape \(n_features,\) or \(n_features, n_classes\), got \(\)"):
        descend.save_model(tmp_path / "m.json", _result(np.array(1.0)), loss="squared")
    with pytest.raises(TypeError, match="coef must hold real numbers"):
        descend.save_model(tmp_path / "m.json", _result(np.array([1.0 + 2j])), loss="squared")
    assert not (tmp_path / "m.json").exists()


def test_minimize_gradient_norm_beyond_1e154_is_finite():
    # Was: np.linalg.norm overflowed (a RuntimeWarning) and gtol saw inf.
    from descend._minimize import _norm

    assert _norm(np.array([3e200, 4e200])) == pytest.approx(5e200)
    assert _norm(np.array([3.0, 4.0])) == 5.0
    res = descend.minimize(lambda x: (1e300 * float(x @ x), 2e300 * x), np.full(2, 1e-10), max_iter=1, gtol=1e300)
    assert res.success and res.status == 0  # ||g|| = 2.8e290 <= gtol


@pytest.mark.filterwarnings("ignore:GDClassifier stopped at max_iter")
def test_classifier_partial_fit_keeps_every_class_of_classes():
    # Was: a first batch without the last class fitted a softmax over the
    # classes it held (coef_ of 2 rows for 3 classes, predict_proba of 2
    # columns), and the next batch holding that class raised ValueError.
    pytest.importorskip("sklearn")
    X, _ = _data(seed=5, n=30, d=2)
    y = np.repeat([0, 1, 2], 10)
    est = descend.GDClassifier(learning_rate=0.1)
    est.partial_fit(X[:10], y[:10], classes=[0, 1, 2])
    assert est.coef_.shape == (3, 2) and est.predict_proba(X).shape == (30, 3)
    est.partial_fit(X[10:], y[10:])
    assert est.coef_.shape == (3, 2)


# Found by the long fuzz profile (2026-12-07), once its draws changed.


@pytest.mark.parametrize("precondition", [None, "auto"])
def test_l1_grad_norm_at_a_rate_of_zero_is_the_least_subgradient(precondition):
    """A schedule ending at 0 (Cosine with eta_min=0): the proximal-gradient
    step (theta - prox(theta - lr g)) / lr was 0/0 = NaN; its limit is the
    least subgradient's norm, in the core and the twin alike."""
    from descend import reference, schedules

    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    kw = dict(max_iter=4, tol=None, learning_rate=schedules.Cosine(0.1, t_max=3), l1=1e-3,
              precondition=precondition, fit_intercept=True)
    res, ref = descend.fit(X, y, **kw), reference.fit(X, y, **kw)
    assert np.isfinite(res.grad_norm) and res.grad_norm > 0
    np.testing.assert_allclose(res.grad_norm, ref.grad_norm, rtol=1e-10)


def test_sgd_retries_say_where_the_last_attempt_started():
    """X of 1e300: every epoch overflows, from a finite start (objective 0.5).
    After the retries the message gave the monitor's start, the first
    epoch's inf mean, and then blamed the learning rate for a start that was
    not finite; it now gives the restart point's objective."""
    with pytest.raises(descend.DivergenceError, match=r"it started at 0\.5\).*after 5 retries"):
        descend.fit(np.array([[1e300], [1.0]]), np.array([1.0, 0.0]), method="sgd", on_divergence="retry",
                    max_iter=1)
