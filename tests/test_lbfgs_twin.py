"""optimizer="lbfgs" in descend.reference (the twin the C++ core's L-BFGS is
checked against): it reaches the optimum that scipy's L-BFGS-B finds (and,
with l1, that a tight FISTA run finds, with the same exact zeros), never
returns NaN where a trial step overflows, and keeps its records (n_evals,
a finite and, without l1, non-increasing loss_history). The pieces (the
two-loop recursion, the pseudo-gradient, the line searches) are checked
against their textbook statements on small hand-made cases.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special
from conftest import seed_of

from descend import DivergenceError, reference

SMOOTH = ("squared", "logistic", "huber", "softmax")
K = 3  # softmax classes


def _problem(loss, seed, *, n=200, d=5, weights=False):
    """Raw (unstandardised) features: column scales 0.1 .. 10 and means off
    zero, so that precondition="auto" changes the path; labels drawn from
    the model (logistic, softmax: noisy, so the optimum is finite without l2)."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1, 1, d)
    X = rng.standard_normal((n, d)) * scales + rng.uniform(-2, 2, d)
    Z = (X - X.mean(axis=0)) / scales
    if loss == "softmax":
        P = Z @ rng.standard_normal((d, K)) * 0.7
        y = np.array([rng.choice(K, p=p) for p in scipy.special.softmax(P, axis=1)], np.float64)
    elif loss == "logistic":
        y = (rng.random(n) < scipy.special.expit(Z @ rng.standard_normal(d) * 0.7 + 0.3)).astype(np.float64)
    else:
        y = Z @ rng.standard_normal(d) + 1.5 + rng.standard_normal(n) * (3.0 if loss == "huber" else 0.5)
    w = rng.uniform(0.2, 2.0, n) if weights else None
    return X, y, w


def _shapes(loss, d):
    return ((d, K), K) if loss == "softmax" else ((d,), 1)


def _objective(X, y, w, loss, l2, fit_intercept):
    """J(x) and its gradient over x = (coef.ravel(), intercept(s)), from
    reference.loss_grad: the function scipy minimises."""
    coef_shape, k = _shapes(loss, X.shape[1])
    size = int(np.prod(coef_shape))

    def fun(x):
        coef = x[:size].reshape(coef_shape)
        b = (x[size:] if loss == "softmax" else x[size]) if fit_intercept else (np.zeros(k) if loss == "softmax" else 0.0)
        J, g, gb = reference.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)
        grad = np.concatenate([np.ravel(g), np.ravel(gb)]) if fit_intercept else np.ravel(g)
        return J, grad

    return fun, size + (k if fit_intercept else 0)


def _scipy_optimum(fun, size):
    res = scipy.optimize.minimize(fun, np.zeros(size), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "maxfun": 40000, "ftol": 1e-15, "gtol": 1e-12})
    return float(res.fun), int(res.nit), int(res.nfev)


def _lbfgs(X, y, w, loss, **kw):
    return reference.fit(X, y, loss=loss, optimizer="lbfgs", sample_weight=w, **kw)


def _final(res):
    """F at the parameters returned: a run stopped by gtol, tol or the line
    search returns the point its last check was made at."""
    assert res.status in ("gtol", "tol", "line_search"), res.status
    return float(res.loss_history[-1])


# ---------------------------------------------------------------------------
# 1. l1 = 0: scipy's L-BFGS-B optimum of the same objective.

GRID = [(loss, l2, weights, fit_intercept, precondition)
        for loss in SMOOTH for l2 in (0.0, 0.1) for weights in (False, True)
        for fit_intercept in (True, False) for precondition in (None, "auto")]
GRID_IDS = [f"{loss}-l2={l2}-{'weights' if weights else 'unweighted'}-{'intercept' if fi else 'no_intercept'}-"
            f"pre={pre}" for loss, l2, weights, fi, pre in GRID]


@pytest.mark.parametrize(("loss", "l2", "weights", "fit_intercept", "precondition"), GRID, ids=GRID_IDS)
def test_reaches_the_scipy_lbfgsb_optimum(loss, l2, weights, fit_intercept, precondition):
    X, y, w = _problem(loss, seed_of("lbfgs scipy", loss, weights), weights=weights)
    fun, size = _objective(X, y, w, loss, l2, fit_intercept)
    best, nit, nfev = _scipy_optimum(fun, size)
    start = fun(np.zeros(size))[0]
    assert start - best > 1e-3 * abs(best), "the problem's start is already near its optimum: no test"
    res = _lbfgs(X, y, w, loss, l2=l2, fit_intercept=fit_intercept, precondition=precondition,
                 tol=None, gtol=1e-10, max_iter=2000)
    found = _final(res)
    counts = (f"twin: {res.n_iter} iterations, {res.n_evals} evaluations, status {res.status}; "
              f"scipy L-BFGS-B: {nit} iterations, {nfev} evaluations")
    assert abs(found - best) <= 1e-8 * abs(best), f"objective {found!r} vs scipy's {best!r}; {counts}"
    # The parameters returned are the ones that objective belongs to.
    x = np.concatenate([np.ravel(res.coef), np.ravel(res.intercept)]) if fit_intercept else np.ravel(res.coef)
    assert fun(x)[0] == pytest.approx(found, rel=1e-13), counts
    assert res.loss_history[0] == pytest.approx(start, rel=1e-13)


# ---------------------------------------------------------------------------
# 2. l1 > 0 (OWL-QN): the optimum and the exact zeros of a tight FISTA run.

L1_GRID = [(loss, fit_intercept, precondition)
           for loss in SMOOTH for fit_intercept in (True, False) for precondition in (None, "auto")]
L1_IDS = [f"{loss}-{'intercept' if fi else 'no_intercept'}-pre={pre}" for loss, fi, pre in L1_GRID]
# l1 as a fraction of the largest gradient entry at coef = 0 (above it, all zeros)
L1_FRACTION = {"squared": 0.05, "logistic": 0.05, "huber": 0.1, "softmax": 0.2}


def _l1_problem(loss, fit_intercept, *, n=200, d=7):
    """(X, y, l1): y depends on columns 0, 2, 4 and 6 only, so that the l1
    solution has zeros and non-zeros; its zeros are not borderline (checked
    by the test: |g_j| <= 0.9 l1 there)."""
    rng = np.random.default_rng(seed_of("lbfgs l1", loss))
    scales = np.logspace(-1, 1, d)
    X = rng.standard_normal((n, d)) * scales + rng.uniform(-2, 2, d)
    Z = (X - X.mean(axis=0)) / scales
    used = np.arange(d) % 2 == 0
    if loss == "softmax":
        P = Z @ (rng.standard_normal((d, K)) * used[:, None])
        y = np.array([rng.choice(K, p=p) for p in scipy.special.softmax(P, axis=1)], np.float64)
    elif loss == "logistic":
        y = (rng.random(n) < scipy.special.expit(Z @ (rng.standard_normal(d) * used) + 0.3)).astype(np.float64)
    else:
        y = Z @ (rng.standard_normal(d) * used) + 1.5 + rng.standard_normal(n) * (3.0 if loss == "huber" else 0.5)
    coef_shape, k = _shapes(loss, d)
    _, g, _ = reference.loss_grad(X, y, np.zeros(coef_shape), np.zeros(k) if loss == "softmax" else 0.0, loss=loss)
    return X, y, L1_FRACTION[loss] * float(np.abs(g).max())


@pytest.fixture(scope="module")
def fista_solutions():
    """{(loss, fit_intercept): the FISTA twin's solution}, computed once."""
    return {}


@pytest.mark.parametrize(("loss", "fit_intercept", "precondition"), L1_GRID, ids=L1_IDS)
def test_owlqn_reaches_the_fista_optimum_and_its_zeros(loss, fit_intercept, precondition, fista_solutions):
    X, y, l1 = _l1_problem(loss, fit_intercept)
    key = (loss, fit_intercept)
    if key not in fista_solutions:
        fista_solutions[key] = reference.fit(X, y, loss=loss, optimizer="nesterov", momentum="auto",
                                             learning_rate="auto", precondition="auto", l1=l1,
                                             fit_intercept=fit_intercept, tol=None, gtol=1e-10, max_iter=100000)
    fista = fista_solutions[key]
    assert fista.status == "gtol", fista.status
    zeros = fista.coef == 0
    assert zeros.any() and not zeros.all(), "the FISTA solution should have zeros and non-zeros: no test"
    _, g, _ = reference.loss_grad(X, y, fista.coef, fista.intercept, loss=loss)
    assert np.all(np.abs(g[zeros]) <= 0.9 * l1), "a zero of the l1 solution is borderline: no test"

    res = _lbfgs(X, y, None, loss, l1=l1, fit_intercept=fit_intercept, precondition=precondition,
                 tol=None, gtol=1e-10, max_iter=2000)
    found, best = _final(res), float(fista.loss_history[-1])
    counts = (f"twin lbfgs: {res.n_iter} iterations, {res.n_evals} evaluations, status {res.status}; "
              f"FISTA: {fista.n_iter} iterations")
    assert abs(found - best) <= 1e-8 * abs(best), f"objective {found!r} vs FISTA's {best!r}; {counts}"
    assert np.array_equal(res.coef == 0, zeros), f"zeros {res.coef == 0} vs FISTA's {zeros}; {counts}"
    assert res.loss_history[0] - found > 1e-3 * abs(found), counts


# ---------------------------------------------------------------------------
# 3. Steps that overflow: never a NaN result.

# Raw columns of scales 1e150, 1 and 1e-2 and y of scale 1e153 (the objective
# near 1e306): precondition="auto" makes these seeds' quasi-Newton steps
# overshoot into trials whose objective overflows.
OVERFLOW_SEEDS = (1, 3, 8)


def _overflow_problem(seed):
    rng = np.random.default_rng(seed_of("lbfgs overflow", seed))
    return rng.standard_normal((50, 3)) * [1e150, 1.0, 1e-2], rng.standard_normal(50) * 1e153


@pytest.fixture
def passes(monkeypatch):
    """Counts the twin's passes over X and those whose objective or gradient
    is not finite (reference.fit evaluates through reference.loss_grad)."""
    counts = {"all": 0, "overflowed": 0}
    original = reference.loss_grad

    def counted(*args, **kwargs):
        J, g, gb = original(*args, **kwargs)
        counts["all"] += 1
        counts["overflowed"] += not (np.isfinite(J) and np.all(np.isfinite(g)) and np.all(np.isfinite(gb)))
        return J, g, gb

    monkeypatch.setattr(reference, "loss_grad", counted)
    return counts


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no_intercept"])
@pytest.mark.parametrize("l1", [0.0, 0.1], ids=["l1=0", "l1=0.1"])
@pytest.mark.parametrize("precondition", [None, "auto"], ids=["pre=None", "pre=auto"])
@pytest.mark.parametrize("seed", OVERFLOW_SEEDS)
def test_overflowing_trials_never_give_nan(seed, precondition, l1, fit_intercept, passes):
    X, y = _overflow_problem(seed)
    try:
        res = _lbfgs(X, y, None, "squared", l1=l1, fit_intercept=fit_intercept, precondition=precondition,
                     tol=None, gtol=1e-9, max_iter=200)
    except DivergenceError:
        return
    # (l1 on an objective near 1e306 may also creep on to max_iter, each trial a decrease)
    assert res.status in ("gtol", "line_search", "max_iter"), res.status
    assert np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.intercept)), (res.coef, res.intercept)
    assert np.all(np.isfinite(res.loss_history)) and np.isfinite(res.grad_norm)
    assert res.n_evals == passes["all"]
    assert res.loss_history[-1] < res.loss_history[0]  # it moved (the returned point is the last check's)
    if res.status == "line_search":
        assert res.message.startswith("the line search found no point that decreases the objective in 20")
    if precondition == "auto":  # the test's own check: these data do reach the overflow path
        assert passes["overflowed"] > 0, "no trial overflowed: the problem no longer tests the overflow path"


# ---------------------------------------------------------------------------
# 4. The records: n_evals, a finite (l1 = 0: non-increasing to rounding) loss_history,
#    learning_rate (bb's first step) and learning_rate_history.

RECORD_GRID = [(loss, precondition, l1) for loss in SMOOTH for precondition in (None, "auto") for l1 in (0.0, 0.01)]
RECORD_IDS = [f"{loss}-pre={pre}-l1={l1}" for loss, pre, l1 in RECORD_GRID]


@pytest.mark.parametrize(("loss", "precondition", "l1"), RECORD_GRID, ids=RECORD_IDS)
def test_records(loss, precondition, l1, passes):
    X, y, w = _problem(loss, seed_of("lbfgs records", loss), weights=True)
    kw = dict(l1=l1, l2=0.01, fit_intercept=True, precondition=precondition, tol=None)
    res = _lbfgs(X, y, w, loss, gtol=None, max_iter=12, **kw)
    assert res.status == "max_iter" and res.n_iter == 12 or res.status == "line_search", res.status
    assert res.n_evals == passes["all"] and res.n_evals >= res.n_iter + 1
    assert np.all(np.isfinite(res.loss_history))
    if l1 == 0:  # non-increasing, but for the objective's rounding (the approximate Wolfe conditions)
        rounding = 16 * len(y) * np.finfo(np.float64).eps * np.abs(res.loss_history[:-1])
        assert np.all(np.diff(res.loss_history) <= rounding), res.loss_history
    assert res.loss_history[-1] < res.loss_history[0] - 1e-3 * abs(res.loss_history[0])  # it moved, downhill
    bb = reference.fit(X, y, loss=loss, learning_rate="bb", sample_weight=w, max_iter=1, **kw)
    assert res.learning_rate == bb.learning_rate
    assert np.array_equal(res.learning_rate_history, np.full(res.n_iter, bb.learning_rate))
    # A run stopped by gtol: its last check is its last evaluation.
    passes["all"] = 0
    done = _lbfgs(X, y, w, loss, gtol=1e-6, max_iter=1000, **kw)
    assert done.status == "gtol" and done.n_evals == passes["all"] >= done.n_iter
    assert done.grad_norm <= 1e-6


def test_history_is_used():
    X, y, w = _problem("logistic", seed_of("lbfgs history"), d=5)
    runs = {h: _lbfgs(X, y, w, "logistic", history=h, tol=None, gtol=1e-10, max_iter=5000, fit_intercept=True)
            for h in (1, 3, 10)}
    assert runs[1].loss_history[3] != runs[10].loss_history[3]  # pairs 2 and 3 change iteration 3's direction
    best = min(_final(r) for r in runs.values())
    assert all(abs(_final(r) - best) <= 1e-8 * abs(best) for r in runs.values())
    assert runs[10].n_iter < runs[1].n_iter


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"history": 0}, ValueError, "history must be a whole number >= 1"),
    ({"history": 2.5}, ValueError, "history must be a whole number >= 1"),
    ({"history": True}, ValueError, "history must be a whole number >= 1"),
    ({"momentum": 0.9}, TypeError, "takes no"),
    ({"method": "sgd"}, ValueError, "method='batch' only"),
    ({"loss": "hinge"}, ValueError, "Lipschitz gradient"),
    ({"state": {}}, ValueError, "takes no state"),
], ids=["history=0", "history=2.5", "history=True", "momentum", "sgd", "hinge", "state"])
def test_what_lbfgs_refuses(kwargs, error, match):
    X, y, _ = _problem("logistic", 1)
    with pytest.raises(error, match=match):
        reference.fit(X, y, **{"loss": "logistic", "optimizer": "lbfgs", **kwargs})


# ---------------------------------------------------------------------------
# 5. The pieces against their textbook statements.


def _bfgs_inverse(pairs, gamma, p):
    """H by the BFGS inverse update, H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,
    from H0 = gamma diag(P), oldest pair first."""
    H = gamma * np.diag(p)
    eye = np.eye(len(p))
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        H = (eye - rho * np.outer(s, y)) @ H @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return H


@pytest.mark.parametrize("history", [1, 2, 5])
@pytest.mark.parametrize("metric", ["P=1", "P"])
def test_two_loop_is_the_bfgs_inverse_update(history, metric):
    rng = np.random.default_rng(seed_of("two loop", history, metric))
    size = 6
    p = np.ones(size) if metric == "P=1" else rng.uniform(0.1, 10, size)
    A = rng.standard_normal((size, size))
    A = A @ A.T + np.eye(size)  # s^T y > 0 for y = A s
    quasi = reference.Lbfgs(history, 0.37, p, size, 0.0)
    assert np.allclose(quasi.two_loop(np.arange(1.0, size + 1)), 0.37 * p * np.arange(1.0, size + 1), rtol=1e-15)
    pairs = [(s, A @ s) for s in rng.standard_normal((5, size))]
    for s, y in pairs:
        quasi.remember(s, y)
    quasi.remember(pairs[0][0], -pairs[0][1])  # s^T y < 0: not kept
    kept = pairs[-history:]
    assert len(quasi.pairs) == len(kept)
    s, y = kept[-1]
    q = rng.standard_normal(size)
    expected = _bfgs_inverse(kept, (s @ y) / (y @ (p * y)), p) @ q
    np.testing.assert_allclose(quasi.two_loop(q), expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def test_pseudo_gradient_orthant_and_projection():
    quasi = reference.Lbfgs(5, 1.0, np.ones(6), 5, 1.0)  # 5 coefficients, then an intercept
    u = np.array([2.0, -1.0, 0.0, 0.0, 0.0, 3.0])
    g = np.array([0.5, 0.5, -3.0, 2.5, 0.4, 0.7])
    v = quasi.pseudo_gradient(u, g)
    np.testing.assert_array_equal(v, [1.5, -0.5, -2.0, 1.5, 0.0, 0.7])
    np.testing.assert_array_equal(quasi.orthant(u, v), [1.0, -1.0, 1.0, -1.0, 0.0])
    trial = np.array([-0.1, -2.0, 0.5, 0.5, 0.0, -4.0])
    np.testing.assert_array_equal(quasi.project(trial, quasi.orthant(u, v)), [0.0, -2.0, 0.5, 0.0, 0.0, -4.0])
    d = np.array([-1.0, -1.0, 1.0, -1.0, 1.0, -0.7])
    np.testing.assert_array_equal(quasi.oppose(d.copy(), v), [-1.0, 0.0, 1.0, -1.0, 0.0, -0.7])


def test_direction_falls_back_to_the_scaled_pseudo_gradient():
    p = np.array([1.0, 2.0, 0.5])
    g = np.array([1.0, -2.0, 3.0])
    # uphill: a pair with s . y < 0 (never kept by remember) makes H = -I, d = v
    quasi = reference.Lbfgs(5, 0.25, p, 3, 0.0)
    quasi.pairs = [(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0]), -1.0)]
    np.testing.assert_allclose(quasi.two_loop(g), -p * g)
    d, v, dphi0 = quasi.direction(np.zeros(3), g)
    assert quasi.pairs == [] and dphi0 == -0.25 * np.sum(p * g * g)
    np.testing.assert_array_equal(d, -0.25 * p * g)
    # not finite: gamma = inf / inf
    quasi.pairs = [(np.full(3, 1e300), np.full(3, 1e300), 1e-300)]
    d, v, dphi0 = quasi.direction(np.zeros(3), g)
    assert quasi.pairs == [] and np.array_equal(d, -0.25 * p * g)
    # l1: the fallback is projected too (coefficient 0 at u = 0 with |g_0| <= l1: v_0 = 0, d_0 = 0)
    quasi = reference.Lbfgs(5, 0.25, p, 2, 1.5)
    quasi.pairs = [(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0]), -1.0)]
    d, v, dphi0 = quasi.direction(np.zeros(3), g)
    np.testing.assert_array_equal(v, [0.0, -0.5, 3.0])
    np.testing.assert_array_equal(d, [0.0, 0.25, -0.375])
    assert quasi.pairs == [] and dphi0 < 0


def _one_dimensional(f, df, evaluations):
    def trial_at(a):
        evaluations.append(a)
        phi = f(a)
        return (a, phi, df(a)) if np.isfinite(phi) else (a, np.inf, np.nan)
    return trial_at


@pytest.mark.parametrize(("name", "f", "df"), [
    ("quadratic-min-at-3", lambda a: (a - 3.0) ** 2, lambda a: 2 * (a - 3.0)),
    ("quadratic-min-at-0.01", lambda a: (a - 0.01) ** 2, lambda a: 2 * (a - 0.01)),
    ("quartic", lambda a: (a - 0.3) ** 4 - a * 1e-3, lambda a: 4 * (a - 0.3) ** 3 - 1e-3),
    ("overflow-past-0.5", lambda a: (a - 0.2) ** 2 if a < 0.5 else np.inf, lambda a: 2 * (a - 0.2)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_strong_wolfe_search_satisfies_its_conditions(name, f, df):
    phi0, dphi0 = f(0.0), df(0.0)
    evaluations = []
    t = reference.strong_wolfe_search(_one_dimensional(f, df, evaluations), phi0, dphi0)
    assert t is not None and evaluations[0] == 1.0 and len(evaluations) <= 20
    assert t[1] <= phi0 + 1e-4 * t[0] * dphi0 and abs(t[2]) <= -0.9 * dphi0, (t, evaluations)
    assert np.all(np.isfinite(evaluations))


def test_strong_wolfe_search_gives_up_after_20_evaluations():
    evaluations = []  # rounding noise: no decrease anywhere
    t = reference.strong_wolfe_search(_one_dimensional(lambda a: 1.0, lambda a: -1.0, evaluations), 1.0, -1.0)
    assert t is None and len(evaluations) == 20


def test_cubic_minimiser_is_exact_on_a_cubic():
    c = lambda a: a**3 - 3 * a  # noqa: E731  (minimum at 1)
    dc = lambda a: 3 * a * a - 3  # noqa: E731
    lo, hi = (0.2, c(0.2), dc(0.2)), (1.6, c(1.6), dc(1.6))
    assert reference._cubic_minimiser(lo, hi) == pytest.approx(1.0, rel=1e-12)
    assert reference._cubic_minimiser(hi, lo) == pytest.approx(1.0, rel=1e-12)
    # outside [lo + w/10, hi - w/10], or hi's value +inf: the midpoint
    assert reference._cubic_minimiser((0.0, 0.0, -1.0), (1.0, -0.999, 0.0)) == 0.5
    assert reference._cubic_minimiser((0.0, 0.0, -1.0), (1.0, np.inf, np.nan)) == 0.5


def test_orthant_backtracking_halves():
    evaluations = []

    def trial_at(a):
        evaluations.append(a)
        return (a, 10.0 if a > 0.1 else 0.5, -a)

    t = reference.orthant_backtracking(trial_at, 1.0)
    assert t[0] == 0.0625 and evaluations == [1.0, 0.5, 0.25, 0.125, 0.0625]
