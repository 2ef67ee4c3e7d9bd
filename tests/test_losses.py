"""descend.loss_grad for the hinge, huber and softmax losses (DESIGN.md §2, §4, §5).

The fused C++ kernels are compared with the plain-NumPy oracle
``descend.reference.loss_grad`` on fresh random data, float32 and float64,
C and F order, with and without intercept, sample weights and l2, over
shapes from one element to several partition chunks. The oracle itself is
not trusted blindly: the gradients are checked against central finite
differences of the value, and the values against formulas written out
here (scipy's logsumexp for softmax, PyTorch's HuberLoss, the hinge with
its subgradient 0 at the kink).

Tolerances: float64 ~1e-12 relative. For float32 data the kernels still
accumulate in double, but the gradient comes back rounded to float32, so
~1e-5 relative. Gradients are compared as one vector (coef and intercept
gradients together) relative to its norm, because single entries can be
~0 by cancellation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

import descend
from descend import reference

from conftest import seed_of

RTOL = {np.float32: 1e-5, np.float64: 1e-12}

# (loss, delta, k): k is the number of classes for softmax, None otherwise.
LOSS_CASES = [
    ("hinge", None, None),
    ("huber", 1.0, None),
    ("huber", 0.3, None),
    ("softmax", None, 2),
    ("softmax", None, 3),
    ("softmax", None, 7),
]
LOSS_IDS = ["hinge", "huber-d1", "huber-d0.3", "softmax-k2", "softmax-k3", "softmax-k7"]

SMALL_SHAPES = [(1, 1), (7, 1), (100, 3), (257, 17)]
# Several chunks of the fixed partition (partition.hpp cuts rows into
# chunks of >= 2^15 elements of X times the number of outputs).
MULTI_CHUNK = [(2049, 64), (30001, 3)]
MULTI_CHUNK_K7 = [(5000, 16), (30001, 3)]


def kwargs_of(loss, delta):
    return {"loss": loss} if delta is None else {"loss": loss, "delta": delta}


def make_problem(rng, loss, k, shape, dtype, order):
    """X, y, coef and a nonzero intercept of `dtype`, X in `order`.

    Coefficients are scaled so that hinge margins sit on both sides of the
    kink, huber residuals on both sides of +-delta, and softmax
    probabilities are far from 0/1.
    """
    n, d = shape
    X = rng.normal(size=(n, d))
    if loss == "softmax":
        coef = rng.normal(size=(d, k)) * (0.7 / np.sqrt(d))
        intercept = rng.normal(size=k) * 0.5
        y = rng.integers(0, k, size=n).astype(np.float64)
    elif loss == "hinge":
        coef = rng.normal(size=d) * (0.6 / np.sqrt(d))
        intercept = 0.25
        y = rng.integers(0, 2, size=n).astype(np.float64)
    else:  # huber: residuals of all sizes
        coef = rng.normal(size=d) / np.sqrt(d)
        intercept = -0.4
        y = X @ coef + rng.normal(scale=1.5, size=n)
    X = np.asarray(X, dtype=dtype, order=order)
    intercept = intercept.astype(dtype) if loss == "softmax" else dtype(intercept)  # a NumPy scalar
    return X, y.astype(dtype), coef.astype(dtype), intercept


def flat(grad, grad_intercept):
    return np.concatenate([np.ravel(grad), np.ravel(grad_intercept)]).astype(np.float64)


def assert_norm_close(actual, expected, rtol, what=""):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = np.linalg.norm(expected)
    assert scale > 0, f"{what}: the expected value is zero, the comparison would prove nothing"
    err = np.linalg.norm(actual - expected)
    assert err <= rtol * scale, f"{what}: |actual - expected| = {err:.3e} > {rtol:g} * {scale:.3e}"


# ------------------------------------------------------------ 1. vs the oracle


def _cases():
    for (loss, delta, k), ident in zip(LOSS_CASES, LOSS_IDS):
        shapes = SMALL_SHAPES + (MULTI_CHUNK_K7 if k == 7 else MULTI_CHUNK)
        for shape in shapes:
            yield pytest.param(loss, delta, k, shape, id=f"{ident}-{shape[0]}x{shape[1]}")


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("loss, delta, k, shape", list(_cases()))
def test_loss_grad_matches_reference(loss, delta, k, shape, dtype, order):
    rng = np.random.default_rng(seed_of("oracle", loss, delta, k, shape, dtype.__name__, order))
    X, y, coef, intercept = make_problem(rng, loss, k, shape, dtype, order)
    assert X.flags[f"{order}_CONTIGUOUS"]
    n = shape[0]
    weights = rng.uniform(0.0, 2.0, size=n)
    weights[1::3] = 0.0  # some zero weights (never all of them)
    weights = weights.astype(dtype)
    rtol = RTOL[dtype]
    kw = kwargs_of(loss, delta)
    for with_intercept in (False, True):
        for sample_weight in (None, weights):
            for l2 in (0.0, 0.37):
                what = f"intercept={with_intercept} weights={sample_weight is not None} l2={l2}"
                args = (X, y, coef) + ((intercept,) if with_intercept else ())
                ref_args = (X, y, coef, intercept if with_intercept else 0.0)
                value, grad, grad_b = descend.loss_grad(*args, sample_weight=sample_weight, l2=l2, **kw)
                ref_value, ref_grad, ref_b = reference.loss_grad(*ref_args, sample_weight=sample_weight,
                                                                 l2=l2, **kw)
                assert type(value) is float, what
                assert grad.shape == coef.shape and grad.dtype == dtype, what
                if loss == "softmax":
                    assert isinstance(grad_b, np.ndarray) and grad_b.shape == (k,), what
                else:
                    assert type(grad_b) is float, what
                assert ref_value > 0, f"{what}: degenerate case (zero objective)"
                assert abs(value - ref_value) <= rtol * abs(ref_value), (
                    f"{what}: value {value!r} vs reference {ref_value!r}")
                assert_norm_close(flat(grad, grad_b), flat(ref_grad, ref_b), rtol, what)
    # X, y, coef are never written.
    X2, y2, coef2, _ = make_problem(np.random.default_rng(seed_of("oracle", loss, delta, k, shape,
                                                                   dtype.__name__, order)),
                                    loss, k, shape, dtype, order)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(coef, coef2)


@pytest.mark.parametrize("loss, delta, k", LOSS_CASES, ids=LOSS_IDS)
def test_loss_grad_out_and_scalar_intercept(loss, delta, k):
    """out= receives the gradient in place; a scalar intercept is broadcast to k classes."""
    rng = np.random.default_rng(seed_of("out", loss, delta, k))
    X, y, coef, intercept = make_problem(rng, loss, k, (300, 5), np.float64, "C")
    out = np.empty_like(coef)
    value, grad, grad_b = descend.loss_grad(X, y, coef, 0.3, out=out, **kwargs_of(loss, delta))
    assert grad is out
    b_ref = np.full(k, 0.3) if loss == "softmax" else 0.3
    ref_value, ref_grad, ref_b = reference.loss_grad(X, y, coef, b_ref, **kwargs_of(loss, delta))
    assert value == pytest.approx(ref_value, rel=1e-12)
    assert_norm_close(flat(out, grad_b), flat(ref_grad, ref_b), 1e-12)


# ------------------------------------------------------------ 2. finite differences


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
def test_gradient_matches_finite_differences(loss, delta, k, with_weights):
    rng = np.random.default_rng(seed_of("fd", loss, delta, k, with_weights))
    X, y, coef, b = make_problem(rng, loss, k, (400, 4), np.float64, "C")
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


# ------------------------------------------------------------ 3. independent formulas


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_softmax_formula(k, dtype):
    """J = mean(w_i (logsumexp(P_i) - P_i,y_i)) + l2/2 ||W||^2, dJ/dP = softmax(P) - onehot(y)."""
    rng = np.random.default_rng(seed_of("softmax formula", k, dtype.__name__))
    n, d = 500, 6
    X, y, W, b = make_problem(rng, "softmax", k, (n, d), dtype, "F")
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
    rtol = RTOL[dtype]
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
    X, y, c, b = make_problem(rng, "huber", None, (n, d), dtype, "C")
    X64, y64, c64, b64 = (np.asarray(a, np.float64) for a in (X, y, c, b))
    r = X64 @ c64 + b64 - y64
    assert np.any(np.abs(r) < delta) and np.any(np.abs(r) > delta)
    torch_huber = np.where(np.abs(r) < delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    slope = np.where(np.abs(r) < delta, r, delta * np.sign(r))
    l2 = 0.1
    J = torch_huber.mean() + 0.5 * l2 * c64 @ c64
    G = X64.T @ slope / n + l2 * c64
    value, grad, grad_b = descend.loss_grad(X, y, c, b, loss="huber", delta=delta, l2=l2)
    rtol = RTOL[dtype]
    assert value == pytest.approx(J, rel=rtol)
    assert_norm_close(flat(grad, grad_b), flat(G, slope.mean()), rtol)


def test_huber_default_delta_is_one():
    rng = np.random.default_rng(seed_of("huber default"))
    X, y, c, b = make_problem(rng, "huber", None, (200, 3), np.float64, "C")
    assert descend.loss_grad(X, y, c, b, loss="huber")[0] == descend.loss_grad(X, y, c, b, loss="huber",
                                                                                delta=1.0)[0]
    assert descend.loss_grad(X, y, c, b, loss="huber")[0] != descend.loss_grad(X, y, c, b, loss="huber",
                                                                                delta=0.5)[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_hinge_formula_and_kink(dtype):
    """max(0, 1 - s p), s = 2y - 1; subgradient -s where the margin is violated, 0 at the kink."""
    rng = np.random.default_rng(seed_of("hinge formula", dtype.__name__))
    n, d = 600, 4
    X, y, c, b = make_problem(rng, "hinge", None, (n, d), dtype, "F")
    X64, y64, c64, b64 = (np.asarray(a, np.float64) for a in (X, y, c, b))
    s = 2 * y64 - 1
    p = X64 @ c64 + b64
    assert np.any(1 - s * p > 0) and np.any(1 - s * p < 0)
    J = np.mean(np.maximum(0.0, 1 - s * p))
    slope = np.where(1 - s * p > 0, -s, 0.0)
    value, grad, grad_b = descend.loss_grad(X, y, c, b, loss="hinge")
    rtol = RTOL[dtype]
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


# ------------------------------------------------------------ 4. stability


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
    assert_norm_close(flat(grad, grad_b), flat(X64.T @ R / n, R.mean(axis=0)), RTOL[dtype])

    # Every row dominated by the same huge logit: loss is the exact gap.
    Xz = np.zeros((3, 2), dtype)
    bz = np.array([-1000.0, 1000.0, 990.0], dtype)
    value, grad, grad_b = descend.loss_grad(Xz, np.array([0, 1, 2], dtype), np.zeros((2, 3), dtype), bz,
                                            loss="softmax")
    lse = logsumexp(bz.astype(np.float64))
    assert value == pytest.approx(np.mean(lse - bz.astype(np.float64)), rel=1e-12)
    assert_norm_close(grad_b, softmax(bz.astype(np.float64)) - 1.0 / 3, 1e-12)


# ------------------------------------------------------------ 5. threads


@pytest.mark.parametrize("shape, k", [((5000, 16), 7), ((30001, 3), 3)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_softmax_bitwise_equal_for_any_thread_count(restore_threads, shape, k, order):
    rng = np.random.default_rng(seed_of("threads", shape, k, order))
    X, y, W, b = make_problem(rng, "softmax", k, shape, np.float64, order)
    w = rng.uniform(0.0, 2.0, size=shape[0])
    results = []
    for n_threads in (1, 2):
        descend.set_num_threads(n_threads)
        assert descend.get_num_threads() == n_threads
        results.append(descend.loss_grad(X, y, W, b, loss="softmax", sample_weight=w, l2=0.1))
    (v1, g1, b1), (v2, g2, b2) = results
    assert v1 == v2
    assert g1.tobytes() == g2.tobytes() and b1.tobytes() == b2.tobytes()
    # ... and they are the right numbers, not merely equal ones.
    rv, rg, rb = reference.loss_grad(X, y, W, b, loss="softmax", sample_weight=w, l2=0.1)
    assert v1 == pytest.approx(rv, rel=1e-12)
    assert_norm_close(flat(g1, b1), flat(rg, rb), 1e-12)


# ------------------------------------------------------------ 6. bad inputs


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
