"""descend.fit and descend.gradient_descent: the solver (DESIGN.md §2, §3).

Every run is checked against an independent answer, never against numbers
written here (apart from the textbook data):

- the NumPy oracle ``descend.reference.fit`` over a grid of methods, batch
  sizes, losses, dtypes, layouts, options and shapes, with ``tol=None`` so
  both run the same number of steps; the oracle replays the core's
  SplitMix64 shuffles, so sgd and minibatch runs are compared step for step;
- seeds and thread counts (bitwise reproducibility);
- the stopping rules, each matched against the oracle's iteration count;
- the optimum: ``np.linalg.lstsq``, the ridge normal equations, SciPy's
  L-BFGS-B on the logistic objective, the lasso's optimality conditions;
- the classic NumPy loop for ``descend.gradient_descent``.

Tolerances. The oracle computes in float64 from the same values. In float64
descend differs only by summation order, so results agree to ~1e-12
relative. For float32 X the oracle still runs in float64 (float32 values
widened exactly) while the core keeps coef and intercept in float32 and
rounds them after every update (its sums are in double): each update adds a
relative error of ~6e-8 that later steps carry along, so float32 agrees to
~1e-5 (batch, few long steps) or ~1e-4 (sgd/minibatch, many short steps).
Coefficients are compared on the scale of the largest parameter, so entries
near zero (l1) are judged fairly.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.optimize
import scipy.special

import descend
from descend import reference

from conftest import textbook_problem

F64 = np.dtype(np.float64)
F32 = np.dtype(np.float32)

# Relative tolerance against the oracle: (dtype, batch?) -> rtol.
RTOL = {
    (F64, True): 1e-12,
    (F64, False): 1e-12,
    (F32, True): 1e-5,
    (F32, False): 1e-4,
}


def _rtol(dtype, method):
    return RTOL[(np.dtype(dtype), method == "batch")]


def _data(n, d, loss="squared", *, seed=0, dtype=np.float64, order="C", intercept=0.5, noise=0.1):
    """Fresh random data: Gaussian X, y from a random linear model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = X @ rng.standard_normal(d) + intercept
    if loss == "squared":
        y = p + noise * rng.standard_normal(n)
    else:
        y = (p + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    w = rng.uniform(0.5, 1.5, n)
    X = np.asarray(X.astype(dtype), order=order)
    return X, y.astype(dtype), w.astype(dtype)


def _theta(res):
    return np.append(np.asarray(res.coef, np.float64), res.intercept)


def assert_matches_reference(res, ref, rtol, *, start=None):
    """res (descend) equals ref (oracle) to rtol; ref moved away from start."""
    assert res.status == ref.status
    assert res.converged == ref.converged
    assert res.n_iter == ref.n_iter == len(res.loss_history)
    # Objectives on the scale of the run's largest (a fit can drive J near 0).
    h_scale = np.abs(ref.loss_history).max()
    np.testing.assert_allclose(res.loss_history, ref.loss_history, rtol=rtol, atol=rtol * h_scale)
    scale = np.abs(_theta(ref)).max()
    assert scale > 0
    np.testing.assert_allclose(res.coef, ref.coef, rtol=0, atol=rtol * scale)
    assert res.intercept == pytest.approx(ref.intercept, rel=0, abs=rtol * scale)
    # The last gradient's norm: near an optimum its entries are differences
    # of larger terms, so it carries a few times the parameters' error.
    np.testing.assert_allclose(res.grad_norm, ref.grad_norm, rtol=10 * rtol)
    if start is not None:
        # The fit did something: a solver returning its start (or zeros)
        # cannot pass the comparison above.
        assert np.abs(_theta(ref) - start).max() > 1e3 * rtol * scale


# ---------------------------------------------------------------------------
# 1. descend.fit == reference.fit over a grid.

# (method, batch_size): sgd, and minibatch with 1 (== sgd), 7, 32 and a
# batch larger than every n below (one batch per epoch == batch's gradient).
METHOD_BATCH_SIZES = [
    pytest.param(("batch", 32), id="batch"),
    pytest.param(("sgd", 32), id="sgd"),
    pytest.param(("minibatch", 1), id="mb1"),
    pytest.param(("minibatch", 7), id="mb7"),
    pytest.param(("minibatch", 32), id="mb32"),
    pytest.param(("minibatch", 100), id="mb100"),
]

# n = 1, 23, 53, 70: short last batches for 7 and 32 (70 = 10 x 7 has none
# for 7), one batch of all rows for 100; d = 1 and n = 1 included.
SHAPES = [(1, 3), (23, 1), (53, 5), (70, 4)]
REGS = [dict(l2=0.0, l1=0.0), dict(l2=0.1, l1=0.0), dict(l2=0.0, l1=0.02), dict(l2=0.1, l1=0.02)]
REG_IDS = ["noreg", "l2", "l1", "l1+l2"]


def _scenarios():
    """16 scenarios: every shape x regularisation, and every pair of the
    binary options (order, intercept, weights, shuffle) with each other and
    with shape and regularisation (a covering array)."""
    out = []
    for i, shape in enumerate(SHAPES):
        for j, reg in enumerate(REGS):
            a, b, c, e = i & 1, i >> 1, j & 1, j >> 1
            sc = dict(
                shape=shape, reg=reg, order="CF"[a ^ c], fit_intercept=bool(b ^ c),
                weights=bool(a ^ e), shuffle=bool(b ^ e), coef0=bool(a ^ b ^ c ^ e),
            )
            sid = "-".join([
                f"{shape[0]}x{shape[1]}", REG_IDS[j], sc["order"],
                "icpt" if sc["fit_intercept"] else "noicpt",
                "w" if sc["weights"] else "now",
                "shuf" if sc["shuffle"] else "noshuf",
                "coef0" if sc["coef0"] else "zeros",
            ])
            out.append(pytest.param(sc, id=sid))
    return out


@pytest.mark.parametrize("scenario", _scenarios())
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("method_bs", METHOD_BATCH_SIZES)
def test_fit_matches_reference(method_bs, loss, dtype, scenario):
    method, batch_size = method_bs
    n, d = scenario["shape"]
    X, y, w = _data(n, d, loss, seed=n * 100 + d, dtype=dtype, order=scenario["order"])
    coef0 = np.linspace(-0.3, 0.4, d) if scenario["coef0"] else None
    intercept0 = 0.2 if scenario["coef0"] else None
    kw = dict(
        loss=loss, method=method, batch_size=batch_size,
        learning_rate=0.05 if loss == "squared" else 0.5,
        max_iter=12, tol=None, fit_intercept=scenario["fit_intercept"],
        sample_weight=w if scenario["weights"] else None,
        shuffle=scenario["shuffle"], seed=11, coef0=coef0, intercept0=intercept0,
        **scenario["reg"],
    )
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert res.coef.dtype == np.dtype(dtype) and res.coef.shape == (d,)
    assert res.status == "max_iter" and res.n_iter == 12
    start = np.append(np.zeros(d) if coef0 is None else coef0, intercept0 or 0.0)
    assert_matches_reference(res, ref, _rtol(dtype, method), start=start)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    "shape, method, batch_size, learning_rate",
    [
        pytest.param((30001, 3), "batch", 32, 0.5, id="30001x3-batch"),
        pytest.param((2049, 64), "batch", 32, 0.5, id="2049x64-batch"),
        pytest.param((2049, 64), "minibatch", 1024, 0.5, id="2049x64-mb1024"),
        pytest.param((2049, 64), "minibatch", 1500, 0.5, id="2049x64-mb1500"),
        # Shuffled epochs over several gathered blocks of rows (gather.hpp:
        # 512 rows of 64 doubles a block), the next one gathered on a
        # second thread, with a short last block and a short last batch.
        # (One row per update at learning rate 0.5 is chaotic: rounding
        # differences would grow to O(1), so sgd steps at 0.01.)
        pytest.param((3001, 64), "sgd", 1, 0.01, id="3001x64-sgd-blocks"),
        pytest.param((3001, 64), "minibatch", 100, 0.5, id="3001x64-mb100-blocks"),
    ],
)
def test_multi_chunk_fit_matches_reference(shape, method, batch_size, learning_rate, order):
    # Large enough that each gradient is reduced over several chunks of the
    # core's partition (and threaded), against NumPy's own summation order.
    X, y, w = _data(*shape, "logistic", seed=5, order=order)
    kw = dict(loss="logistic", method=method, batch_size=batch_size, learning_rate=learning_rate,
              max_iter=4, tol=None, l2=0.01, fit_intercept=True, sample_weight=w, seed=2)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert_matches_reference(res, ref, 1e-12, start=np.zeros(shape[1] + 1))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(300, 5), (2049, 64)], ids=["300x5", "2049x64-multichunk"])
def test_method_equivalences(shape, order):
    # sgd is minibatch with batch_size=1; one in-order batch of all rows per
    # epoch is batch gradient descent (same rows, same sums, same updates).
    X, y, w = _data(*shape, seed=6, order=order)
    kw = dict(max_iter=5, tol=None, fit_intercept=True, sample_weight=w, l2=0.01, l1=0.01,
              learning_rate=0.01)
    sgd = descend.fit(X, y, method="sgd", seed=3, **kw)
    mb1 = descend.fit(X, y, method="minibatch", batch_size=1, seed=3, **kw)
    _same(sgd, mb1)
    batch = descend.fit(X, y, method="batch", precompute=False, **kw)  # the streaming kernels (test_gram.py: S)
    for size in (shape[0], shape[0] + 1, 10**6):
        mb = descend.fit(X, y, method="minibatch", batch_size=size, shuffle=False, **kw)
        np.testing.assert_array_equal(mb.coef, batch.coef)
        assert mb.intercept == batch.intercept
        np.testing.assert_array_equal(mb.loss_history, batch.loss_history)
    assert np.abs(batch.coef).max() > 0 and not np.array_equal(batch.coef, sgd.coef)


# ---------------------------------------------------------------------------
# 2. Seeds and threads.

EPOCH_METHODS = [
    pytest.param(dict(method="sgd"), id="sgd"),
    pytest.param(dict(method="minibatch", batch_size=8), id="mb8"),
]


def _same(a, b):
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.intercept == b.intercept
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    assert a.grad_norm == b.grad_norm or (np.isnan(a.grad_norm) and np.isnan(b.grad_norm))
    assert (a.n_iter, a.status) == (b.n_iter, b.status)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kw", EPOCH_METHODS)
def test_same_seed_is_bitwise_reproducible(kw, dtype):
    X, y, _ = _data(101, 4, dtype=dtype)
    runs = [descend.fit(X, y, max_iter=6, tol=None, fit_intercept=True, seed=1234, **kw) for _ in range(2)]
    _same(*runs)
    assert np.abs(runs[0].coef).max() > 0.1


@pytest.mark.parametrize("kw", EPOCH_METHODS)
def test_different_seeds_give_different_fits(kw):
    X, y, _ = _data(101, 4)
    fits = [descend.fit(X, y, max_iter=3, tol=None, seed=s, **kw) for s in (0, 1, 2**64 - 1)]
    for i in range(len(fits)):
        for j in range(i):
            assert not np.array_equal(fits[i].coef, fits[j].coef)
            assert not np.array_equal(fits[i].loss_history, fits[j].loss_history)
    # ... and each seed's shuffle is the oracle's SplitMix64 shuffle.
    for s, res in zip((0, 1, 2**64 - 1), fits):
        assert_matches_reference(res, reference.fit(X, y, max_iter=3, tol=None, seed=s, **kw), 1e-12)


@pytest.mark.parametrize("kw", EPOCH_METHODS)
def test_shuffle_false_ignores_the_seed(kw):
    X, y, _ = _data(101, 4)
    a = descend.fit(X, y, max_iter=4, tol=None, shuffle=False, seed=0, **kw)
    b = descend.fit(X, y, max_iter=4, tol=None, shuffle=False, seed=987654321, **kw)
    c = descend.fit(X, y, max_iter=4, tol=None, shuffle=False, seed=None, **kw)
    _same(a, b)
    _same(a, c)
    # In order: the same as the oracle visiting rows 0..n-1 in consecutive slices.
    assert_matches_reference(a, reference.fit(X, y, max_iter=4, tol=None, shuffle=False, **kw), 1e-12)
    shuffled = descend.fit(X, y, max_iter=4, tol=None, shuffle=True, seed=0, **kw)
    assert not np.array_equal(shuffled.coef, a.coef)


def test_seed_none_draws_fresh_shuffles():
    X, y, _ = _data(101, 4)
    fits = [descend.fit(X, y, method="sgd", max_iter=2, tol=None, seed=None) for _ in range(3)]
    assert len({f.coef.tobytes() for f in fits}) > 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    "shape, kw",
    [
        pytest.param((30001, 3), dict(method="batch"), id="30001x3-batch"),
        pytest.param((2049, 64), dict(method="batch"), id="2049x64-batch"),
        pytest.param((2049, 64), dict(method="minibatch", batch_size=1024), id="2049x64-mb1024-shuf"),
        pytest.param((2049, 64), dict(method="minibatch", batch_size=2048, shuffle=False), id="2049x64-mb2048-noshuf"),
        pytest.param((2049, 64), dict(method="sgd", max_iter=1), id="2049x64-sgd"),
    ],
)
def test_bitwise_identical_for_any_thread_count(shape, kw, order, dtype):
    X, y, w = _data(*shape, "logistic", seed=3, dtype=dtype, order=order)
    kw = dict(dict(loss="logistic", learning_rate=0.5, max_iter=3, tol=None, l2=1e-3, l1=1e-3,
                   fit_intercept=True, sample_weight=w, seed=9), **kw)
    one = descend.fit(X, y, n_threads=1, **kw)
    two = descend.fit(X, y, n_threads=2, **kw)
    default = descend.fit(X, y, n_threads=None, **kw)
    _same(one, two)
    _same(one, default)
    assert np.abs(one.coef).max() > 0


# ---------------------------------------------------------------------------
# 3. Stopping rules, with the oracle's iteration counts.


def _relative_change(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1.0)


@pytest.mark.parametrize("n_iter_no_change", [1, 3])
@pytest.mark.parametrize(
    "kw",
    [
        pytest.param(dict(method="batch", learning_rate=0.05, tol=1e-5), id="batch"),
        pytest.param(dict(method="batch", loss="logistic", learning_rate=0.5, tol=1e-6, fit_intercept=True), id="batch-logistic"),
        pytest.param(dict(method="sgd", learning_rate=0.01, tol=1e-3), id="sgd"),
        pytest.param(dict(method="minibatch", batch_size=16, learning_rate=0.02, tol=1e-3), id="mb16"),
    ],
)
def test_tol_stops_where_the_reference_does(kw, n_iter_no_change):
    X, y, _ = _data(120, 3, kw.get("loss", "squared"), seed=21)
    kw = dict(kw, n_iter_no_change=n_iter_no_change, max_iter=3000)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert res.status == "tol" and res.converged is True
    assert "tol" in res.message
    assert n_iter_no_change < res.n_iter < 3000
    assert_matches_reference(res, ref, 1e-12, start=np.zeros(4))
    # The rule itself: the last n_iter_no_change changes are <= tol, the one
    # before is not (or the run is too short to have one).
    h = res.loss_history
    changes = [_relative_change(h[k - 1], h[k]) for k in range(1, len(h))]
    assert all(c <= kw["tol"] for c in changes[-n_iter_no_change:])
    if len(changes) > n_iter_no_change:
        assert changes[-n_iter_no_change - 1] > kw["tol"]


@pytest.mark.parametrize(
    "loss, reg",
    [
        pytest.param("squared", {}, id="squared"),
        pytest.param("squared", dict(l1=0.05), id="squared-l1"),
        pytest.param("logistic", dict(l2=0.01), id="logistic-l2"),
        pytest.param("logistic", dict(l1=0.01, l2=0.01), id="logistic-l1-l2"),
    ],
)
def test_gtol_stops_where_the_reference_does(loss, reg):
    X, y, w = _data(150, 4, loss, seed=22)
    kw = dict(loss=loss, method="batch", learning_rate=0.1 if loss == "squared" else 1.0,
              max_iter=20000, tol=None, gtol=1e-7, fit_intercept=True, sample_weight=w, **reg)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert res.status == "gtol" and res.converged is True
    assert "gradient" in res.message
    assert 1 < res.n_iter < 20000
    assert res.grad_norm <= 1e-7
    np.testing.assert_allclose(res.loss_history, ref.loss_history, rtol=1e-12)
    assert res.n_iter == ref.n_iter and res.status == ref.status
    np.testing.assert_allclose(_theta(res), _theta(ref), rtol=0, atol=1e-10)
    if not reg.get("l1"):
        # The returned parameters are the ones whose gradient was checked.
        _, g, gb = reference.loss_grad(X, y, res.coef, res.intercept, loss=loss, sample_weight=w, l2=reg.get("l2", 0.0))
        assert res.grad_norm == pytest.approx(np.sqrt(g @ g + gb * gb), rel=1e-6)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_max_iter_stops_unconverged(method):
    X, y, _ = _data(60, 3, seed=23)
    kw = dict(method=method, batch_size=8, learning_rate=0.001, max_iter=7, tol=1e-12, fit_intercept=True)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert res.status == "max_iter" and res.converged is False and res.n_iter == 7
    assert "max_iter" in res.message
    assert_matches_reference(res, ref, 1e-12, start=np.zeros(4))


@pytest.mark.parametrize("stop_at", [1, 2, 5])
@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_callback_stop_returns_the_checked_point(method, stop_at):
    X, y, _ = _data(60, 3, seed=24)
    kw = dict(method=method, batch_size=8, learning_rate=0.05, tol=None, fit_intercept=True, seed=4)
    calls = []

    def cb(state):
        calls.append(state)
        return state.iteration >= stop_at

    res = descend.fit(X, y, max_iter=100, callback=cb, **kw)
    assert res.status == "callback" and res.converged is False
    assert res.n_iter == len(calls) == stop_at
    # batch checks the point an iteration starts from (stop_at - 1 updates
    # done); an epoch is checked after its updates (stop_at epochs done).
    updates = stop_at - 1 if method == "batch" else stop_at
    if updates == 0:
        np.testing.assert_array_equal(res.coef, np.zeros(3))
        assert res.intercept == 0.0
        assert np.abs(descend.fit(X, y, max_iter=1, **kw).coef).max() > 0  # one update would move
    else:
        ref = reference.fit(X, y, max_iter=updates, **kw)
        np.testing.assert_allclose(_theta(res), _theta(ref), rtol=1e-12, atol=0)
    ref_history = reference.fit(X, y, max_iter=stop_at, **kw).loss_history
    np.testing.assert_allclose(res.loss_history, ref_history, rtol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param(dict(method="batch", learning_rate=5.0), id="batch"),
        pytest.param(dict(method="sgd", learning_rate=5.0), id="sgd"),
        pytest.param(dict(method="minibatch", batch_size=10, learning_rate=5.0), id="mb10"),
        pytest.param(dict(method="batch", learning_rate=5.0, dtype=np.float32), id="batch-f32"),
        # logistic J grows only linearly in coef: it takes a huge rate
        pytest.param(dict(method="batch", loss="logistic", learning_rate=1e12), id="batch-logistic"),
    ],
)
def test_divergence_raises_at_the_reference_iteration(kw):
    kw = dict(kw)
    dtype = kw.pop("dtype", np.float64)
    X, y, _ = _data(50, 4, seed=25, dtype=dtype)
    if kw.get("loss") == "logistic":  # labels unrelated to X: not separable
        y = (np.random.default_rng(26).random(50) > 0.5).astype(dtype)
    with pytest.raises(descend.DivergenceError) as got:
        descend.fit(X, y, max_iter=1000, tol=None, **kw)
    with pytest.raises(descend.DivergenceError) as expected:
        reference.fit(X, y, max_iter=1000, tol=None, **kw)
    msg = str(got.value)
    named = re.search(r"learning_rate\s*=\s*([-+0-9.eE]+)", msg)
    assert named and float(named.group(1)) == kw["learning_rate"], msg
    assert "smaller" in msg
    where = re.search(r"at (?:iteration|epoch) (\d+)", msg)
    ref_where = re.search(r"at iteration (\d+)", str(expected.value))
    assert where and ref_where, (msg, str(expected.value))
    assert where.group(1) == ref_where.group(1)
    # With a small enough rate the same problem runs to the end.
    assert descend.fit(X, y, max_iter=50, tol=None, **dict(kw, learning_rate=0.01)).status == "max_iter"


# ---------------------------------------------------------------------------
# 4. The optimum.


def _step(X, fit_intercept, factor=2.0):
    """1/L for J = mean of squares (L = 2/n ||[X, 1]||_2^2); logistic: factor=1/4."""
    A = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    return 1.0 / (factor / len(A) * np.linalg.norm(A.astype(np.float64), 2) ** 2)


def _lstsq(X, y, fit_intercept):
    A = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    sol = np.linalg.lstsq(A.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    return (sol[:-1], sol[-1]) if fit_intercept else (sol, 0.0)


@pytest.mark.parametrize("fit_intercept", [False, True], ids=["nointercept", "intercept"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_batch_squared_reaches_lstsq(fit_intercept, order):
    X, y, _ = _data(200, 5, seed=31, order=order, intercept=3.0 if fit_intercept else 0.0, noise=0.5)
    if fit_intercept:
        X = np.asarray(X + np.linspace(-1, 1, 5), order=order)  # columns off centre
    coef, b = _lstsq(X, y, fit_intercept)
    res = descend.fit(X, y, learning_rate=_step(X, fit_intercept), max_iter=20000, tol=None, gtol=1e-11, fit_intercept=fit_intercept)
    assert res.status == "gtol"
    np.testing.assert_allclose(res.coef, coef, rtol=0, atol=1e-10 * np.abs(coef).max())
    assert res.intercept == pytest.approx(b, abs=1e-10 * max(abs(b), 1))
    assert res.loss_history[-1] == pytest.approx(np.mean((X @ coef + b - y) ** 2), rel=1e-12)


def test_batch_squared_float32_reaches_lstsq():
    X, y, _ = _data(200, 5, seed=32, dtype=np.float32, intercept=2.0)
    coef, b = _lstsq(X, y, True)
    res = descend.fit(X, y, learning_rate=0.2, max_iter=500, tol=None, fit_intercept=True)
    assert res.coef.dtype == np.float32
    np.testing.assert_allclose(res.coef, coef, rtol=0, atol=1e-5 * np.abs(coef).max())
    assert res.intercept == pytest.approx(b, abs=1e-5 * abs(b))


@pytest.mark.parametrize("weights", [False, True], ids=["now", "w"])
def test_batch_ridge_reaches_the_closed_form(weights):
    X, y, w = _data(150, 6, seed=33, intercept=-1.5, noise=0.5)
    X = X + 0.3
    l2 = 0.5
    n, d = X.shape
    sw = w if weights else np.ones(n)
    # Stationarity of J = (1/n) sum w (Xc + b - y)^2 + l2/2 |c|^2 in (c, b):
    #   (2/n) A^T W (A theta - y) + diag(l2, ..., l2, 0) theta = 0,  A = [X, 1].
    A = np.column_stack([X, np.ones(n)])
    H = 2.0 / n * A.T @ (sw[:, None] * A) + np.diag(np.append(np.full(d, l2), 0.0))
    theta = np.linalg.solve(H, 2.0 / n * A.T @ (sw * y))
    res = descend.fit(X, y, learning_rate=0.1, max_iter=20000, tol=None, gtol=1e-12, l2=l2,
                      fit_intercept=True, sample_weight=w if weights else None)
    assert res.status == "gtol"
    np.testing.assert_allclose(_theta(res), theta, rtol=0, atol=1e-10 * np.abs(theta).max())
    # The regularisation mattered: the ridge optimum is not weighted least squares.
    ls = np.linalg.lstsq(np.sqrt(sw)[:, None] * A, np.sqrt(sw) * y, rcond=None)[0]
    assert np.abs(res.coef - ls[:-1]).max() > 1e-2


def _logistic_objective(X, y, w, l2):
    def fun(theta):
        coef, b = theta[:-1], theta[-1]
        p = X @ coef + b
        J = np.mean(w * (np.logaddexp(0.0, p) - y * p)) + 0.5 * l2 * coef @ coef
        r = w * (scipy.special.expit(p) - y) / len(y)
        return J, np.append(X.T @ r + l2 * coef, r.sum())

    return fun


@pytest.mark.parametrize("weights", [False, True], ids=["now", "w"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_batch_logistic_l2_reaches_the_lbfgs_optimum(order, weights):
    X, y, w = _data(300, 4, "logistic", seed=34, order=order, intercept=0.7)
    sw = w if weights else np.ones(len(y))
    l2 = 0.01
    fun = _logistic_objective(X, y, sw, l2)
    opt = scipy.optimize.minimize(fun, np.zeros(5), jac=True, method="L-BFGS-B",
                                  options=dict(ftol=0.0, gtol=1e-12, maxiter=10000))
    res = descend.fit(X, y, loss="logistic", learning_rate=2.0, max_iter=50000, tol=None, gtol=1e-10,
                      l2=l2, fit_intercept=True, sample_weight=w if weights else None)
    assert res.status == "gtol"
    assert np.linalg.norm(fun(opt.x)[1]) < 1e-8  # scipy got there too
    np.testing.assert_allclose(_theta(res), opt.x, rtol=0, atol=1e-7 * np.abs(opt.x).max())
    assert res.loss_history[-1] == pytest.approx(opt.fun, rel=1e-12)
    assert res.loss_history[-1] <= opt.fun + 1e-14


def test_l1_gives_exact_zeros_on_irrelevant_features():
    rng = np.random.default_rng(35)
    n, d = 200, 8
    X = rng.standard_normal((n, d))
    true = np.zeros(d)
    true[[1, 4, 6]] = [2.0, -1.5, 1.0]
    y = X @ true + 0.5 + 0.1 * rng.standard_normal(n)
    l1 = 0.1
    kw = dict(learning_rate=0.1, max_iter=20000, tol=None, gtol=1e-9, l1=l1, fit_intercept=True)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert res.status == "gtol" and res.n_iter == ref.n_iter
    np.testing.assert_allclose(_theta(res), _theta(ref), rtol=0, atol=1e-12)
    irrelevant = true == 0
    assert np.all(res.coef[irrelevant] == 0.0)  # exactly
    assert np.all(res.coef[~irrelevant] != 0.0)
    assert np.all(np.sign(res.coef[~irrelevant]) == np.sign(true[~irrelevant]))
    # Lasso optimality (KKT) of J = mean (p - y)^2 + l1 |coef|_1:
    _, g, gb = reference.loss_grad(X, y, res.coef, res.intercept)
    nz = res.coef != 0
    np.testing.assert_allclose(g[nz], -l1 * np.sign(res.coef[nz]), atol=1e-8)
    assert np.all(np.abs(g[~nz]) <= l1 + 1e-8)
    assert abs(gb) < 1e-8
    # Shrunk toward zero compared with least squares.
    coef_ls, _ = _lstsq(X, y, True)
    assert np.all(np.abs(res.coef[~irrelevant]) < np.abs(coef_ls[~irrelevant]))


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param(dict(method="sgd", learning_rate=0.002), id="sgd"),
        pytest.param(dict(method="minibatch", batch_size=10, learning_rate=0.01), id="mb10"),
        pytest.param(dict(method="minibatch", batch_size=10, learning_rate=0.01, shuffle=False), id="mb10-noshuf"),
    ],
)
def test_stochastic_methods_get_near_lstsq(kw):
    X, y, _ = _data(300, 4, seed=36, intercept=1.0, noise=0.2)
    coef, b = _lstsq(X, y, True)
    theta = np.append(coef, b)
    res = descend.fit(X, y, max_iter=60, tol=None, fit_intercept=True, seed=5, **kw)
    err = np.abs(_theta(res) - theta).max() / np.abs(theta).max()
    assert err < 1e-2, err
    # ... and the objective came down to near the least-squares minimum.
    J_star = np.mean((X @ coef + b - y) ** 2)
    J_fit = np.mean((X @ res.coef + res.intercept - y) ** 2)
    assert J_star <= J_fit < J_star * 1.01


# ---------------------------------------------------------------------------
# 5. descend.gradient_descent, the textbook function.


def _classic(X, y, theta, learning_rate, num_iterations):
    """The loop every course writes, verbatim."""
    m = len(y)
    for _ in range(num_iterations):
        theta = theta - learning_rate * (2 / m) * X.T @ (X @ theta - y)
    return theta


def test_gradient_descent_textbook_example():
    # tests/data/known_answers.txt: the C++ tests run the same example.
    X, y, theta, lr, num_iterations = textbook_problem()
    theta_before = theta.copy()
    expected = _classic(X, y, theta, lr, num_iterations)
    got = descend.gradient_descent(X, y, theta, lr, num_iterations)
    assert got.shape == (2,) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    assert np.abs(got).min() > 0.1  # it moved
    np.testing.assert_array_equal(theta, theta_before)  # the input is untouched
    # Integer inputs, as the textbook types them, give the same float64 result.
    ints = [a.astype(int) for a in (X, y, theta)]
    assert all(np.array_equal(i, a) for i, a in zip(ints, (X, y, theta)))
    got_int = descend.gradient_descent(*(i.tolist() for i in ints), lr, num_iterations)
    assert got_int.dtype == np.float64
    np.testing.assert_allclose(got_int, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(1, 1), (40, 3), (257, 17)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_gradient_descent_matches_the_classic_loop(shape, order):
    m, d = shape
    X, y, _ = _data(m, d, seed=41, order=order)
    theta0 = np.random.default_rng(42).standard_normal(d)
    keep = theta0.copy()
    lr = 0.4 / (1 + np.linalg.norm(X, 2) ** 2 / m)
    got = descend.gradient_descent(X, y, theta0, lr, 200)
    np.testing.assert_allclose(got, _classic(X, y, theta0, lr, 200), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(theta0, keep)
    assert np.abs(got - theta0).max() > 1e-3


def test_gradient_descent_column_vectors():
    X, y, _ = _data(40, 3, seed=43)
    theta0 = np.full((3, 1), 0.1)
    got = descend.gradient_descent(X, y[:, None], theta0, 0.05, 100)
    expected = _classic(X, y[:, None], theta0, 0.05, 100)
    assert got.shape == expected.shape == (3, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(theta0, 0.1)
    # Mixed: (d, 1) theta with (m,) y keeps theta's shape.
    mixed = descend.gradient_descent(X, y, theta0, 0.05, 100)
    assert mixed.shape == (3, 1)
    np.testing.assert_array_equal(mixed, got)


def test_gradient_descent_zero_iterations_returns_theta():
    X, y, _ = _data(40, 3, seed=44)
    theta0 = np.array([0.5, -1.0, 2.0])
    got = descend.gradient_descent(X, y, theta0, 0.05, 0)
    np.testing.assert_array_equal(got, theta0)
    assert not np.shares_memory(got, theta0)
    assert not np.array_equal(descend.gradient_descent(X, y, theta0, 0.05, 1), theta0)


def test_gradient_descent_float32():
    X, y, _ = _data(100, 4, seed=45, dtype=np.float32)
    got = descend.gradient_descent(X, y, np.zeros(4), 0.05, 100)
    assert got.dtype == np.float32
    expected = _classic(X.astype(np.float64), y.astype(np.float64), np.zeros(4), 0.05, 100)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


# Up to 2**15 values of X, gradient_descent runs fit's gd arithmetic in a
# loop of its own (solver.hpp, textbook_loop); 513 x 64 is past it (fit's loop).
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(3, 2), (80, 5), (64, 512), (513, 64)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_gradient_descent_is_fit_batch_squared(shape, order, dtype):
    m, d = shape
    X, y, _ = _data(m, d, seed=46, order=order, dtype=dtype)
    theta0 = np.linspace(-1, 1, d).astype(dtype)
    lr = 0.3 / (1 + np.linalg.norm(X.astype(np.float64), 2) ** 2 / m)
    got = descend.gradient_descent(X, y, theta0, lr, 25)
    res = descend.fit(X, y, learning_rate=lr, max_iter=25, tol=None, coef0=theta0)
    np.testing.assert_array_equal(got, res.coef)
    assert np.abs(got - theta0).max() > 0


@pytest.mark.parametrize("shape, iterations", [((3, 2), 60), ((513, 64), 60), ((3, 2), 1)],
                         ids=["lean loop", "fit loop", "last update"])
def test_gradient_descent_diverges_as_fit_does(shape, iterations):
    # The lean loop hands a divergence to fit(), which raises its own error:
    # the same message either way, and theta left as it was.
    m, d = shape
    X, y, _ = _data(m, d, seed=47)
    theta0 = np.zeros(d)
    lr = 1e3
    if iterations == 1:  # a finite start whose first step overflows
        y, lr = y * 1e6, 1e305
    with pytest.raises(descend.DivergenceError) as textbook:
        descend.gradient_descent(X, y, theta0, lr, iterations)
    with pytest.raises(descend.DivergenceError) as fitted:
        descend.fit(X, y, learning_rate=lr, max_iter=iterations, tol=None, coef0=theta0)
    assert str(textbook.value) == str(fitted.value)
    np.testing.assert_array_equal(theta0, 0.0)


# ---------------------------------------------------------------------------
# 6. FitResult and IterationState.


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_fit_result_fields(method, dtype):
    X, y, _ = _data(50, 3, "logistic", seed=51, dtype=dtype)
    res = descend.fit(X, y, loss="logistic", method=method, batch_size=8, learning_rate=0.3,
                      max_iter=9, tol=None, fit_intercept=True)
    assert isinstance(res, descend.FitResult)
    assert isinstance(res.coef, np.ndarray) and res.coef.dtype == np.dtype(dtype) and res.coef.shape == (3,)
    assert type(res.intercept) is float and res.intercept != 0.0
    assert type(res.n_iter) is int and res.n_iter == 9
    assert type(res.converged) is bool and res.converged is False
    assert type(res.status) is str and type(res.message) is str and res.message
    assert isinstance(res.loss_history, np.ndarray) and res.loss_history.dtype == np.float64
    assert res.loss_history.shape == (res.n_iter,)
    assert np.all(np.isfinite(res.loss_history))
    assert res.loss_history[-1] < res.loss_history[0]
    if method == "batch":  # entry 0 is J at the start, p = 0: log 2 for a logistic fit
        assert res.loss_history[0] == pytest.approx(np.log(2.0), rel=1e-12)
    assert type(res.grad_norm) is float and np.isfinite(res.grad_norm) and res.grad_norm > 0
    assert "FitResult(" in repr(res)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_callback_states_follow_the_reference(method):
    X, y, w = _data(45, 3, seed=52)
    kw = dict(method=method, batch_size=8, learning_rate=0.05, tol=None, fit_intercept=True,
              sample_weight=w, l2=0.05, l1=0.01, seed=6)
    states, coefs = [], []

    def cb(state):
        states.append(state)
        coefs.append(state.coef.copy())
        state.coef[:] = 1e9  # a copy: must not reach the fit

    res = descend.fit(X, y, max_iter=5, callback=cb, **kw)
    assert [s.iteration for s in states] == [1, 2, 3, 4, 5]
    assert [s.objective for s in states] == list(res.loss_history)
    assert states[-1].grad_norm == res.grad_norm
    plain = descend.fit(X, y, max_iter=5, **kw)
    _same(res, plain)
    for s in states:
        assert isinstance(s, descend.IterationState)
        assert type(s.intercept) is float and type(s.objective) is float
        assert type(s.grad_norm) is float and np.isfinite(s.grad_norm)
    # The state after check k is the oracle's point after k - 1 updates for
    # batch (an iteration is checked where it starts) and after k epochs for
    # sgd/minibatch; its objective is that check's loss_history entry.
    for s, c in zip(states, coefs):
        updates = s.iteration - 1 if method == "batch" else s.iteration
        if updates == 0:
            point = np.zeros(4)
        else:
            point = _theta(reference.fit(X, y, max_iter=updates, **kw))
        np.testing.assert_allclose(np.append(c, s.intercept), point, rtol=0, atol=1e-12 * np.abs(point).max(initial=1.0))
        if method == "batch":  # J at the state's own point
            J, _, _ = reference.loss_grad(X, y, c, s.intercept, sample_weight=w, l2=kw["l2"])
            assert s.objective == pytest.approx(J + kw["l1"] * np.abs(c).sum(), rel=1e-12)
    assert not np.array_equal(coefs[0], coefs[-1])


def test_callback_coef_is_the_point_reached(capsys):
    X, y, _ = _data(45, 3, seed=53)
    seen = []
    res = descend.fit(X, y, method="sgd", max_iter=4, tol=None, seed=3,
                      callback=lambda s: seen.append(s.coef.copy()))
    for k, c in enumerate(seen, start=1):
        ref = reference.fit(X, y, method="sgd", max_iter=k, tol=None, seed=3)
        np.testing.assert_allclose(c, ref.coef, rtol=1e-12)
    np.testing.assert_array_equal(seen[-1], res.coef)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("method, unit", [("batch", "iteration"), ("minibatch", "epoch")])
def test_verbose_prints_the_first_objective_and_the_stop(method, unit, capsys):
    X, y, _ = _data(45, 3, "logistic", seed=54, dtype=np.float32)
    res = descend.fit(X, y, loss="logistic", method=method, max_iter=3, tol=None, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 2
    assert unit in lines[0] and "objective" in lines[0]
    shown = float(re.search(r"objective\s+(\S+)", lines[0]).group(1))
    assert shown == pytest.approx(res.loss_history[0], rel=1e-7)
    assert lines[-1].endswith(res.message)
