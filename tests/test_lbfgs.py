"""optimizer="lbfgs" in descend.fit (the core, lbfgs.hpp) against its twin
descend.reference.fit (tests/test_lbfgs_twin.py checks the twin against
SciPy's L-BFGS-B): the same iterations, evaluations and objectives over 50
iterations on every loss with a gradient, with and without l2, l1 (OWL-QN),
sample weights and preconditioning, on dense C/F, sparse CSR/CSC and the
Gram path; the same bits for any thread count; the arguments it refuses."""

import numpy as np
import pytest
import scipy.sparse as sp

import descend
from descend import reference

from conftest import seed_of

LOSSES = ("squared", "logistic", "huber", "softmax")


def _data(seed, loss, n=120, d=6):
    """Raw columns (scales 0.1 to 10, offsets): lbfgs needs a few tens of
    iterations, and the twin follows the core's path step for step."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.geomspace(0.1, 10.0, d) + rng.uniform(-2.0, 2.0, d)
    w = rng.uniform(0.5, 2.0, size=n)
    t = X @ rng.normal(size=d) / d
    if loss in ("squared", "huber"):
        y = t + 0.3 * rng.normal(size=n)
    elif loss == "logistic":
        y = (rng.random(n) < 1 / (1 + np.exp(-t))).astype(np.float64)
    else:
        y = rng.integers(0, 3, size=n).astype(np.float64)
        y[:3] = [0.0, 1.0, 2.0]
    return X, y, w


def _options(loss, l2, l1, precondition, fit_intercept=True, max_iter=50):
    return dict(loss=loss, method="batch", optimizer="lbfgs", l2=l2, l1=l1, precondition=precondition,
                fit_intercept=fit_intercept, max_iter=max_iter, tol=None, gtol=1e-6)


def _same_path(res, ref, rtol=1e-9, coef_rtol=None):
    assert res.status == ref.status, (res.message, ref.message)
    assert res.n_iter == ref.n_iter and res.n_evals == ref.n_evals, (res.n_iter, ref.n_iter, res.n_evals,
                                                                    ref.n_evals)
    np.testing.assert_allclose(res.loss_history, ref.loss_history, rtol=rtol, atol=0)
    scale = max(float(np.max(np.abs(ref.coef))), 1e-300)
    coef_rtol = rtol if coef_rtol is None else coef_rtol
    assert float(np.max(np.abs(np.asarray(res.coef) - ref.coef))) <= coef_rtol * scale
    np.testing.assert_allclose(res.intercept, ref.intercept, rtol=coef_rtol, atol=coef_rtol * scale)
    np.testing.assert_allclose(res.learning_rate, ref.learning_rate, rtol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("precondition", [None, "auto"], ids=["raw", "precondition"])
@pytest.mark.parametrize("l2, l1", [(0.0, 0.0), (1e-2, 0.0), (1e-3, 1e-2)], ids=["plain", "l2", "l1"])
@pytest.mark.parametrize("loss", LOSSES)
def test_core_follows_the_twin(loss, l2, l1, precondition, weighted, fit_intercept):
    X, y, w = _data(seed_of("lbfgs", loss, l2, l1, precondition, weighted, fit_intercept), loss)
    w = w if weighted else None
    options = _options(loss, l2, l1, precondition, fit_intercept)
    res = descend.fit(X, y, sample_weight=w, **options)
    ref = reference.fit(X, y, sample_weight=w, **options)
    # Softmax's objective is flat along a shift of every class's intercept
    # (and, without l2, of every class's coefficients): rounding moves the
    # iterates along it, far more than the objective, on raw columns.
    flat = loss == "softmax" and precondition is None
    _same_path(res, ref, coef_rtol=1e-6 if flat else None)
    # Not the start: the objective fell.
    assert res.loss_history[-1] < res.loss_history[0] - 1e-3 * abs(res.loss_history[0])


@pytest.mark.parametrize("layout", ["F", "csr", "csc", "gram"])
@pytest.mark.parametrize("l1", [0.0, 1e-2])
def test_every_layout_follows_the_twin(layout, l1):
    loss = "squared" if layout == "gram" else "logistic"
    X, y, w = _data(seed_of("lbfgs layout", layout, l1), loss)
    options = _options(loss, 1e-3, l1, "auto")
    ref = reference.fit(X, y, sample_weight=w, precompute=layout == "gram", **options)
    data = {"F": np.asfortranarray(X), "csr": sp.csr_matrix(X), "csc": sp.csc_matrix(X), "gram": X}[layout]
    res = descend.fit(data, y, sample_weight=w, precompute=layout == "gram", **options)
    # The Gram path's objective comes from S's sums: the same math, other rounding.
    _same_path(res, ref, rtol=1e-9 if layout != "gram" else 1e-7)


def test_float32_follows_the_twin_to_its_precision():
    X, y, _ = _data(seed_of("lbfgs f32"), "logistic")
    options = _options("logistic", 1e-2, 0.0, "auto", max_iter=15)
    res = descend.fit(X.astype(np.float32), y.astype(np.float32), **options)
    ref = reference.fit(X.astype(np.float32), y, **options)
    assert res.coef.dtype == np.float32
    np.testing.assert_allclose(res.loss_history, ref.loss_history, rtol=1e-5)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_same_bits_for_any_thread_count(threads):
    X, y, _ = _data(seed_of("lbfgs threads"), "logistic", n=5000, d=20)
    options = _options("logistic", 1e-4, 1e-3, "auto", max_iter=20)
    one = descend.fit(X, y, n_threads=1, **options)
    res = descend.fit(X, y, n_threads=threads, **options)
    np.testing.assert_array_equal(res.coef, one.coef)
    np.testing.assert_array_equal(res.loss_history, one.loss_history)


def test_reaches_the_optimum_of_an_ill_conditioned_problem_in_few_passes():
    # kappa(X^T X) ~ 1e6 before the offsets and scales (test_converge's problem):
    # gd-type rules need thousands of passes; lbfgs tens.
    from test_converge import _ill_conditioned, _ridge_solution

    X, y = _ill_conditioned(seed_of("lbfgs kappa 1e6"), decades=3.0)
    coef, intercept = _ridge_solution(X, y, 1e-4)
    res = descend.fit(X, y, optimizer="lbfgs", precondition="auto", l2=1e-4, fit_intercept=True, tol=None,
                      gtol=1e-8, max_iter=1000)
    # Near 1e-8 the objective's decrease along a step is below its rounding:
    # the run meets gtol or its line search stops there ("line_search").
    assert res.status in ("gtol", "line_search"), res.message
    assert np.linalg.norm(res.coef - coef) <= 1e-5 * np.linalg.norm(coef)
    assert res.n_evals < 300, res.n_evals


def test_l1_gives_exact_zeros():
    X, y, _ = _data(seed_of("lbfgs zeros"), "squared", d=12)
    res = descend.fit(X, y, optimizer="lbfgs", precondition="auto", l1=0.05, fit_intercept=True, tol=None,
                      gtol=1e-8, max_iter=500)
    fista = descend.fit(X, y, optimizer="nesterov", momentum="auto", learning_rate="auto", precondition="auto",
                        l1=0.05, fit_intercept=True, tol=None, gtol=1e-10, max_iter=100_000)
    assert 0 < np.count_nonzero(fista.coef) < len(fista.coef)
    np.testing.assert_array_equal(res.coef == 0, fista.coef == 0)
    assert res.loss_history[-1] <= fista.loss_history[-1] * (1 + 1e-8)


def test_a_failed_line_search_stops_at_the_last_check():
    # gtol far below rounding: the search runs out of trials that decrease
    # the objective, and the fit stops there, not with NaN.
    X, y, _ = _data(seed_of("lbfgs line search"), "squared")
    res = descend.fit(X, y, optimizer="lbfgs", l2=1e-3, fit_intercept=True, tol=None, gtol=1e-30, max_iter=500)
    assert res.status == "line_search" and not res.converged, res.message
    assert "line search" in res.message
    assert np.isfinite(res.coef).all() and np.isfinite(res.loss_history).all()
    ref = reference.fit(X, y, optimizer="lbfgs", l2=1e-3, fit_intercept=True, tol=None, gtol=1e-30, max_iter=500)
    assert ref.status == "line_search"


def test_n_evals_counts_the_passes_of_every_rule():
    X, y, _ = _data(seed_of("lbfgs evals"), "squared")
    gd = descend.fit(X, y, learning_rate=1e-3, max_iter=7, tol=None)
    assert gd.n_evals == 7
    sgd = descend.fit(X, y, method="sgd", learning_rate=1e-3, max_iter=4, tol=None)
    assert sgd.n_evals == 4
    lbfgs = descend.fit(X, y, optimizer="lbfgs", max_iter=7, tol=None)
    assert lbfgs.n_evals >= 8


@pytest.mark.parametrize("options, error, message", [
    (dict(method="sgd"), ValueError, "needs method='batch'"),
    (dict(method="minibatch"), ValueError, "needs method='batch'"),
    (dict(loss="hinge"), ValueError, "Lipschitz"),
    (dict(history=0), ValueError, "history"),
    (dict(history=2.5), ValueError, "history"),
    (dict(momentum=0.9), (TypeError, ValueError), "momentum"),
])
def test_refuses(options, error, message):
    X, y, _ = _data(seed_of("lbfgs refuses"), "logistic")
    with pytest.raises(error, match=message):
        descend.fit(X, y, optimizer="lbfgs", **options)


def test_the_core_optimizer_refuses_lbfgs():
    # descend.optim has no LBFGS class; the core's elementwise Optimizer refuses the name too.
    assert not hasattr(descend.optim, "LBFGS")
    with pytest.raises(ValueError, match="minimize"):
        descend._core.Optimizer("lbfgs", {}, np.zeros(3), "param", None, 1)
