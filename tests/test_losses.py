"""What each loss computes (DESIGN.md §2): the value and the gradient of
squared, logistic, hinge, huber and softmax through descend.loss_grad.

The values and gradients are checked against formulas written out here
(the textbook mean of squares, the log loss, scipy's logsumexp for softmax,
PyTorch's HuberLoss, the hinge with its subgradient 0 at the kink), the
gradients against central differences of the value, and the logistic and
softmax losses for stability at huge predictions; the oracle
descend.reference.loss_grad is checked against a per-row loop in plain
Python floats. Loss-specific bad inputs (labels, delta, softmax's coef) are
rejected here too. The fused kernel as a kernel (the grid of dtypes, layouts
and partition chunks against the oracle, threads, out=, inputs left alone)
is tested in test_kernels.py.

Tolerances: float64 ~1e-12 relative; float32 gradients come back rounded
to float32.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from scipy.special import logsumexp, softmax

import descend
from descend import reference

from conftest import (
    GRAD_RTOL,
    LOSS_CASES,
    LOSS_IDS,
    NORM_RTOL,
    SQUARED_LOGISTIC,
    assert_close_to_scale,
    assert_norm_close,
    flat,
    hinge_huber_softmax_problem,
    kwargs_of,
    linear_problem,
    seed_of,
    sum_scales,
)


# ---------------------------------------------------------------------------
# 1. The conventions, frozen by explicit formulas (DESIGN §2).


def _explicit(loss, X, y, coef, b, w, l2):
    """DESIGN §2 written out: J = (1/n) sum w_i loss(p_i, y_i) + (l2/2)||c||^2."""
    n = X.shape[0]
    p = X @ coef + b
    if loss == "squared":
        J = np.sum(w * (p - y) ** 2) / n + l2 / 2 * np.sum(coef**2)
        r = w * 2.0 * (p - y)
    else:
        J = np.mean(w * (np.log(1.0 + np.exp(p)) - y * p)) + l2 / 2 * np.sum(coef**2)
        r = w * (1.0 / (1.0 + np.exp(-p)) - y)
    return J, X.T @ r / n + l2 * coef, np.sum(r) / n


def test_squared_is_the_textbook_mean_of_squares():
    """J = (1/n)||X c - y||^2, grad = (2/n) X^T (X c - y): no 1/2 factor, mean over n."""
    X, y, coef, _ = linear_problem("squared", (73, 5), seed=seed_of("textbook"))
    n = X.shape[0]
    value, grad, grad_b = descend.loss_grad(X, y, coef)
    residual = X @ coef - y
    np.testing.assert_allclose(value, residual @ residual / n, rtol=1e-12)
    np.testing.assert_allclose(grad, 2.0 / n * X.T @ residual, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(grad_b, 2.0 / n * residual.sum(), rtol=1e-11, atol=1e-13)
    # gradient_descent's step is exactly this gradient.
    theta = descend.gradient_descent(X, y, coef, 0.1, 1)
    np.testing.assert_allclose(theta, coef - 0.1 * grad, rtol=1e-13, atol=1e-15)


def test_logistic_is_the_mean_log_loss():
    """J = mean(log(1 + exp(p)) - y p), grad = X^T (sigmoid(p) - y) / n."""
    X, y, coef, _ = linear_problem("logistic", (81, 4), seed=seed_of("logloss"))
    b = 0.3
    p = X @ coef + b
    assert np.abs(p).max() < 30  # the naive formula is exact enough here
    value, grad, grad_b = descend.loss_grad(X, y, coef, b, loss="logistic")
    np.testing.assert_allclose(value, np.mean(np.log(1.0 + np.exp(p)) - y * p), rtol=1e-12)
    sig = 1.0 / (1.0 + np.exp(-p))
    np.testing.assert_allclose(grad, X.T @ (sig - y) / len(y), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(grad_b, np.mean(sig - y), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_weights_scale_rows_and_the_mean_divides_by_n(loss):
    """Weights multiply each row's loss, zero-weight rows still count in n,
    the l2 term is (l2/2)||coef||^2 and the intercept is not regularised."""
    X, y, coef, w = linear_problem(loss, (64, 7), weights=True, seed=seed_of("weights", loss))
    assert (w == 0).any()
    b, l2 = -0.4, 0.8
    expected = _explicit(loss, X, y, coef, b, w, l2)
    for name, got in [
        ("descend", descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)),
        ("reference", reference.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)),
    ]:
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-10, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(got[2], expected[2], rtol=1e-10, atol=1e-13, err_msg=name)
    # Integer weights are the same as repeating rows, except that n counts
    # the repeats: J(weights k) * n == J(repeated rows) * sum(k).
    k = np.random.default_rng(seed_of("repeat", loss)).integers(0, 4, X.shape[0]).astype(np.float64)
    k[0] = 2.0
    rep = np.repeat(np.arange(X.shape[0]), k.astype(int))
    Jw, gw, bw = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=k)
    Jr, gr, br = descend.loss_grad(X[rep], y[rep], coef, b, loss=loss)
    m = len(rep)
    np.testing.assert_allclose(Jw * X.shape[0], Jr * m, rtol=1e-12)
    np.testing.assert_allclose(gw * X.shape[0], gr * m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bw * X.shape[0], br * m, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_softmax_formula(k, dtype):
    """J = mean(w_i (logsumexp(P_i) - P_i,y_i)) + l2/2 ||W||^2, dJ/dP = softmax(P) - onehot(y)."""
    rng = np.random.default_rng(seed_of("softmax formula", k, dtype.__name__))
    n, d = 500, 6
    X, y, W, b = hinge_huber_softmax_problem(rng, "softmax", k, (n, d), dtype, "F")
    w = rng.uniform(0.0, 3.0, size=n).astype(dtype)
    l2 = 0.05
    X64, W64, b64, w64 = (np.asarray(a, np.float64) for a in (X, W, b, w))
    labels = y.astype(np.int64)
    P = X64 @ W64 + b64
    J = np.mean(w64 * (logsumexp(P, axis=1) - P[np.arange(n), labels])) + 0.5 * l2 * np.sum(W64**2)
    R = softmax(P, axis=1) - np.eye(k)[labels]
    G = X64.T @ (w64[:, None] * R) / n + l2 * W64
    gb = (w64[:, None] * R).sum(axis=0) / n
    value, grad, grad_b = descend.loss_grad(X, y, W, b, loss="softmax", sample_weight=w, l2=l2)
    rtol = NORM_RTOL[dtype]
    assert value == pytest.approx(J, rel=rtol)
    assert_norm_close(flat(grad, grad_b), flat(G, gb), rtol)
    # The intercept gradient of softmax sums to zero over the classes.
    assert abs(grad_b.sum()) <= 1e-12 * np.abs(grad_b).sum()


@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_huber_formula(delta, dtype):
    """PyTorch's HuberLoss: 0.5 r^2 if |r| < delta else delta (|r| - 0.5 delta); grad clamp(r)."""
    rng = np.random.default_rng(seed_of("huber formula", delta, dtype.__name__))
    n, d = 700, 5
    X, y, c, b = hinge_huber_softmax_problem(rng, "huber", None, (n, d), dtype, "C")
    X64, y64, c64, b64 = (np.asarray(a, np.float64) for a in (X, y, c, b))
    r = X64 @ c64 + b64 - y64
    assert np.any(np.abs(r) < delta) and np.any(np.abs(r) > delta)
    torch_huber = np.where(np.abs(r) < delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    slope = np.where(np.abs(r) < delta, r, delta * np.sign(r))
    l2 = 0.1
    J = torch_huber.mean() + 0.5 * l2 * c64 @ c64
    G = X64.T @ slope / n + l2 * c64
    value, grad, grad_b = descend.loss_grad(X, y, c, b, loss="huber", delta=delta, l2=l2)
    rtol = NORM_RTOL[dtype]
    assert value == pytest.approx(J, rel=rtol)
    assert_norm_close(flat(grad, grad_b), flat(G, slope.mean()), rtol)


def test_huber_default_delta_is_one():
    rng = np.random.default_rng(seed_of("huber default"))
    X, y, c, b = hinge_huber_softmax_problem(rng, "huber", None, (200, 3), np.float64, "C")
    assert descend.loss_grad(X, y, c, b, loss="huber")[0] == descend.loss_grad(X, y, c, b, loss="huber",
                                                                                delta=1.0)[0]
    assert descend.loss_grad(X, y, c, b, loss="huber")[0] != descend.loss_grad(X, y, c, b, loss="huber",
                                                                                delta=0.5)[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_hinge_formula_and_kink(dtype):
    """max(0, 1 - s p), s = 2y - 1; subgradient -s where the margin is violated, 0 at the kink."""
    rng = np.random.default_rng(seed_of("hinge formula", dtype.__name__))
    n, d = 600, 4
    X, y, c, b = hinge_huber_softmax_problem(rng, "hinge", None, (n, d), dtype, "F")
    X64, y64, c64, b64 = (np.asarray(a, np.float64) for a in (X, y, c, b))
    s = 2 * y64 - 1
    p = X64 @ c64 + b64
    assert np.any(1 - s * p > 0) and np.any(1 - s * p < 0)
    J = np.mean(np.maximum(0.0, 1 - s * p))
    slope = np.where(1 - s * p > 0, -s, 0.0)
    value, grad, grad_b = descend.loss_grad(X, y, c, b, loss="hinge")
    rtol = NORM_RTOL[dtype]
    assert value == pytest.approx(J, rel=rtol)
    assert_norm_close(flat(grad, grad_b), flat(X64.T @ slope / n, slope.mean()), rtol)

    # Rows exactly at the kink (p = 1 for y = 1, p = -1 for y = 0; every
    # product and sum below is exact in binary floating point), mixed
    # with rows that violate the margin.
    coef = np.array([1.0, 2.0], dtype)
    Xk = np.array([[0.5, 0.25],    # p = 1,    y = 1: at the kink, loss 0, subgradient 0
                   [-0.5, -0.25],  # p = -1,   y = 0: at the kink
                   [0.25, 0.125],  # p = 0.5,  y = 1: loss 0.5, slope -1
                   [0.5, 0.0],     # p = 0.5,  y = 0: loss 1.5, slope +1
                   [1.0, 1.0]],    # p = 3,    y = 1: beyond the margin, loss 0
                  dtype)
    yk = np.array([1, 0, 1, 0, 1], dtype)
    pk = Xk.astype(np.float64) @ coef.astype(np.float64)
    assert list(pk[:2]) == [1.0, -1.0]
    sk = 2 * yk.astype(np.float64) - 1
    slope_k = np.where(1 - sk * pk > 0, -sk, 0.0)
    assert list(slope_k) == [0.0, 0.0, -1.0, 1.0, 0.0]
    value, grad, grad_b = descend.loss_grad(Xk, yk, coef, loss="hinge")
    assert value == np.mean(np.maximum(0.0, 1 - sk * pk)) == 2.0 / 5
    assert np.array_equal(grad, (Xk.astype(np.float64).T @ slope_k / 5).astype(dtype))
    assert grad_b == 0.0
    # Only kink rows: loss 0 and gradient exactly 0 (not -s).
    value, grad, grad_b = descend.loss_grad(Xk[:2], yk[:2], coef, loss="hinge")
    assert value == 0.0 and not np.any(grad) and grad_b == 0.0
    # Nudged just inside the margin the subgradient is -s.
    value, grad, grad_b = descend.loss_grad(Xk[:1], yk[:1], coef, -0.125, loss="hinge")
    assert value == 0.125 and np.array_equal(grad, -Xk[0]) and grad_b == -1.0



# ---------------------------------------------------------------------------
# 2. The oracle itself, against a per-row loop.


def _per_row(loss, X, y, coef, b, w, l2):
    """The objective in plain Python floats, one row at a time (math module only)."""
    n, d = X.shape
    J, g, gb = 0.0, [0.0] * d, 0.0
    for i in range(n):
        p = math.fsum(float(X[i, j]) * float(coef[j]) for j in range(d)) + b
        yi, wi = float(y[i]), float(w[i])
        if loss == "squared":
            J += wi * (p - yi) ** 2
            r = wi * 2.0 * (p - yi)
        else:
            J += wi * ((p + math.log1p(math.exp(-p)) if p > 0 else math.log1p(math.exp(p))) - yi * p)
            r = wi * ((1.0 / (1.0 + math.exp(-p)) if p >= 0 else math.exp(p) / (1.0 + math.exp(p))) - yi)
        for j in range(d):
            g[j] += r * float(X[i, j])
        gb += r
    J = J / n + 0.5 * l2 * math.fsum(float(c) ** 2 for c in coef)
    return J, np.array([gj / n + l2 * float(c) for gj, c in zip(g, coef)]), gb / n


@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_reference_oracle_matches_a_per_row_loop(loss):
    X, y, coef, w = linear_problem(loss, (37, 4), weights=True, seed=seed_of("oracle", loss))
    coef = coef * 3.0  # some |p| > 1 for the logistic branches
    b, l2 = 0.25, 0.1
    expected = _per_row(loss, X, y, coef, b, w, l2)
    got = reference.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-10, atol=1e-13)
    # and the pointwise losses and derivatives the oracle is built from
    p = np.linspace(-40, 40, 161)
    for yv in (0.0, 1.0):
        value, deriv = reference.LOSSES[loss]
        if loss == "squared":
            np.testing.assert_array_equal(value(p, yv), (p - yv) * (p - yv))
            np.testing.assert_array_equal(deriv(p, yv), 2 * (p - yv))
        else:
            # log1p(exp(p)) - p cancels: the formula itself is off by up
            # to an ulp of |p| (7e-15 at 40) where the loss is near 0.
            np.testing.assert_allclose(value(p, yv), np.log1p(np.exp(p)) - yv * p, rtol=1e-13, atol=2e-14)
            np.testing.assert_allclose(deriv(p, yv), 1 / (1 + np.exp(-p)) - yv, rtol=1e-12, atol=1e-15)



# ---------------------------------------------------------------------------
# 3. The gradient is the derivative of the value.


@pytest.mark.parametrize(
    "shape, order",
    [pytest.param((40, 6), "C", id="40x6-C"), pytest.param((2049, 64), "F", id="2049x64-F-5chunks")],
)
@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_gradient_matches_central_differences(loss, shape, order):
    X, y, coef, w = linear_problem(loss, shape, order=order, weights=True, seed=seed_of("fd", loss, shape))
    b, l2 = 0.6, 0.25
    value, grad, grad_b = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)

    def J(c, bb):
        return descend.loss_grad(X, y, c, bb, loss=loss, sample_weight=w, l2=l2)[0]

    h = 1e-5
    fd = np.empty_like(coef)
    for j in range(len(coef)):
        e = np.zeros_like(coef)
        e[j] = h
        fd[j] = (J(coef + e, b) - J(coef - e, b)) / (2 * h)
    fd_b = (J(coef, b + h) - J(coef, b - h)) / (2 * h)
    _, s_grad, s_b = sum_scales(loss, X, y, coef, b, w, l2)
    assert np.linalg.norm(grad) > 1e-3 * np.linalg.norm(s_grad) and abs(grad_b) > 1e-3 * s_b
    assert_close_to_scale(grad, fd, s_grad, 1e-6, "grad vs central differences")
    assert_close_to_scale(grad_b, fd_b, s_b, 1e-6, "grad_intercept vs central differences")
    assert value == J(coef, b)  # deterministic: the same call gives the same value


def central_differences(f, x, h):
    """d f / d x by central differences, one coordinate at a time."""
    x = np.array(x, np.float64)
    g = np.empty(x.size)
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        g[j] = (f((x.ravel() + e).reshape(x.shape)) - f((x.ravel() - e).reshape(x.shape))) / (2 * h)
    return g.reshape(x.shape)


def away_from_kinks(loss, delta, X, y, coef, b, margin):
    """Rows whose loss is smooth within `margin` of the prediction."""
    p = X @ coef + b
    if loss == "huber":
        return np.abs(np.abs(p - y) - delta) > margin
    return np.abs(1.0 - (2 * y - 1) * p) > margin  # hinge


@pytest.mark.parametrize("with_weights", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss, delta, k", LOSS_CASES, ids=LOSS_IDS)
def test_hinge_huber_softmax_gradient_matches_finite_differences(loss, delta, k, with_weights):
    rng = np.random.default_rng(seed_of("fd", loss, delta, k, with_weights))
    X, y, coef, b = hinge_huber_softmax_problem(rng, loss, k, (400, 4), np.float64, "C")
    if loss == "hinge":
        coef = coef * 3.0  # margins well on both sides of the kink
    if loss != "softmax":
        # Perturbations of 1e-5 move p by < 1e-3: drop rows within 0.05 of a kink.
        keep = away_from_kinks(loss, delta, X, y, coef, b, 0.05)
        X, y = np.ascontiguousarray(X[keep]), y[keep]
        p = X @ coef + b
        if loss == "huber":  # both pieces are exercised
            assert np.any(np.abs(p - y) < delta) and np.any(np.abs(p - y) > delta)
        else:
            assert np.any(1 - (2 * y - 1) * p > 0) and np.any(1 - (2 * y - 1) * p < 0)
    w = rng.uniform(0.0, 2.0, size=len(y)) if with_weights else None
    l2 = 0.2
    kw = kwargs_of(loss, delta)
    _, grad, grad_b = descend.loss_grad(X, y, coef, b, sample_weight=w, l2=l2, **kw)

    def value_at_coef(c):
        return descend.loss_grad(X, y, c, b, sample_weight=w, l2=l2, **kw)[0]

    def value_at_intercept(bb):
        return descend.loss_grad(X, y, coef, bb if loss == "softmax" else float(bb[0]), sample_weight=w,
                                 l2=l2, **kw)[0]

    h = 1e-5
    fd_coef = central_differences(value_at_coef, coef, h)
    fd_b = central_differences(value_at_intercept, np.atleast_1d(b), h)
    # Piecewise quadratic (huber, hinge): exact up to rounding ~eps J / h;
    # softmax: + O(h^2) truncation.
    assert_norm_close(flat(grad, grad_b), flat(fd_coef, fd_b), 1e-7, "finite differences")



# ---------------------------------------------------------------------------
# 4. Stability at huge predictions.


def _stable_logistic(X, y, coef, b):
    p = np.asarray(X, np.float64) @ np.asarray(coef, np.float64) + b
    y = np.asarray(y, np.float64)
    n = len(y)
    r = scipy.special.expit(p) - y
    return np.mean(np.logaddexp(0.0, p) - y * p), np.asarray(X, np.float64).T @ r / n, np.sum(r) / n, p


@pytest.mark.parametrize("scale", [1e3, 1e5], ids=["p~1e3", "p~1e5"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_logistic_is_stable_for_huge_p(dtype, scale):
    X, y, coef, _ = linear_problem("logistic", (300, 4), dtype=dtype, seed=seed_of("huge", scale))
    X = X.astype(np.float64)
    p = X @ coef.astype(np.float64)
    coef = (coef.astype(np.float64) * scale / np.abs(p).min()).astype(dtype)  # every |p| >= ~scale
    X = X.astype(dtype)
    value, grad, grad_b = descend.loss_grad(X, y, coef, loss="logistic")
    J, g, gb, p = _stable_logistic(X, y, coef, 0.0)
    assert np.abs(p).min() >= 0.9 * scale and np.abs(p).max() > 700  # exp(p) overflows
    # Both classes are misclassified somewhere, so J is large but finite.
    assert J > 0.1 * scale
    assert np.isfinite(value) and np.isfinite(grad_b) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, J, rtol=1e-12)
    _, s_grad, s_b = sum_scales("logistic", X, y, coef, 0.0, None, 0.0)
    assert_close_to_scale(grad, g, s_grad, GRAD_RTOL[np.dtype(dtype)], "grad")
    assert_close_to_scale(grad_b, gb, s_b, 1e-12, "grad_intercept")


@pytest.mark.parametrize("b", [1000.0, -1000.0, 800.0, -745.5], ids=lambda b: f"b={b:g}")
def test_logistic_is_stable_for_a_huge_intercept(b):
    X, y, coef, _ = linear_problem("logistic", (50, 3), seed=seed_of("huge-b", b))
    coef = coef * 0.01
    value, grad, grad_b = descend.loss_grad(X, y, coef, b, loss="logistic")
    J, g, gb, _ = _stable_logistic(X, y, coef, b)
    # rows of the wrong class cost about |b| each; the others about 0
    wrong = np.mean(y == (0.0 if b > 0 else 1.0))
    assert wrong > 0
    np.testing.assert_allclose(value, wrong * abs(b), rtol=1e-3)
    np.testing.assert_allclose(value, J, rtol=1e-12)
    np.testing.assert_allclose(grad, g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad_b, gb, rtol=1e-12)
    np.testing.assert_allclose(grad_b, np.mean((1.0 if b > 0 else 0.0) - y), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_softmax_is_stable_for_huge_logits(dtype):
    """Logits ~ +-1000 (exp overflows beyond ~709): finite values equal to the stable formula."""
    rng = np.random.default_rng(seed_of("softmax stable", dtype.__name__))
    n, d, k = 300, 3, 4
    X = rng.normal(size=(n, d)).astype(dtype)
    W = (rng.normal(size=(d, k)) * 600).astype(dtype)
    b = np.array([1000.0, -1000.0, 0.0, 500.0], dtype)
    y = rng.integers(0, k, size=n).astype(dtype)
    X64, W64, b64 = (np.asarray(a, np.float64) for a in (X, W, b))
    P = X64 @ W64 + b64
    assert np.abs(P).max() > 1000
    with np.errstate(over="ignore"):
        assert not np.all(np.isfinite(np.log(np.exp(P).sum(axis=1))))  # the naive formula overflows
    labels = y.astype(np.int64)
    J = np.mean(logsumexp(P, axis=1) - P[np.arange(n), labels])
    R = softmax(P, axis=1) - np.eye(k)[labels]
    value, grad, grad_b = descend.loss_grad(X, y, W, b, loss="softmax")
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(grad_b))
    assert value == pytest.approx(J, rel=1e-12)
    assert_norm_close(flat(grad, grad_b), flat(X64.T @ R / n, R.mean(axis=0)), NORM_RTOL[dtype])

    # Every row dominated by the same huge logit: loss is the exact gap.
    Xz = np.zeros((3, 2), dtype)
    bz = np.array([-1000.0, 1000.0, 990.0], dtype)
    value, grad, grad_b = descend.loss_grad(Xz, np.array([0, 1, 2], dtype), np.zeros((2, 3), dtype), bz,
                                            loss="softmax")
    lse = logsumexp(bz.astype(np.float64))
    assert value == pytest.approx(np.mean(lse - bz.astype(np.float64)), rel=1e-12)
    assert_norm_close(grad_b, softmax(bz.astype(np.float64)) - 1.0 / 3, 1e-12)



# ---------------------------------------------------------------------------
# 5. Bad inputs.


def small(rng, n=20, d=3):
    return rng.normal(size=(n, d))


def test_hinge_rejects_labels_outside_0_1():
    rng = np.random.default_rng(1)
    X = small(rng)
    y = rng.integers(0, 2, size=20).astype(float)
    y[4] = 2.0
    with pytest.raises(ValueError, match=r"\by\b"):
        descend.loss_grad(X, y, np.zeros(3), loss="hinge")
    y[4] = -1.0  # the +-1 convention is not accepted either: labels are 0/1
    with pytest.raises(ValueError, match=r"\by\b"):
        descend.loss_grad(X, y, np.zeros(3), loss="hinge")


@pytest.mark.parametrize("bad", [-1.0, 1.5, 3.0], ids=["negative", "fraction", "equal-to-k"])
def test_softmax_rejects_bad_labels(bad):
    rng = np.random.default_rng(2)
    X = small(rng)
    y = rng.integers(0, 3, size=20).astype(float)
    y[7] = bad
    with pytest.raises(ValueError, match=r"\by\b"):
        descend.loss_grad(X, y, np.zeros((3, 3)), loss="softmax")


@pytest.mark.parametrize("shape", [(4, 3), (2, 3)], ids=["too-many-rows", "too-few-rows"])
def test_softmax_rejects_coef_of_wrong_shape(shape):
    rng = np.random.default_rng(3)
    X = small(rng)
    y = rng.integers(0, 3, size=20).astype(float)
    with pytest.raises(ValueError, match=r"\bcoef\b"):
        descend.loss_grad(X, y, np.zeros(shape), loss="softmax")


@pytest.mark.parametrize("shape", [(3,), (3, 3, 1)], ids=["1-D", "3-D"])
def test_softmax_rejects_coef_of_wrong_ndim_naming_coef(shape):
    """loss_grad's argument is ``coef``: the message must name it (not fit's ``coef0``)."""
    rng = np.random.default_rng(4)
    X = small(rng)
    y = rng.integers(0, 3, size=20).astype(float)
    with pytest.raises(ValueError, match=r"\bcoef\b"):
        descend.loss_grad(X, y, np.zeros(shape), loss="softmax")


@pytest.mark.parametrize("delta", [0.0, -1.0, np.nan, np.inf])
def test_huber_rejects_bad_delta(delta):
    rng = np.random.default_rng(5)
    X = small(rng)
    y = rng.normal(size=20)
    with pytest.raises(ValueError, match="delta"):
        descend.loss_grad(X, y, np.zeros(3), loss="huber", delta=delta)
    with pytest.raises(ValueError, match="delta"):
        descend.fit(X, y, loss="huber", delta=delta, max_iter=2)

