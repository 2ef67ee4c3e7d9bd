"""descend.minimize: any differentiable function, any update rule (DESIGN.md §3).

The result follows scipy.optimize's conventions: x, fun, jac, nit, success,
status (0 converged, 1 max_iter, 2 stopped by the callback) and message.
"""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import optim, reference, schedules

from conftest import OPTIMIZERS, ill_conditioned_quadratic, known_answer, known_scalar, rosenbrock


def weighted_quadratic(seed=0, d=5):
    """f(x) = sum w (x - c)^2, minimum 0 at c."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal(d)
    w = rng.uniform(0.5, 2.0, d)

    def f(x):
        return float(np.sum(w * (x - c) ** 2))

    def g(x):
        return 2 * w * (x - c)

    return f, g, c


# ---------------------------------------------------------------------------
# (a), (b): it converges where it should, on the known-answer problems of
# tests/data/known_answers.txt (the C++ tests run the same ones).


def test_rosenbrock_with_adam():
    x0 = known_answer("rosenbrock.x0")
    x0_before = x0.copy()
    max_iter, gtol = int(known_scalar("rosenbrock.max_iter")), known_scalar("rosenbrock.gtol")
    evaluated = []

    def counted(x):
        evaluated.append(np.array(x, copy=True))
        return rosenbrock(x)

    res = descend.minimize(counted, x0, method="adam", learning_rate=known_scalar("rosenbrock.adam_learning_rate"),
                           max_iter=max_iter, gtol=gtol)
    assert res.success and res.status == 0, res.message
    # The work is bounded, counted rather than timed: one evaluation per
    # iteration plus the one at x0 (no line search, no extra calls), and
    # gtol is met in well under a quarter of max_iter (about 3200 today).
    assert len(evaluated) == res.nit + 1
    assert res.nit <= 5000
    np.testing.assert_array_equal(evaluated[0], x0)
    np.testing.assert_array_equal(evaluated[-1], res.x)
    assert np.linalg.norm(res.jac) <= gtol
    np.testing.assert_array_equal(known_answer("rosenbrock.x_star"), [1.0, 1.0])
    np.testing.assert_allclose(res.x, known_answer("rosenbrock.x_star"), atol=1e-4)
    assert res.fun < 1e-10
    np.testing.assert_array_equal(x0, x0_before)


def test_ill_conditioned_quadratic_with_nesterov():
    A, b, eigenvalues, x_star = ill_conditioned_quadratic()
    np.testing.assert_allclose(A @ x_star, b, rtol=0, atol=1e-12 * np.linalg.norm(b))
    d = len(b)
    max_iter, gtol = int(known_scalar("ill_conditioned.max_iter")), known_scalar("ill_conditioned.gtol")
    kappa = eigenvalues.max() / eigenvalues.min()
    assert kappa == pytest.approx(1e3, rel=1e-12)
    momentum = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    res = descend.minimize(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(d), method="nesterov",
                           learning_rate=1 / eigenvalues.max(), momentum=momentum, max_iter=max_iter, gtol=gtol)
    assert res.success and res.status == 0, res.message
    assert np.linalg.norm(res.jac) <= gtol
    np.testing.assert_allclose(res.jac, A @ res.x - b, rtol=1e-12, atol=1e-15)
    # ||x - x*|| <= ||g|| / lambda_min
    assert np.linalg.norm(res.x - x_star) <= gtol / eigenvalues.min() * (1 + 1e-6)
    # plain gd at the same rate is far slower: the momentum matters
    gd = descend.minimize(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(d), method="gd",
                          learning_rate=1 / eigenvalues.max(), max_iter=res.nit, gtol=gtol)
    assert gd.status == 1


# ---------------------------------------------------------------------------
# (c) every method goes downhill


LRS = {"gd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05, "adamw": 0.05}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("method", OPTIMIZERS)
def test_every_method_reduces_a_convex_function(method, dtype):
    f, g, c = weighted_quadratic(seed=OPTIMIZERS.index(method))
    x0 = np.zeros(5, dtype=dtype)
    res = descend.minimize(lambda x: (f(x), g(x)), x0, method=method, learning_rate=LRS[method],
                           max_iter=300, gtol=None)
    assert res.x.dtype == np.dtype(dtype)
    assert res.fun < 1e-2 * f(x0.astype(np.float64))
    assert np.linalg.norm(res.x - c) < 0.1 * np.linalg.norm(c)
    assert res.status == 1 and res.nit == 300


# ---------------------------------------------------------------------------
# (d) jac as a callable


@pytest.mark.parametrize("method", ["adam", "nesterov", "rmsprop"])
def test_separate_jac_gives_the_same_path(method):
    f, g, _ = weighted_quadratic(seed=3)
    x0 = np.full(5, 0.5)
    paths = {"both": [], "separate": []}
    a = descend.minimize(lambda x: (f(x), g(x)), x0, method=method, learning_rate=0.01, max_iter=80,
                         callback=lambda r: paths["both"].append(r.x))
    b = descend.minimize(f, x0, jac=g, method=method, learning_rate=0.01, max_iter=80,
                         callback=lambda r: paths["separate"].append(r.x))
    assert len(paths["both"]) == 81  # after each evaluation: x_0 .. x_80
    np.testing.assert_array_equal(np.array(paths["both"]), np.array(paths["separate"]))
    np.testing.assert_array_equal(a.x, b.x)
    assert (a.fun, a.nit, a.status) == (b.fun, b.nit, b.status)
    assert not np.allclose(a.x, x0)


# ---------------------------------------------------------------------------
# (e) the result


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_result_fields_are_consistent(dtype):
    f, g, c = weighted_quadratic(seed=4)
    x0 = np.asarray(np.linspace(-1, 1, 5), dtype=dtype)
    x0_before = x0.copy()
    res = descend.minimize(lambda x: (f(x), g(x)), x0, method="adam", learning_rate=0.05, max_iter=5000,
                           gtol=1e-4)
    assert isinstance(res, descend.MinimizeResult)
    assert res.success is True and res.status == 0
    assert "gtol" in res.message or "gradient" in res.message
    assert isinstance(res.nit, int) and 0 < res.nit < 5000
    assert isinstance(res.fun, float)
    assert res.x.dtype == np.dtype(dtype) and res.jac.dtype == np.dtype(dtype)
    assert res.x.shape == x0.shape == res.jac.shape
    # fun and jac belong to x
    assert res.fun == pytest.approx(f(res.x), rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(res.jac, g(res.x).astype(dtype), rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert np.linalg.norm(res.jac.astype(np.float64)) <= 1e-4
    # x0 is not modified, nor is it the result's array
    np.testing.assert_array_equal(x0, x0_before)
    assert not np.shares_memory(res.x, x0)
    np.testing.assert_allclose(res.x, c, atol=1e-3)


def test_x0_as_a_list_of_ints_becomes_float64():
    f, g, _ = weighted_quadratic(seed=5, d=3)
    res = descend.minimize(lambda x: (f(x), g(x)), [0, 1, 2], method="gd", learning_rate=0.1, max_iter=10)
    assert res.x.dtype == np.float64
    assert res.fun < f(np.array([0.0, 1.0, 2.0]))


def test_fun_sees_the_dtype_of_x0():
    seen = []
    f, g, _ = weighted_quadratic(seed=6, d=3)

    def fun(x):
        seen.append(x.dtype)
        return f(x), g(x)

    descend.minimize(fun, np.ones(3, np.float32), method="adam", learning_rate=0.01, max_iter=5)
    assert seen and set(seen) == {np.dtype(np.float32)}


# ---------------------------------------------------------------------------
# (f) stopping: max_iter, callback, tol


def test_max_iter_status_1():
    f, g, _ = weighted_quadratic(seed=7)
    for max_iter in (0, 1, 17):
        x0 = np.zeros(5)
        res = descend.minimize(lambda x: (f(x), g(x)), x0, method="gd", learning_rate=0.01, max_iter=max_iter,
                               gtol=1e-12)
        assert res.status == 1 and res.success is False and res.nit == max_iter
        assert "max_iter" in res.message
        assert res.fun == pytest.approx(f(res.x), rel=1e-14)
        if max_iter == 0:
            np.testing.assert_array_equal(res.x, x0)
        else:
            assert res.fun < f(x0)


def test_callback_true_stops_with_status_2():
    f, g, _ = weighted_quadratic(seed=8)
    seen = []

    def callback(r):
        seen.append((r.nit, r.x.copy(), r.fun))
        r.x[:] = 1e6  # a copy: changing it must not affect the run
        return r.nit == 6

    res = descend.minimize(lambda x: (f(x), g(x)), np.zeros(5), method="momentum", learning_rate=0.01,
                           max_iter=100, callback=callback)
    assert res.status == 2 and res.success is False and res.nit == 6
    assert "callback" in res.message
    assert [s[0] for s in seen] == list(range(7))
    np.testing.assert_array_equal(seen[-1][1], res.x)
    assert seen[-1][2] == res.fun
    assert all(a[2] > b[2] for a, b in zip(seen, seen[1:]))  # downhill, untouched by the callback's write


def test_callback_falsy_does_not_stop():
    f, g, _ = weighted_quadratic(seed=9)
    calls = []
    res = descend.minimize(lambda x: (f(x), g(x)), np.zeros(5), method="adam", learning_rate=0.01,
                           max_iter=12, gtol=None, callback=lambda r: calls.append(r.nit))
    # called after every evaluation, the last one (at max_iter) included
    assert res.status == 1 and res.nit == 12 and calls == list(range(13))


@pytest.mark.parametrize("n_iter_no_change", [1, 3])
def test_tol_stops_on_relative_change(n_iter_no_change):
    f, g, _ = weighted_quadratic(seed=10)
    f_offset = lambda x: f(x) + 2.0  # noqa: E731  (relative to |f| >= 2)
    tol = 1e-4
    history = []
    res = descend.minimize(lambda x: (f_offset(x), g(x)), np.zeros(5), method="gd", learning_rate=0.02,
                           max_iter=10000, tol=tol, n_iter_no_change=n_iter_no_change, gtol=None,
                           callback=lambda r: history.append(r.fun))
    assert res.success and res.status == 0 and "tol" in res.message
    history.append(res.fun)
    assert len(history) == res.nit + 1
    rel = [abs(a - b) / max(abs(a), abs(b), 1.0) for a, b in zip(history, history[1:])]
    small = [r <= tol for r in rel]
    # it stopped at the first run of n_iter_no_change small changes
    assert all(small[-n_iter_no_change:])
    for k in range(n_iter_no_change, len(small)):
        assert not all(small[k - n_iter_no_change:k])
    assert 1 < res.nit < 10000


def test_tol_and_gtol_none_run_to_max_iter():
    f, g, _ = weighted_quadratic(seed=11)
    res = descend.minimize(lambda x: (f(x), g(x)), np.zeros(5), method="gd", learning_rate=0.1,
                           max_iter=500, tol=None, gtol=None)
    assert res.status == 1 and res.nit == 500 and res.fun < 1e-20


# ---------------------------------------------------------------------------
# (g) divergence


def test_divergence_raises_naming_learning_rate():
    with pytest.raises(descend.DivergenceError, match=r"learning_rate=10\b") as info:
        descend.minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), method="gd", learning_rate=10.0,
                         max_iter=1000)
    assert "smaller" in str(info.value)


def test_nan_objective_raises_divergence():
    calls = []

    def fun(x):
        calls.append(1)
        return (float("nan") if len(calls) > 3 else float(x @ x)), 2 * x

    with pytest.raises(descend.DivergenceError, match="learning_rate"):
        descend.minimize(fun, np.ones(3), method="adam", learning_rate=0.01, max_iter=100)


# ---------------------------------------------------------------------------
# (h) bad input


def _fg(x):
    return float(x @ x), 2 * x


BAD = [
    ("unknown-method", lambda: descend.minimize(_fg, np.ones(2), method="lbfgs"), ValueError, "method"),
    ("method-not-str", lambda: descend.minimize(_fg, np.ones(2), method=3), TypeError, "method"),
    ("x0-nan", lambda: descend.minimize(_fg, np.array([1.0, np.nan])), ValueError, "x0"),
    ("x0-inf", lambda: descend.minimize(_fg, np.array([np.inf, 1.0])), ValueError, "x0"),
    ("x0-str", lambda: descend.minimize(_fg, np.array(["a", "b"])), TypeError, "x0"),
    ("jac-false", lambda: descend.minimize(lambda x: float(x @ x), np.ones(2), jac=False), TypeError, "jac"),
    ("scalar-with-jac-true", lambda: descend.minimize(lambda x: float(x @ x), np.ones(2), jac=True),
     TypeError, r"fun.*\(f, g\)|jac=True"),
    ("gradient-shape", lambda: descend.minimize(lambda x: (float(x @ x), np.ones(3)), np.ones(2)),
     ValueError, "gradient"),
    ("jac-callable-shape", lambda: descend.minimize(lambda x: float(x @ x), np.ones(2), jac=lambda x: 2 * x[:1]),
     ValueError, "gradient"),
    ("unknown-keyword", lambda: descend.minimize(_fg, np.ones(2), method="adam", momentum=0.9),
     TypeError, "momentum"),
    ("unknown-keyword-gd", lambda: descend.minimize(_fg, np.ones(2), method="gd", beta_1=0.9), TypeError, "beta_1"),
    ("bad-hyper", lambda: descend.minimize(_fg, np.ones(2), method="momentum", momentum=1.5), ValueError, "momentum"),
    # minimize's argument is learning_rate: the message must say so (not the optimizer's "lr")
    ("learning-rate-zero", lambda: descend.minimize(_fg, np.ones(2), learning_rate=0.0), ValueError,
     "learning_rate"),
    ("learning-rate-str", lambda: descend.minimize(_fg, np.ones(2), learning_rate="fast"), (TypeError, ValueError),
     "learning_rate"),
    ("max-iter-negative", lambda: descend.minimize(_fg, np.ones(2), max_iter=-1), ValueError, "max_iter"),
    ("max-iter-float", lambda: descend.minimize(_fg, np.ones(2), max_iter=2.5), TypeError, "max_iter"),
    ("tol-negative", lambda: descend.minimize(_fg, np.ones(2), tol=-1.0), ValueError, r"\btol\b"),
    ("gtol-negative", lambda: descend.minimize(_fg, np.ones(2), gtol=-1.0), ValueError, "gtol"),
    ("n-iter-no-change", lambda: descend.minimize(_fg, np.ones(2), n_iter_no_change=0), ValueError,
     "n_iter_no_change"),
    ("fun-not-callable", lambda: descend.minimize(3.0, np.ones(2)), TypeError, "fun"),
    ("callback-not-callable", lambda: descend.minimize(_fg, np.ones(2), callback=1), TypeError, "callback"),
]


@pytest.mark.parametrize("case,call,exc,match", BAD, ids=[b[0] for b in BAD])
def test_bad_input(case, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bad_input_leaves_x0_alone():
    x0 = np.array([1.0, 2.0])
    with pytest.raises(ValueError):
        descend.minimize(lambda x: (float(x @ x), np.ones(3)), x0)
    np.testing.assert_array_equal(x0, [1.0, 2.0])


# ---------------------------------------------------------------------------
# (i) a replay by hand


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_momentum_replay_by_hand(dtype):
    rng = np.random.default_rng(12)
    M = rng.standard_normal((6, 6))
    A = M @ M.T / 6 + 0.5 * np.eye(6)
    b = rng.standard_normal(6)
    fun = lambda x: (float(0.5 * x @ A @ x - b @ x), A @ x - b)  # noqa: E731
    x0 = rng.standard_normal(6).astype(dtype)
    N, lr, mu = 40, 0.05, 0.8
    res = descend.minimize(fun, x0, method="momentum", learning_rate=lr, momentum=mu, max_iter=N, gtol=None)

    x = x0.copy()
    opt = optim.Momentum(x, lr=lr, momentum=mu)
    for _ in range(N):
        opt.step(fun(x)[1])
    assert res.nit == N
    np.testing.assert_array_equal(res.x, x)
    f_end, g_end = fun(x)
    assert res.fun == f_end
    np.testing.assert_array_equal(res.jac, np.asarray(g_end, dtype))

    assert not np.allclose(res.x, x0)
    assert res.x.dtype == np.dtype(dtype)

    # and the float64 oracle follows the same path
    q = x0.astype(np.float64)
    rule = reference.Rule("momentum", 6, momentum=mu)
    for _ in range(N):
        q = rule.step(q, fun(q)[1], lr)
    if dtype == np.float64:
        np.testing.assert_allclose(res.x, q, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(res.x, q, rtol=1e-4, atol=1e-5)


def test_schedule_reaching_zero_runs_to_max_iter():
    """Cosine with eta_min=0 gives step size 0 after t_max: a valid schedule
    (PyTorch's default), so the run goes on to max_iter."""
    f, g, _ = weighted_quadratic(seed=14)
    schedule = schedules.Cosine(0.1, t_max=10)
    res = descend.minimize(lambda x: (f(x), g(x)), np.zeros(5), method="gd", learning_rate=schedule,
                           max_iter=25, gtol=None)
    q = np.zeros(5)
    for t in range(25):
        q = q - reference.schedule_at(schedule, t) * g(q)
    assert res.status == 1 and res.nit == 25
    np.testing.assert_allclose(res.x, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["gd", "adam"])
def test_schedule_as_learning_rate(method):
    """The clock counts step() calls: update t uses schedule(t)."""
    f, g, _ = weighted_quadratic(seed=13)
    schedule = schedules.Step(0.05, step_size=5, gamma=0.5)
    N = 30
    res = descend.minimize(lambda x: (f(x), g(x)), np.zeros(5), method=method, learning_rate=schedule,
                           max_iter=N, gtol=None)
    q = np.zeros(5)
    rule = reference.Rule(method, 5)
    for t in range(N):
        q = rule.step(q, g(q), reference.schedule_at(schedule, t))
    np.testing.assert_allclose(res.x, q, rtol=1e-12, atol=1e-14)
    constant = descend.minimize(lambda x: (f(x), g(x)), np.zeros(5), method=method, learning_rate=0.05,
                                max_iter=N, gtol=None)
    assert np.max(np.abs(constant.x - res.x)) > 1e-4
