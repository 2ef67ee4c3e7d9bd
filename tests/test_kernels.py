"""The fused loss+gradient kernel, descend.loss_grad (DESIGN.md §2, §4).

Checked against the NumPy oracle descend.reference.loss_grad over a grid of
losses, dtypes, layouts, options and shapes (including shapes that cut into
several chunks of the parallel partition), against central differences,
against explicit formulas written here (the conventions: squared is
(p - y)^2 averaged over n, logistic is log(1 + exp(p)) - y p), for stability
at huge |p|, for bitwise equality over thread counts, for ``out=`` and for
leaving its inputs alone. The oracle itself is checked against a per-row
loop in plain Python floats.

Tolerances are relative to a scale that bounds the rounding error of the
sums (the same sums taken over absolute values), so gradient entries near 0
are compared fairly. The core accumulates in double for float32 data too,
and the reference computes in float64 from the same float32 values, so the
value agrees to ~1e-12 in both dtypes and a float32 gradient differs only by
its final rounding to float32.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

import descend
from descend import reference

from conftest import seed_of

LOSSES = ["squared", "logistic"]
DTYPES = [np.float64, np.float32]
ORDERS = ["C", "F"]

# Relative tolerance of the value (double in both dtypes) and of the
# gradient (double for float64 data, rounded to float32 for float32 data).
VALUE_RTOL = 1e-12
GRAD_RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}

# (n, d), each with the number of chunks of the core's partition
# (partition.hpp: >= 2^15 elements and >= 64 rows per chunk).
SHAPES = [
    pytest.param((1, 1), id="1x1"),
    pytest.param((1, 5), id="1x5"),
    pytest.param((7, 1), id="7x1"),
    pytest.param((100, 3), id="100x3"),
    pytest.param((257, 17), id="257x17"),  # one past the 256-row column block
    pytest.param((50, 3000), id="50x3000-wide"),
    pytest.param((130, 3000), id="130x3000-wide-3chunks"),  # 64 + 64 + 2 rows
    pytest.param((1000, 33), id="1000x33-2chunks"),  # 993 + 7 rows
    pytest.param((2049, 64), id="2049x64-5chunks"),  # 4 x 512 + 1 row
    pytest.param((30001, 3), id="30001x3-3chunks"),
]

OPTIONS = [
    pytest.param(dict(intercept=0.0, weights=False, l2=0.0), id="plain"),
    pytest.param(dict(intercept=0.7, weights=False, l2=0.0), id="b"),
    pytest.param(dict(intercept=0.0, weights=True, l2=0.0), id="w"),
    pytest.param(dict(intercept=0.0, weights=False, l2=0.3), id="l2"),
    pytest.param(dict(intercept=-1.3, weights=True, l2=0.0), id="b-w"),
    pytest.param(dict(intercept=0.4, weights=False, l2=0.05), id="b-l2"),
    pytest.param(dict(intercept=0.0, weights=True, l2=1.7), id="w-l2"),
    pytest.param(dict(intercept=-0.9, weights=True, l2=0.2), id="b-w-l2"),
]


def _problem(loss, shape, *, dtype=np.float64, order="C", weights=False, seed=0):
    """Random X (in `dtype` and `order`), y, coef (and weights) of X's dtype.

    Squared: y = X c* + noise. Logistic: y in {0, 1} drawn from the model.
    Weights are non-negative, include zeros (n >= 2), and row 0's is positive.
    """
    n, d = shape
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    truth = rng.standard_normal(d) * (2.0 / math.sqrt(d))
    p = X @ truth
    if loss == "squared":
        y = p + 0.5 * rng.standard_normal(n)
    else:
        y = (rng.random(n) < scipy.special.expit(p)).astype(np.float64)
    coef = rng.standard_normal(d) / math.sqrt(d)
    w = None
    if weights:
        w = rng.random(n) * 2.0
        w[rng.random(n) < 0.2] = 0.0
        w[0] = 0.5 + rng.random()
        if n >= 2:
            w[-1] = 0.0
    cast = lambda a: None if a is None else np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return np.asarray(X, dtype=dtype, order=order), cast(y), cast(coef), cast(w)


def _derivative(loss, p, y):
    return 2.0 * (p - y) if loss == "squared" else scipy.special.expit(p) - y


def _scales(loss, X, y, coef, intercept, w, l2):
    """Bounds of the sums' magnitudes: value, per-entry gradient, intercept."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    coef = np.asarray(coef, np.float64)
    n = X.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, np.float64)
    p = X @ coef + intercept
    r = np.abs(w * _derivative(loss, p, y))
    value = np.sum(w * np.abs(reference.LOSSES[loss][0](p, y))) / n + 0.5 * l2 * coef @ coef
    grad = np.abs(X).T @ r / n + l2 * np.abs(coef)
    return value, grad, np.sum(r) / n


def _assert_close(actual, expected, scale, rtol, what):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = np.asarray(scale, np.float64)
    assert np.all(np.isfinite(actual)), f"{what}: not finite: {actual}"
    err = np.abs(actual - expected)
    bound = rtol * (np.abs(expected) + scale) + 1e-300
    worst = np.max(err / bound)
    assert worst <= 1.0, f"{what}: error {np.max(err):.3e} is {worst:.3g} x the bound (rtol {rtol:g})"


def _assert_matches_reference(result, loss, X, y, coef, intercept, w, l2):
    value, grad, grad_b = result
    dtype = np.asarray(X).dtype
    assert isinstance(value, float) and isinstance(grad_b, float)
    assert isinstance(grad, np.ndarray) and grad.dtype == dtype and grad.shape == (X.shape[1],)
    # Parameters take X's dtype (DESIGN §4): the core sees the intercept rounded to it.
    intercept = float(np.asarray(intercept, dtype))
    ref_value, ref_grad, ref_b = reference.loss_grad(X, y, coef, intercept, loss=loss, sample_weight=w, l2=l2)
    s_value, s_grad, s_b = _scales(loss, X, y, coef, intercept, w, l2)
    # The cases are built so that the expected results are not ~0: a kernel
    # returning zeros cannot pass.
    assert ref_value > 1e-3 * s_value and np.linalg.norm(ref_grad) > 1e-6 * np.linalg.norm(s_grad)
    _assert_close(value, ref_value, s_value, VALUE_RTOL, "value")
    _assert_close(grad, ref_grad, s_grad, GRAD_RTOL[dtype], "grad")
    _assert_close(grad_b, ref_b, s_b, VALUE_RTOL, "grad_intercept")


# ---------------------------------------------------------------------------
# 1. The grid against the reference.


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
def test_matches_reference(loss, dtype, order, shape, options):
    X, y, coef, w = _problem(loss, shape, dtype=dtype, order=order, weights=options["weights"],
                             seed=seed_of(loss, np.dtype(dtype).name, order, shape, options["intercept"], options["l2"]))
    assert X.flags.c_contiguous if order == "C" else X.flags.f_contiguous
    b, l2 = options["intercept"], options["l2"]
    result = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)
    _assert_matches_reference(result, loss, X, y, coef, b, w, l2)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 600),
    d=st.integers(1, 70),
    loss=st.sampled_from(LOSSES),
    order=st.sampled_from(ORDERS),
    dtype=st.sampled_from(DTYPES),
    intercept=st.floats(-3, 3),
    weights=st.booleans(),
    l2=st.sampled_from([0.0, 0.01, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_matches_reference_any_shape(n, d, loss, order, dtype, intercept, weights, l2, seed):
    """Shapes around the 64-row chunk floor, the 256-row column block and
    the 4-wide dot product, in any combination."""
    X, y, coef, w = _problem(loss, (n, d), dtype=dtype, order=order, weights=weights, seed=seed)
    result = descend.loss_grad(X, y, coef, intercept, loss=loss, sample_weight=w, l2=l2)
    _assert_matches_reference(result, loss, X, y, coef, intercept, w, l2)


# ---------------------------------------------------------------------------
# 2. The gradient is the derivative of the value.


@pytest.mark.parametrize(
    "shape, order",
    [pytest.param((40, 6), "C", id="40x6-C"), pytest.param((2049, 64), "F", id="2049x64-F-5chunks")],
)
@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_matches_central_differences(loss, shape, order):
    X, y, coef, w = _problem(loss, shape, order=order, weights=True, seed=seed_of("fd", loss, shape))
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
    _, s_grad, s_b = _scales(loss, X, y, coef, b, w, l2)
    assert np.linalg.norm(grad) > 1e-3 * np.linalg.norm(s_grad) and abs(grad_b) > 1e-3 * s_b
    _assert_close(grad, fd, s_grad, 1e-6, "grad vs central differences")
    _assert_close(grad_b, fd_b, s_b, 1e-6, "grad_intercept vs central differences")
    assert value == J(coef, b)  # deterministic: the same call gives the same value


# ---------------------------------------------------------------------------
# 3. The conventions, frozen by explicit formulas (DESIGN §2), and
# 8. the oracle itself checked against them.


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
    X, y, coef, _ = _problem("squared", (73, 5), seed=seed_of("textbook"))
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
    X, y, coef, _ = _problem("logistic", (81, 4), seed=seed_of("logloss"))
    b = 0.3
    p = X @ coef + b
    assert np.abs(p).max() < 30  # the naive formula is exact enough here
    value, grad, grad_b = descend.loss_grad(X, y, coef, b, loss="logistic")
    np.testing.assert_allclose(value, np.mean(np.log(1.0 + np.exp(p)) - y * p), rtol=1e-12)
    sig = 1.0 / (1.0 + np.exp(-p))
    np.testing.assert_allclose(grad, X.T @ (sig - y) / len(y), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(grad_b, np.mean(sig - y), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("loss", LOSSES)
def test_weights_scale_rows_and_the_mean_divides_by_n(loss):
    """Weights multiply each row's loss, zero-weight rows still count in n,
    the l2 term is (l2/2)||coef||^2 and the intercept is not regularised."""
    X, y, coef, w = _problem(loss, (64, 7), weights=True, seed=seed_of("weights", loss))
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


@pytest.mark.parametrize("loss", LOSSES)
def test_reference_oracle_matches_a_per_row_loop(loss):
    X, y, coef, w = _problem(loss, (37, 4), weights=True, seed=seed_of("oracle", loss))
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
            np.testing.assert_allclose(value(p, yv), np.log1p(np.exp(p)) - yv * p, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(deriv(p, yv), 1 / (1 + np.exp(-p)) - yv, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# 4. Logistic stability at huge |p|.


def _stable_logistic(X, y, coef, b):
    p = np.asarray(X, np.float64) @ np.asarray(coef, np.float64) + b
    y = np.asarray(y, np.float64)
    n = len(y)
    r = scipy.special.expit(p) - y
    return np.mean(np.logaddexp(0.0, p) - y * p), np.asarray(X, np.float64).T @ r / n, np.sum(r) / n, p


@pytest.mark.parametrize("scale", [1e3, 1e5], ids=["p~1e3", "p~1e5"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_logistic_is_stable_for_huge_p(dtype, scale):
    X, y, coef, _ = _problem("logistic", (300, 4), dtype=dtype, seed=seed_of("huge", scale))
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
    _, s_grad, s_b = _scales("logistic", X, y, coef, 0.0, None, 0.0)
    _assert_close(grad, g, s_grad, GRAD_RTOL[np.dtype(dtype)], "grad")
    _assert_close(grad_b, gb, s_b, 1e-12, "grad_intercept")


@pytest.mark.parametrize("b", [1000.0, -1000.0, 800.0, -745.5], ids=lambda b: f"b={b:g}")
def test_logistic_is_stable_for_a_huge_intercept(b):
    X, y, coef, _ = _problem("logistic", (50, 3), seed=seed_of("huge-b", b))
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


# ---------------------------------------------------------------------------
# 5. Bitwise identical for any thread count.


@pytest.mark.parametrize(
    "shape",
    [pytest.param((2049, 64), id="2049x64"), pytest.param((30001, 3), id="30001x3"),
     pytest.param((130, 3000), id="130x3000")],
)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
def test_bitwise_identical_for_any_thread_count(loss, dtype, order, shape, restore_threads):
    X, y, coef, w = _problem(loss, shape, dtype=dtype, order=order, weights=True,
                             seed=seed_of("threads", loss, np.dtype(dtype).name, order, shape))
    b, l2 = 0.35, 0.01
    results = {}
    for n_threads in (1, 2, 3):
        descend.set_num_threads(n_threads)
        assert descend.get_num_threads() == n_threads
        results[n_threads] = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)
    v1, g1, b1 = results[1]
    _assert_matches_reference(results[1], loss, X, y, coef, b, w, l2)
    for n_threads in (2, 3):
        v, g, gb = results[n_threads]
        assert v == v1, f"value differs with {n_threads} threads"
        assert gb == b1, f"grad_intercept differs with {n_threads} threads"
        assert np.array_equal(g, g1), f"grad differs with {n_threads} threads"
        assert g.tobytes() == g1.tobytes()


# ---------------------------------------------------------------------------
# 6. out=


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
def test_out_receives_the_gradient_in_place(loss, dtype, order):
    X, y, coef, w = _problem(loss, (2049, 64), dtype=dtype, order=order, weights=True,
                             seed=seed_of("out", loss, np.dtype(dtype).name, order))
    b, l2 = -0.2, 0.1
    d = X.shape[1]
    # A contiguous window of a bigger buffer: its neighbours must stay untouched.
    buffer = np.full(d + 2, np.nan, dtype)
    out = buffer[1:-1]
    value, grad, grad_b = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2, out=out)
    assert grad is out
    assert np.isnan(buffer[0]) and np.isnan(buffer[-1])
    _assert_matches_reference((value, grad, grad_b), loss, X, y, coef, b, w, l2)
    fresh = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)
    assert fresh[0] == value and fresh[2] == grad_b and np.array_equal(fresh[1], out)
    # Reused: the old contents are overwritten, not accumulated into.
    value2, grad2, _ = descend.loss_grad(X, y, 2 * coef, b, loss=loss, sample_weight=w, l2=l2, out=out)
    assert grad2 is out
    _assert_matches_reference((value2, grad2, _), loss, X, y, 2 * coef, b, w, l2)


def _read_only_array(a):
    a = a.copy()
    a.setflags(write=False)
    return a


@pytest.mark.parametrize(
    "make_out",
    [
        pytest.param(lambda d, dt: np.zeros(d, np.float64 if dt == np.float32 else np.float32), id="other-float-dtype"),
        pytest.param(lambda d, dt: np.zeros(d, np.int32), id="int-dtype"),
        pytest.param(lambda d, dt: np.zeros(d - 1, dt), id="too-short"),
        pytest.param(lambda d, dt: np.zeros((1, d), dt), id="row-2d"),
        pytest.param(lambda d, dt: np.zeros(2 * d, dt)[1::2], id="strided"),
        pytest.param(lambda d, dt: np.zeros(d, dt)[::-1], id="reversed"),
        pytest.param(lambda d, dt: _read_only_array(np.zeros(d, dt)), id="read-only"),
        pytest.param(lambda d, dt: np.zeros(d, dt).tolist(), id="list"),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_bad_out_is_rejected_and_left_alone(dtype, make_out):
    X, y, coef, _ = _problem("logistic", (300, 5), dtype=dtype, order="F", seed=seed_of("bad-out"))
    out = make_out(X.shape[1], dtype)
    before = np.array(out, copy=True)
    with pytest.raises((ValueError, TypeError), match=r"\bout\b"):
        descend.loss_grad(X, y, coef, 0.5, loss="logistic", out=out)
    np.testing.assert_array_equal(np.asarray(out), before)


# ---------------------------------------------------------------------------
# 7. Inputs are never written; read-only inputs are accepted.


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
def test_inputs_are_not_modified(loss, dtype, order):
    X, y, coef, w = _problem(loss, (2049, 64), dtype=dtype, order=order, weights=True,
                             seed=seed_of("inputs", loss, np.dtype(dtype).name, order))
    before = [a.tobytes(order="A") for a in (X, y, coef, w)]
    flags = [(a.flags.c_contiguous, a.flags.f_contiguous) for a in (X, y, coef, w)]
    result = descend.loss_grad(X, y, coef, 0.5, loss=loss, sample_weight=w, l2=0.2)
    assert [a.tobytes(order="A") for a in (X, y, coef, w)] == before
    assert [(a.flags.c_contiguous, a.flags.f_contiguous) for a in (X, y, coef, w)] == flags
    for a in (X, y, coef, w):
        assert not np.shares_memory(result[1], a)
    _assert_matches_reference(result, loss, X, y, coef, 0.5, w, 0.2)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
def test_read_only_inputs_are_accepted(loss, dtype, order):
    X, y, coef, w = _problem(loss, (1000, 33), dtype=dtype, order=order, weights=True,
                             seed=seed_of("read-only", loss, np.dtype(dtype).name, order))
    expected = descend.loss_grad(X, y, coef, -0.5, loss=loss, sample_weight=w, l2=0.3)
    for a in (X, y, coef, w):
        a.setflags(write=False)
    value, grad, grad_b = descend.loss_grad(X, y, coef, -0.5, loss=loss, sample_weight=w, l2=0.3)
    assert value == expected[0] and grad_b == expected[2]
    assert np.array_equal(grad, expected[1]) and grad.flags.writeable
    _assert_matches_reference((value, grad, grad_b), loss, X, y, coef, -0.5, w, 0.3)
