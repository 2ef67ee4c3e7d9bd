"""The fused loss+gradient kernel, descend.loss_grad (DESIGN.md §4), for
every loss.

Checked against the NumPy oracle descend.reference.loss_grad over a grid of
losses, dtypes, layouts, options and shapes (including shapes that cut into
several chunks of the parallel partition), for bitwise equality over thread
counts, for ``out=`` and for leaving its inputs alone. What each loss
computes (the formulas, the derivatives, stability at huge predictions, the
labels each accepts) and the oracle itself are tested in test_losses.py.

Tolerances (squared, logistic) are relative to a scale that bounds the
rounding error of the sums (the same sums taken over absolute values), so
gradient entries near 0 are compared fairly. The core accumulates the sums
over rows in double for float32 data too, and the reference computes in
float64 from the same float32 values. For float64 data everything agrees
to ~1e-12. For float32 data a row's prediction sums its products in float
(the row-major kernel; DESIGN §4 asks for double in the sums over rows),
and the gradient is rounded to float32 at the end, so the value and both
gradients agree to ~1e-7 of their scale (observed: ~1e-9, the rows'
rounding errors mostly cancel). Hinge, huber and
softmax gradients are compared as one vector (coef and intercept gradients
together) relative to its norm, because single entries can be ~0 by
cancellation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

DTYPES = [np.float64, np.float32]
ORDERS = ["C", "F"]

# Relative tolerance of the value and the intercept's gradient (sums in
# double; float32 predictions rounded in float).
VALUE_RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}

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


# Hinge, huber, softmax: shapes from one element to several chunks of the
# partition (rows cut into chunks of >= 2^15 elements of X times the
# number of outputs).
SMALL_SHAPES = [(1, 1), (7, 1), (100, 3), (257, 17)]
MULTI_CHUNK = [(2049, 64), (30001, 3)]
MULTI_CHUNK_K7 = [(5000, 16), (30001, 3)]


def _assert_matches_reference(result, loss, X, y, coef, intercept, w, l2):
    value, grad, grad_b = result
    dtype = np.asarray(X).dtype
    assert isinstance(value, float) and isinstance(grad_b, float)
    assert isinstance(grad, np.ndarray) and grad.dtype == dtype and grad.shape == (X.shape[1],)
    # Parameters take X's dtype (DESIGN §4): the core sees the intercept rounded to it.
    intercept = float(np.asarray(intercept, dtype))
    ref_value, ref_grad, ref_b = reference.loss_grad(X, y, coef, intercept, loss=loss, sample_weight=w, l2=l2)
    s_value, s_grad, s_b = sum_scales(loss, X, y, coef, intercept, w, l2)
    # The cases are built so that the expected results are not ~0: a kernel
    # returning zeros cannot pass.
    assert ref_value > 1e-3 * s_value and np.linalg.norm(ref_grad) > 1e-6 * np.linalg.norm(s_grad)
    assert_close_to_scale(value, ref_value, s_value, VALUE_RTOL[dtype], "value")
    assert_close_to_scale(grad, ref_grad, s_grad, GRAD_RTOL[dtype], "grad")
    assert_close_to_scale(grad_b, ref_b, s_b, VALUE_RTOL[dtype], "grad_intercept")


# ---------------------------------------------------------------------------
# 1. The grid against the reference.


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_matches_reference(loss, dtype, order, shape, options):
    X, y, coef, w = linear_problem(loss, shape, dtype=dtype, order=order, weights=options["weights"],
                             seed=seed_of(loss, np.dtype(dtype).name, order, shape, options["intercept"], options["l2"]))
    assert X.flags.c_contiguous if order == "C" else X.flags.f_contiguous
    b, l2 = options["intercept"], options["l2"]
    result = descend.loss_grad(X, y, coef, b, loss=loss, sample_weight=w, l2=l2)
    _assert_matches_reference(result, loss, X, y, coef, b, w, l2)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 600),
    d=st.integers(1, 70),
    loss=st.sampled_from(SQUARED_LOGISTIC),
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
    X, y, coef, w = linear_problem(loss, (n, d), dtype=dtype, order=order, weights=weights, seed=seed)
    result = descend.loss_grad(X, y, coef, intercept, loss=loss, sample_weight=w, l2=l2)
    _assert_matches_reference(result, loss, X, y, coef, intercept, w, l2)


def _cases():
    for (loss, delta, k), ident in zip(LOSS_CASES, LOSS_IDS):
        shapes = SMALL_SHAPES + (MULTI_CHUNK_K7 if k == 7 else MULTI_CHUNK)
        for shape in shapes:
            yield pytest.param(loss, delta, k, shape, id=f"{ident}-{shape[0]}x{shape[1]}")


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("loss, delta, k, shape", list(_cases()))
def test_hinge_huber_softmax_match_reference(loss, delta, k, shape, dtype, order):
    rng = np.random.default_rng(seed_of("oracle", loss, delta, k, shape, dtype.__name__, order))
    X, y, coef, intercept = hinge_huber_softmax_problem(rng, loss, k, shape, dtype, order)
    assert X.flags[f"{order}_CONTIGUOUS"]
    n = shape[0]
    weights = rng.uniform(0.0, 2.0, size=n)
    weights[1::3] = 0.0  # some zero weights (never all of them)
    weights = weights.astype(dtype)
    rtol = NORM_RTOL[dtype]
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
    X2, y2, coef2, _ = hinge_huber_softmax_problem(np.random.default_rng(seed_of("oracle", loss, delta, k, shape,
                                                                   dtype.__name__, order)),
                                    loss, k, shape, dtype, order)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(coef, coef2)


# ---------------------------------------------------------------------------
# 2. Bitwise identical for any thread count.


@pytest.mark.parametrize(
    "shape",
    [pytest.param((2049, 64), id="2049x64"), pytest.param((30001, 3), id="30001x3"),
     pytest.param((130, 3000), id="130x3000")],
)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_bitwise_identical_for_any_thread_count(loss, dtype, order, shape, restore_threads):
    X, y, coef, w = linear_problem(loss, shape, dtype=dtype, order=order, weights=True,
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


@pytest.mark.parametrize("shape, k", [((5000, 16), 7), ((30001, 3), 3)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_softmax_bitwise_equal_for_any_thread_count(restore_threads, shape, k, order):
    rng = np.random.default_rng(seed_of("threads", shape, k, order))
    X, y, W, b = hinge_huber_softmax_problem(rng, "softmax", k, shape, np.float64, order)
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


# ---------------------------------------------------------------------------
# 3. out=


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_out_receives_the_gradient_in_place(loss, dtype, order):
    X, y, coef, w = linear_problem(loss, (2049, 64), dtype=dtype, order=order, weights=True,
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


@pytest.mark.parametrize("loss, delta, k", LOSS_CASES, ids=LOSS_IDS)
def test_loss_grad_out_and_scalar_intercept(loss, delta, k):
    """out= receives the gradient in place; a scalar intercept is broadcast to k classes."""
    rng = np.random.default_rng(seed_of("out", loss, delta, k))
    X, y, coef, intercept = hinge_huber_softmax_problem(rng, loss, k, (300, 5), np.float64, "C")
    out = np.empty_like(coef)
    value, grad, grad_b = descend.loss_grad(X, y, coef, 0.3, out=out, **kwargs_of(loss, delta))
    assert grad is out
    b_ref = np.full(k, 0.3) if loss == "softmax" else 0.3
    ref_value, ref_grad, ref_b = reference.loss_grad(X, y, coef, b_ref, **kwargs_of(loss, delta))
    assert value == pytest.approx(ref_value, rel=1e-12)
    assert_norm_close(flat(out, grad_b), flat(ref_grad, ref_b), 1e-12)


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
    X, y, coef, _ = linear_problem("logistic", (300, 5), dtype=dtype, order="F", seed=seed_of("bad-out"))
    out = make_out(X.shape[1], dtype)
    before = np.array(out, copy=True)
    with pytest.raises((ValueError, TypeError), match=r"\bout\b"):
        descend.loss_grad(X, y, coef, 0.5, loss="logistic", out=out)
    np.testing.assert_array_equal(np.asarray(out), before)


# ---------------------------------------------------------------------------
# 4. Inputs are never written; read-only inputs are accepted.


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_inputs_are_not_modified(loss, dtype, order):
    X, y, coef, w = linear_problem(loss, (2049, 64), dtype=dtype, order=order, weights=True,
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
@pytest.mark.parametrize("loss", SQUARED_LOGISTIC)
def test_read_only_inputs_are_accepted(loss, dtype, order):
    X, y, coef, w = linear_problem(loss, (1000, 33), dtype=dtype, order=order, weights=True,
                             seed=seed_of("read-only", loss, np.dtype(dtype).name, order))
    expected = descend.loss_grad(X, y, coef, -0.5, loss=loss, sample_weight=w, l2=0.3)
    for a in (X, y, coef, w):
        a.setflags(write=False)
    value, grad, grad_b = descend.loss_grad(X, y, coef, -0.5, loss=loss, sample_weight=w, l2=0.3)
    assert value == expected[0] and grad_b == expected[2]
    assert np.array_equal(grad, expected[1]) and grad.flags.writeable
    _assert_matches_reference((value, grad, grad_b), loss, X, y, coef, -0.5, w, 0.3)

