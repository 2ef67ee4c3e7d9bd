"""descend.dask.fit: Dask arrays fitted on a real Dask cluster (issue 14).

Everything runs on real components: a ``distributed.LocalCluster`` of two
worker processes (one per module, with its ``Client``), real dask arrays,
and a few clusters of their own for the tests that need one (one worker,
no worker, a worker killed mid-fit, a non-default client). Expected values
are never written here: they come from ``descend.fit`` on the concatenated
NumPy data, or from ``descend.reference``, on fresh seeded random data.

- batch equals ``descend.fit`` on the concatenated data (every loss, both
  dtypes, intercept, NumPy and Dask weights, l1 and l2, update rules, a
  schedule, ``learning_rate="auto"`` and ``"bb"``, ``momentum="auto"``,
  ``precondition="auto"``, a tol stop, uneven chunks);
- results repeat bitwise, fit after fit, and with one worker as with two;
- sgd/minibatch on one block equal ``descend.fit``; on several blocks,
  parameter mixing equals a NumPy replay written here (per-block SplitMix64
  shuffles, row-weighted averages of parameters and objectives);
- the estimators fitted on dask arrays inside a Pipeline: the NumPy fit's
  coef_, and lazy dask predictions equal to the NumPy ones;
- faults and input: a worker killed mid-fit, unknown chunk sizes, column
  chunks, misaligned y chunks, NaN/inf in a block, no workers (and the
  workers always seen, however often the client refreshes its cached
  scheduler_info), non-dask X, bad lengths and options (before any work);
- a non-default ``client=``; persisted input fitted twice and left intact;
- callback and verbose; ``import descend`` does not import dask.

Tolerances: float64 runs differ from the local ones only by the order of
the block sums (1e-10 relative); float32 keeps parameters in float32, so a
last-bit difference in a sum can round a step differently (1e-5 relative).
Calls that could hang (own clusters) run in a thread joined with a timeout.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import dask
import dask.array as da
import distributed
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import descend
import descend.dask
from descend import reference, schedules

from conftest import LOSSES, seed_of, within

F64 = np.dtype(np.float64)
F32 = np.dtype(np.float32)
RTOL = {F64: 1e-10, F32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])

N, D = 100, 5
CHUNKS = (37, 50, 13)  # uneven row blocks
N_CLASSES = 3  # softmax's classes
MASK = 2**64 - 1


# ---------------------------------------------------------------------------
# Clusters


@contextlib.contextmanager
def own_cluster(n_workers, **client_kw):
    """A LocalCluster of `n_workers` worker processes and its Client, closed after."""
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    client = distributed.Client(cluster, **client_kw)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


@pytest.fixture(scope="module")
def client():
    """The module's two-worker cluster; its client is the default one."""
    with own_cluster(2) as c:
        c.wait_for_workers(2)
        yield c


def other_cluster(n_workers):
    """A cluster of the test's own whose client is NOT the default one."""
    return own_cluster(n_workers, set_as_default=False)


# ---------------------------------------------------------------------------
# Data


def problem(loss, seed, dtype=F64, n=N, d=D):
    """Fresh X, y and positive weights of `dtype` for `loss`."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = X @ rng.standard_normal(d) + 0.3
    if loss in ("squared", "huber"):
        y = 2.0 * p + rng.standard_normal(n)  # huber residuals on both sides of delta
    elif loss == "softmax":
        y = rng.integers(0, N_CLASSES, n).astype(np.float64)
        y[:N_CLASSES] = np.arange(N_CLASSES)  # every class present
    else:
        y = (p + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    w = rng.uniform(0.2, 2.0, n)
    return X.astype(dtype), y.astype(dtype), w.astype(dtype)


def dask_of(a, chunks=CHUNKS):
    """`a` as a dask array of row blocks `chunks` (whole rows)."""
    return da.from_array(a, chunks=(chunks,) + tuple((s,) for s in a.shape[1:]))


def placed(client, a, chunks=CHUNKS):
    """`a` as a dask array of row blocks `chunks`, block i persisted on worker
    i mod n_workers: every worker holds blocks, so a fit spans them all."""
    workers = sorted(client.nthreads())
    edges = np.cumsum((0,) + tuple(chunks))
    parts = [client.persist(da.from_array(a[lo:hi], chunks=-1), workers=[workers[i % len(workers)]])
             for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]
    with client.as_current():
        distributed.wait([f for p in parts for f in distributed.futures_of(p)])
    holders = {w for p in parts for ws in client.who_has(p).values() for w in ws}
    assert holders == set(workers), f"blocks on {holders}, workers {workers}"
    return da.concatenate(parts, axis=0)


# ---------------------------------------------------------------------------
# Comparisons


def scale_err(actual, expected):
    """Largest difference on the scale of expected's largest entry."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


def assert_same_fit(got, expected, rtol, what=""):
    """got equals expected to rtol: coef and intercept on the scale of the
    largest parameter, loss_history entry by entry; same n_iter and status."""
    assert np.max(np.abs(expected.coef)) > 0, f"{what}: the fit did not move, the comparison proves nothing"
    assert got.coef.dtype == expected.coef.dtype and got.coef.shape == expected.coef.shape, what
    assert (got.n_iter, got.status, got.converged) == (expected.n_iter, expected.status, expected.converged), what
    params = np.append(np.ravel(expected.coef), expected.intercept)
    scale = np.max(np.abs(params))
    e = np.max(np.abs(np.append(np.ravel(got.coef), got.intercept) - params)) / scale
    assert e <= rtol, f"{what}: coef/intercept differ by {e:.3e} relative (rtol {rtol:g})"
    assert got.loss_history.shape == expected.loss_history.shape, what
    np.testing.assert_allclose(got.loss_history, expected.loss_history, rtol=rtol, atol=0, err_msg=what)
    np.testing.assert_allclose(got.grad_norm, expected.grad_norm, rtol=10 * rtol, err_msg=what)
    np.testing.assert_allclose(got.learning_rate, expected.learning_rate, rtol=rtol, err_msg=what)


def assert_bitwise(a, b, what=""):
    """The same bits: coef, intercept, loss_history, grad_norm; same n_iter and status."""
    for name in ("coef", "intercept", "loss_history", "grad_norm"):
        x, z = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == z.dtype and x.shape == z.shape and x.tobytes() == z.tobytes(), f"{what}: {name} bits differ"
    assert (a.n_iter, a.status) == (b.n_iter, b.status), what


def task_count(client, f, *args, **kwargs):
    """(f's result or exception, number of tasks the cluster ran meanwhile)."""
    with distributed.get_task_stream(client=client) as stream:
        try:
            result = f(*args, **kwargs)
        except Exception as e:
            result = e
    return result, len(stream.data)


# ---------------------------------------------------------------------------
# 1. batch equals descend.fit on the concatenated data


@DTYPES
@pytest.mark.parametrize("loss", LOSSES)
def test_batch_equals_local_fit_every_loss(client, loss, dtype):
    """Intercept, l1 + l2, Dask y and weights, uneven blocks."""
    X, y, w = problem(loss, seed_of("batch", loss), dtype)
    kw = dict(loss=loss, method="batch", optimizer="gd", learning_rate=0.2, max_iter=8, tol=None,
              l2=0.05, l1=0.01, fit_intercept=True)
    got = descend.dask.fit(dask_of(X), dask_of(y), sample_weight=dask_of(w), **kw)
    assert_same_fit(got, descend.fit(X, y, sample_weight=w, **kw), RTOL[dtype], loss)


# case: (loss, fit arguments, weights as "numpy", "dask" or None)
BATCH_CASES = {
    "nesterov-numpy-weights": ("logistic", dict(optimizer="nesterov", learning_rate=0.5), "numpy"),
    "adam-l1": ("squared", dict(optimizer="adam", learning_rate=0.1, l1=0.05), "dask"),
    "momentum-no-intercept": ("huber", dict(optimizer="momentum", learning_rate=0.1, fit_intercept=False), None),
    "rmsprop-softmax": ("softmax", dict(optimizer="rmsprop", learning_rate=0.05), "numpy"),
    "schedule": ("squared", dict(learning_rate=schedules.InverseScaling(0.1, power_t=0.5)), "dask"),
    "auto": ("logistic", dict(learning_rate="auto"), "dask"),
    "auto-nesterov-softmax": ("softmax", dict(optimizer="nesterov", learning_rate="auto"), None),
    "tol-stop": ("squared", dict(learning_rate=0.1, tol=1e-4, max_iter=300), None),
    # The column sums come from the blocks (one more round trip).
    "bb-precondition": ("logistic", dict(learning_rate="bb", precondition="auto"), "dask"),
    "fista-precondition-softmax": ("softmax", dict(optimizer="nesterov", momentum="auto", learning_rate="auto",
                                                   precondition="auto"), "numpy"),
}


@DTYPES
@pytest.mark.parametrize("case", list(BATCH_CASES))
def test_batch_equals_local_fit_options(client, case, dtype):
    loss, extra, weights = BATCH_CASES[case]
    X, y, w = problem(loss, seed_of("batch options", case), dtype)
    kw = dict(dict(loss=loss, method="batch", max_iter=10, tol=None, l2=0.01, fit_intercept=True), **extra)
    dask_w = {"numpy": w, "dask": dask_of(w), None: None}[weights]
    got = descend.dask.fit(dask_of(X), y, sample_weight=dask_w, **kw)
    expected = descend.fit(X, y, sample_weight=None if weights is None else w, **kw)
    if case == "tol-stop":
        assert expected.status == "tol" and expected.n_iter < 300
    assert_same_fit(got, expected, RTOL[dtype], case)


# ---------------------------------------------------------------------------
# 2. bitwise repeatable, for any number of workers

REPEAT_CASES = {
    "batch-adam-logistic": dict(loss="logistic", method="batch", optimizer="adam", learning_rate=0.1, l1=0.01),
    "batch-auto-softmax": dict(loss="softmax", method="batch", learning_rate="auto"),
    "minibatch-momentum-squared": dict(loss="squared", method="minibatch", optimizer="momentum",
                                       learning_rate=0.02, batch_size=8),
    "sgd-gd-huber": dict(loss="huber", method="sgd", learning_rate=0.02),
}


def repeat_fit(X, y, w, case, **kw):
    return descend.dask.fit(X, y, sample_weight=w, max_iter=6, tol=None, l2=0.01, fit_intercept=True,
                            seed=seed_of("repeat", case), **REPEAT_CASES[case], **kw)


def repeat_data(case):
    return problem(REPEAT_CASES[case]["loss"], seed_of("repeat data", case))


@pytest.mark.parametrize("case", list(REPEAT_CASES))
def test_same_fit_twice_is_bitwise_identical(client, case):
    X, y, w = repeat_data(case)
    first = repeat_fit(placed(client, X), y, w, case)
    again = repeat_fit(placed(client, X), y, w, case)
    assert np.max(np.abs(first.coef)) > 0
    assert_bitwise(first, again, case)
    # the scheduler's own placement of the blocks gives the same bits
    assert_bitwise(first, repeat_fit(dask_of(X), dask_of(y), dask_of(w), case), case)


def test_one_worker_gives_the_bits_of_two(client):
    data = {case: repeat_data(case) for case in REPEAT_CASES}
    two = {case: repeat_fit(placed(client, X), y, w, case) for case, (X, y, w) in data.items()}
    with other_cluster(1) as single:
        one = {case: within(60, repeat_fit, dask_of(X), y, w, case, client=single)
               for case, (X, y, w) in data.items()}
    for case in REPEAT_CASES:
        assert_bitwise(one[case], two[case], case)


# ---------------------------------------------------------------------------
# 3. sgd/minibatch on one block: descend.fit exactly

# case: (loss, method, optimizer, extra fit arguments)
ONE_BLOCK = {
    "sgd-gd-squared": ("squared", "sgd", "gd", dict(learning_rate=0.02)),
    "sgd-momentum-logistic-l1": ("logistic", "sgd", "momentum", dict(learning_rate=0.02, l1=0.01)),
    "minibatch-nesterov-huber": ("huber", "minibatch", "nesterov", dict(learning_rate=0.05)),
    "minibatch-adam-softmax": ("softmax", "minibatch", "adam", dict(learning_rate=0.05)),
    "minibatch-rmsprop-hinge": ("hinge", "minibatch", "rmsprop", dict(learning_rate=0.01)),
    "sgd-adagrad-schedule": ("squared", "sgd", "adagrad", dict(learning_rate=schedules.Exponential(0.1, 0.999))),
    "minibatch-adamw-logistic": ("logistic", "minibatch", "adamw", dict(learning_rate=0.05)),
    "minibatch-gd-auto-softmax": ("softmax", "minibatch", "gd", dict(learning_rate="auto")),
}


@DTYPES
@pytest.mark.parametrize("case", list(ONE_BLOCK))
def test_one_block_equals_local_fit(client, case, dtype):
    loss, method, optimizer, extra = ONE_BLOCK[case]
    X, y, w = problem(loss, seed_of("one block", case), dtype)
    kw = dict(loss=loss, method=method, optimizer=optimizer, batch_size=8, max_iter=3, tol=None, l2=0.01,
              fit_intercept=True, shuffle=True, seed=seed_of("one block seed", case), **extra)
    got = descend.dask.fit(dask_of(X, (N,)), dask_of(y, (N,)), sample_weight=dask_of(w, (N,)), **kw)
    assert_same_fit(got, descend.fit(X, y, sample_weight=w, **kw), 1e-12 if dtype == F64 else 1e-6, case)


# ---------------------------------------------------------------------------
# 4. sgd/minibatch on several blocks: parameter mixing, replayed in NumPy


def block_seed(seed, i):
    """Block 0 takes the seed itself; block i a SplitMix64-style mix of (seed, i)."""
    return seed if i == 0 else ((seed ^ (i * 0x9E3779B97F4A7C15)) * 0xBF58476D1CE4E5B9) & MASK


def mixing_reference(X, y, w, chunks, *, loss, method, batch_size, learning_rate, max_iter, l2, l1,
                     fit_intercept, shuffle, seed):
    """Parameter mixing with "gd" and a constant rate, in plain NumPy.

    Each epoch every block runs one epoch of updates (its rows in its own
    persistent shuffle stream's order) from the current parameters; then
    the parameters are averaged, weighted by the blocks' rows. The epoch's
    objective is the row-weighted mean of the blocks' epoch objectives,
    each the mean of its batches' objectives (as reference.fit's sgd)."""
    edges = np.cumsum((0,) + tuple(chunks))
    blocks = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    rngs = [reference.Random(block_seed(seed, i)) for i in range(len(blocks))]
    softmax = loss == "softmax"
    coef = np.zeros((X.shape[1], N_CLASSES) if softmax else X.shape[1])
    intercept = np.zeros(N_CLASSES) if softmax else 0.0
    size = 1 if method == "sgd" else batch_size
    history = []
    for _ in range(max_iter):
        ends = []
        for rows, rng in zip(blocks, rngs):
            Xb, yb, wb = X[rows], y[rows], None if w is None else w[rows]
            m = Xb.shape[0]
            order = reference.shuffled_order(m, rng) if shuffle else np.arange(m)
            c, b, objectives = coef.copy(), np.copy(intercept), []
            for start in range(0, m, size):
                batch = order[start:start + size]
                J, g, gb = reference.loss_grad(Xb[batch], yb[batch], c, b, loss=loss, l2=l2,
                                               sample_weight=None if wb is None else wb[batch])
                objectives.append(J + l1 * np.abs(c).sum())
                c = c - learning_rate * g
                if fit_intercept:
                    b = b - learning_rate * gb
                if l1 > 0:
                    c = reference.soft_threshold(c, learning_rate * l1)
            ends.append((m, c, b, np.mean(objectives)))
        share = np.array([e[0] for e in ends], np.float64) / X.shape[0]
        coef = sum(s * e[1] for s, e in zip(share, ends))
        intercept = sum(s * e[2] for s, e in zip(share, ends))
        history.append(sum(s * e[3] for s, e in zip(share, ends)))
    return coef, intercept, np.array(history)


# case: (loss, method, shuffle, extra fit arguments)
MIXING = {
    "sgd-squared-weights": ("squared", "sgd", True, dict(sample_weight=True)),
    "sgd-logistic-no-shuffle": ("logistic", "sgd", False, {}),
    "minibatch-softmax-l1": ("softmax", "minibatch", True, dict(l1=0.005)),
    "minibatch-huber-no-shuffle-no-intercept": ("huber", "minibatch", False, dict(l1=0.01, fit_intercept=False)),
    "minibatch-hinge-weights": ("hinge", "minibatch", True, dict(sample_weight=True)),
}


@pytest.mark.parametrize("case", list(MIXING))
def test_parameter_mixing_equals_numpy_replay(client, case):
    loss, method, shuffle, extra = MIXING[case]
    extra = dict(extra)
    X, y, w = problem(loss, seed_of("mixing", case))
    w = w if extra.pop("sample_weight", False) else None
    kw = dict(dict(loss=loss, method=method, batch_size=6, learning_rate=0.03, max_iter=3, l2=0.05, l1=0.0,
                   fit_intercept=True, shuffle=shuffle, seed=seed_of("mixing seed", case)), **extra)
    got = descend.dask.fit(dask_of(X), dask_of(y), sample_weight=None if w is None else dask_of(w),
                           optimizer="gd", tol=None, **kw)
    coef, intercept, history = mixing_reference(X, y, w, CHUNKS, **kw)
    assert got.n_iter == 3 and got.status == "max_iter"
    assert np.max(np.abs(coef)) > 0
    np.testing.assert_allclose(got.coef, coef, rtol=0, atol=1e-10 * np.max(np.abs(coef)))
    np.testing.assert_allclose(got.intercept, intercept, rtol=0, atol=1e-10 * np.max(np.abs(coef)))
    np.testing.assert_allclose(got.loss_history, history, rtol=1e-10)
    # mixing is not one local run over all the rows (the replay is not trivially descend.fit)
    local = descend.fit(X, y, sample_weight=w, optimizer="gd", tol=None, **kw)
    assert scale_err(local.coef, coef) > 1e-6


# ---------------------------------------------------------------------------
# 6. the estimators on dask arrays, in a Pipeline

# case: (estimator, labels: None for a regression target)
# (tol=1e-12: the fits end at max_iter=12 with a tol asked for, so they warn)
ESTIMATORS = {
    "regressor": (lambda: descend.GDRegressor(max_iter=12, tol=1e-12), None),
    "binary-logistic": (lambda: descend.GDClassifier(max_iter=12, tol=1e-12), (3.0, 7.0)),
    "softmax-3": (lambda: descend.GDClassifier(loss="softmax", max_iter=12, tol=1e-12), (0.0, 1.0, 2.0)),
    "hinge-3-one-vs-rest": (lambda: descend.GDClassifier(loss="hinge", learning_rate=0.1, max_iter=12, tol=1e-12),
                            (-1.0, 4.0, 9.0)),
}


@pytest.mark.parametrize("case", list(ESTIMATORS))
def test_estimator_pipeline_on_dask(client, case):
    make, labels = ESTIMATORS[case]
    rng = np.random.default_rng(seed_of("estimator", case))
    X = rng.standard_normal((N, D))
    score = X @ rng.standard_normal(D)
    if labels is None:
        y = score + 0.3 * rng.standard_normal(N)
    else:  # class by score quantile, so every class is present
        y = np.asarray(labels)[np.searchsorted(np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1]), score)]
    pipe = make_pipeline(FunctionTransformer(np.tanh), make())  # tanh keeps dask arrays lazy
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        on_dask = clone(pipe).fit(dask_of(X), dask_of(y))
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        on_numpy = clone(pipe).fit(X, y)
    est_d, est_n = on_dask[-1], on_numpy[-1]
    assert np.max(np.abs(est_n.coef_)) > 0
    np.testing.assert_allclose(est_d.coef_, est_n.coef_, rtol=0, atol=1e-10 * np.max(np.abs(est_n.coef_)))
    np.testing.assert_allclose(est_d.intercept_, est_n.intercept_, rtol=0, atol=1e-10 * np.max(np.abs(est_n.coef_)))
    np.testing.assert_allclose(est_d.loss_curve_, est_n.loss_curve_, rtol=1e-10)
    assert est_d.n_iter_ == est_n.n_iter_
    if labels is not None:
        np.testing.assert_array_equal(est_d.classes_, np.asarray(labels))
    methods = ["predict"] + ([] if labels is None else ["decision_function"])
    methods += ["predict_proba"] if case in ("binary-logistic", "softmax-3") else []
    for name in methods:
        lazy = getattr(on_dask, name)(dask_of(X))
        assert isinstance(lazy, da.Array), name
        expected = getattr(on_dask, name)(X)
        assert lazy.shape == expected.shape, name
        if name == "predict" and labels is not None:
            np.testing.assert_array_equal(lazy.compute(), expected)
        else:
            np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-12, atol=1e-14, err_msg=name)


# ---------------------------------------------------------------------------
# 7. faults and bad input


def test_worker_killed_mid_fit_raises_or_completes_in_bounded_time():
    X, y, _ = problem("squared", seed_of("fault"))
    with other_cluster(2) as own:
        Xd = placed(own, X)  # both workers hold blocks: the victim's are lost
        pids = own.run(os.getpid)
        victim = pids[sorted(pids)[1]]
        seen = []

        def kill_at_3(state):
            seen.append(state.iteration)
            if state.iteration == 3:
                os.kill(victim, signal.SIGKILL)

        start = time.monotonic()
        try:
            res = within(90, descend.dask.fit, Xd, y, client=own, method="batch", learning_rate=0.01,
                         max_iter=300, tol=None, callback=kill_at_3)
        except RuntimeError as e:
            assert re.search("worker", str(e), re.IGNORECASE), e
        else:
            assert res.n_iter == 300 and np.all(np.isfinite(res.coef))
        elapsed = time.monotonic() - start
    assert 3 in seen, "the worker was never killed: the fit ended before iteration 3"
    assert elapsed < 60, f"the fit took {elapsed:.1f} s after losing a worker"


def test_unknown_chunk_sizes_are_refused(client):
    X, y, _ = problem("squared", seed_of("nan chunks"))
    Xd = dask_of(X)
    unknown = Xd[Xd[:, 0] > -10]  # every row, but the lengths are unknown until computed
    assert np.isnan(unknown.chunks[0][0])
    with pytest.raises(ValueError, match=r"lengths=True"):
        descend.dask.fit(unknown, y)


def test_column_chunks_warn_and_give_the_row_chunked_result(client):
    X, y, w = problem("logistic", seed_of("columns"))
    kw = dict(loss="logistic", method="batch", learning_rate=0.5, max_iter=5, tol=None, fit_intercept=True)
    by_rows = descend.dask.fit(dask_of(X), y, sample_weight=w, **kw)
    with pytest.warns(UserWarning, match="column") as record:
        by_both = descend.dask.fit(da.from_array(X, chunks=(CHUNKS, (3, 2))), y, sample_weight=w, **kw)
    assert record[0].filename == __file__  # the warning points at the caller
    assert_bitwise(by_both, by_rows)


@pytest.mark.parametrize("method", ["batch", "minibatch"])
def test_y_and_weights_chunked_unlike_x_are_rechunked(client, method):
    X, y, w = problem("squared", seed_of("misaligned", method))
    kw = dict(method=method, learning_rate=0.02, max_iter=4, tol=None, batch_size=8, seed=5, fit_intercept=True)
    aligned = descend.dask.fit(dask_of(X), dask_of(y), sample_weight=dask_of(w), **kw)
    misaligned = descend.dask.fit(dask_of(X), dask_of(y, (50, 50)), sample_weight=dask_of(w, (20, 30, 50)), **kw)
    assert_bitwise(misaligned, aligned)


# case: (loss, which array, row, bad value, message)
BAD_VALUES = {
    "X-nan": ("squared", "X", 60, np.nan, r"X contains NaN or infinity"),
    "X-inf": ("squared", "X", 40, -np.inf, r"X contains NaN or infinity"),
    "y-nan": ("squared", "y", 86, np.nan, r"y contains NaN or infinity"),
    "y-inf": ("huber", "y", 37, np.inf, r"y contains NaN or infinity"),
    "weight-nan": ("squared", "w", 50, np.nan, r"sample_weight contains NaN or infinity"),
    "weight-negative": ("squared", "w", 70, -1.0, r"sample_weight must be non-negative"),
    "label-2-logistic": ("logistic", "y", 45, 2.0, r"y\[\d+\] = 2 is outside the domain of loss='logistic'"),
}


@pytest.mark.parametrize("method", ["batch", "sgd"])
@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_values_in_one_block_fail_before_any_iteration(client, case, method):
    loss, which, row, value, message = BAD_VALUES[case]
    X, y, w = problem(loss, seed_of("bad values", case))
    {"X": X[:, 0], "y": y, "w": w}[which][row] = value  # rows 37..86 are block 1
    called = []
    with pytest.raises(ValueError, match=rf"block 1\b.*{message}"):
        descend.dask.fit(dask_of(X), dask_of(y), sample_weight=dask_of(w), loss=loss, method=method,
                         learning_rate=0.01, max_iter=3, callback=called.append)
    assert called == []


@pytest.mark.parametrize("method", ["batch", "sgd"])
def test_a_start_whose_objective_is_not_finite_is_not_blamed_on_the_learning_rate(client, method):
    """y = 1e200 squares past the double range at the start point: no step
    size is to blame (an sgd epoch's check is a mean over its updates, so
    descend.dask takes the start's objective on this error path)."""
    X, y, _ = problem("squared", seed_of("start not finite", method))
    with pytest.raises(descend.DivergenceError, match="not finite at the start") as info:
        descend.dask.fit(dask_of(X), dask_of(np.full_like(y, 1e200)), method=method, learning_rate=0.01,
                         max_iter=3)
    assert "learning_rate" not in str(info.value)


def test_a_first_epoch_that_diverges_says_where_it_started(client):
    """logistic sgd on x = 1e300: the first step overflows the predictions,
    from a start whose objective is log 2; the message gives that, not the
    epoch's NaN mean (parameter mixing takes the start's objective)."""
    n = sum(CHUNKS)
    with pytest.raises(descend.DivergenceError, match=r"it started at 0\.693147.*try a smaller learning_rate"):
        descend.dask.fit(dask_of(np.full((n, 1), 1e300)), dask_of(np.zeros(n)), loss="logistic", method="sgd",
                         max_iter=2)


@pytest.mark.parametrize("method", ["batch", "sgd"])
def test_an_auto_learning_rate_that_underflows_is_refused(client, method):
    """X of 1e300: L overflows and 1/L would be a step of zero."""
    X, y, _ = problem("squared", seed_of("auto underflows", method))
    with pytest.raises(ValueError, match="learning_rate='auto' takes steps of 1/L.*overflows"):
        descend.dask.fit(dask_of(X * 1e300), dask_of(y), method=method, learning_rate="auto", max_iter=3)


@pytest.mark.parametrize("loss", ["squared", "softmax"])
def test_no_workers_is_an_error_quickly(loss):
    X, y, _ = problem(loss, seed_of("no workers", loss))

    def as_current(idle):
        with idle.as_current():
            return descend.dask.fit(dask_of(X), y, loss=loss, max_iter=3)

    with other_cluster(0) as idle:
        for call in (lambda: descend.dask.fit(dask_of(X), y, loss=loss, max_iter=3, client=idle),
                     lambda: as_current(idle)):
            start = time.monotonic()
            with pytest.raises(RuntimeError, match="workers"):
                within(30, call)
            assert time.monotonic() - start < 10


def test_workers_are_found_whenever_the_client_refreshes_its_scheduler_info(client):
    """A client refreshes its cached scheduler_info() every few seconds
    without the worker list; a fit must still see the workers (a second,
    non-default client of the module's cluster that refreshes every 1 ms)."""
    X, y, _ = problem("squared", seed_of("refresh"))
    expected = descend.dask.fit(dask_of(X), y, max_iter=2)
    with dask.config.set({"distributed.client.scheduler-info-interval": "1ms"}):
        busy = distributed.Client(client.scheduler.address, set_as_default=False)
    try:
        for _ in range(40):
            assert_bitwise(within(60, descend.dask.fit, dask_of(X), y, max_iter=2, client=busy), expected)
    finally:
        busy.close(timeout=30)


def test_x_not_a_dask_array_is_a_type_error(client):
    X, y, _ = problem("squared", seed_of("numpy X"))
    with pytest.raises(TypeError, match=r"\bX must be a dask\.array\.Array"):
        descend.dask.fit(X, y)


@pytest.mark.parametrize("what", ["y", "sample_weight"])
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_wrong_length_is_a_value_error(client, what, kind):
    X, y, w = problem("squared", seed_of("length", what, kind))
    short = {"numpy": lambda a: a[:-1], "dask": lambda a: dask_of(a[:-1], (37, 50, 12))}[kind]
    args = dict(y=short(y), sample_weight=w) if what == "y" else dict(y=y, sample_weight=short(w))
    with pytest.raises(ValueError, match=rf"{what} has 99 entries but the number of rows of X is 100"):
        descend.dask.fit(dask_of(X), **args)


def test_unknown_hyper_parameter_is_a_type_error(client):
    X, y, _ = problem("squared", seed_of("hyper"))
    called = []
    with pytest.raises(TypeError, match="momentom"):
        descend.dask.fit(dask_of(X), y, optimizer="momentum", momentom=0.5, callback=called.append)
    assert called == []


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (dict(max_iter=-1), ValueError, r"max_iter must be >= 0"),
        (dict(max_iter=2.5), TypeError, r"max_iter must be an integer"),
        (dict(tol=-1e-3), ValueError, r"tol must be a finite number >= 0"),
        (dict(tol=float("nan")), ValueError, r"tol must be a finite number >= 0"),
    ],
    ids=["max_iter-negative", "max_iter-float", "tol-negative", "tol-nan"],
)
def test_bad_max_iter_or_tol_fails_before_any_work(client, bad, error, message):
    X, y, _ = problem("squared", seed_of("bad option", str(bad)))
    failed, tasks = task_count(client, descend.dask.fit, dask_of(X), dask_of(y), **bad)
    assert isinstance(failed, error) and re.search(message, str(failed)), repr(failed)
    assert tasks == 0, f"{tasks} tasks ran on the cluster before {bad} was refused"
    # the same call with a good value does run tasks: the count sees work
    fine, tasks = task_count(client, descend.dask.fit, dask_of(X), dask_of(y), max_iter=2)
    assert isinstance(fine, descend.FitResult) and tasks > 0


# ---------------------------------------------------------------------------
# 8. a non-default client


def test_non_default_client_gives_the_same_bits(client):
    cases = {"batch-softmax": dict(loss="softmax", method="batch", learning_rate=0.3),
             "minibatch-logistic": dict(loss="logistic", method="minibatch", learning_rate=0.05, batch_size=8)}
    data = {case: problem(kw["loss"], seed_of("non-default", case)) for case, kw in cases.items()}

    def run(case, **kw):
        X, y, w = data[case]
        return descend.dask.fit(dask_of(X), y, sample_weight=w, max_iter=4, tol=None, seed=9, **cases[case], **kw)

    expected = {case: run(case) for case in cases}
    with other_cluster(2) as other:
        assert distributed.get_client() is client  # `other` is not the default client
        for case in cases:
            with distributed.get_task_stream(client=other) as on_other, \
                    distributed.get_task_stream(client=client) as on_default:
                got = within(60, run, case, client=other)
            assert_bitwise(got, expected[case], case)
            assert len(on_other.data) > 0 and len(on_default.data) == 0, "the fit did not run on `client`"


# ---------------------------------------------------------------------------
# 9. persisted input


@pytest.mark.parametrize("method", ["batch", "sgd"])
def test_persisted_input_fitted_twice_and_left_intact(client, method):
    X, y, w = problem("logistic", seed_of("persisted", method))
    Xp, yp = dask_of(X).persist(), dask_of(y).persist()
    kw = dict(loss="logistic", method=method, learning_rate=0.05, max_iter=4, tol=None, seed=11)
    first = descend.dask.fit(Xp, yp, **kw)
    second = descend.dask.fit(Xp, yp, **kw)
    assert_bitwise(first, second)
    assert_bitwise(first, descend.dask.fit(dask_of(X), dask_of(y), **kw))
    assert all(f.status == "finished" for f in distributed.futures_of(Xp))  # not cancelled
    np.testing.assert_array_equal(Xp.compute(), X)
    np.testing.assert_array_equal(yp.compute(), y)


# ---------------------------------------------------------------------------
# 10. callback and verbose

# case: (method, chunks, fit arguments); sgd/minibatch on one block, so the
# states are descend.fit's own
CALLBACK_CASES = {
    "batch": ("batch", CHUNKS, dict(learning_rate=0.1, max_iter=5, tol=None)),
    "batch-tol": ("batch", CHUNKS, dict(learning_rate=0.1, max_iter=300, tol=1e-3)),
    "sgd": ("sgd", (N,), dict(learning_rate=0.02, max_iter=4, tol=None)),
    "minibatch-softmax": ("minibatch", (N,), dict(loss="softmax", learning_rate=0.05, max_iter=4, tol=None)),
}


@pytest.mark.parametrize("case", list(CALLBACK_CASES))
def test_callback_states_are_the_local_fits(client, case):
    method, chunks, extra = CALLBACK_CASES[case]
    X, y, _ = problem(extra.get("loss", "squared"), seed_of("callback", case))
    kw = dict(dict(method=method, batch_size=8, seed=3, l2=0.01, fit_intercept=True), **extra)
    got, expected = [], []
    res = descend.dask.fit(dask_of(X, chunks), y, callback=got.append, **kw)
    local = descend.fit(X, y, callback=expected.append, **kw)
    assert_same_fit(res, local, 1e-10, case)
    assert [s.iteration for s in got] == [s.iteration for s in expected] == list(range(1, len(expected) + 1))
    assert len(got) == res.n_iter - (res.status == "tol")  # not called at a tol stop, as descend.fit
    assert [s.objective for s in got] == list(res.loss_history[:len(got)])
    for s, t in zip(got, expected):
        assert isinstance(s, descend.IterationState) and type(s.objective) is float
        assert s.coef.shape == t.coef.shape and type(s.intercept) is type(t.intercept)
        scale = np.max(np.abs(t.coef), initial=1.0)
        np.testing.assert_allclose(s.coef, t.coef, rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(s.intercept, t.intercept, rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(s.grad_norm, t.grad_norm, rtol=1e-9)


@pytest.mark.parametrize("method, chunks", [("batch", CHUNKS), ("minibatch", (N,)), ("sgd", CHUNKS)])
def test_callback_returning_true_stops(client, method, chunks):
    X, y, _ = problem("squared", seed_of("stop", method))
    kw = dict(method=method, learning_rate=0.02, max_iter=50, tol=None, batch_size=8, seed=4)
    res = descend.dask.fit(dask_of(X, chunks), y, callback=lambda s: s.iteration >= 3, **kw)
    assert res.status == "callback" and not res.converged and res.n_iter == 3
    if len(chunks) == 1 or method == "batch":  # one block, or batch: the local fit's stop
        assert_same_fit(res, descend.fit(X, y, callback=lambda s: s.iteration >= 3, **kw), 1e-10)
    else:  # mixing: the first 3 epochs of the run that is not stopped
        full = descend.dask.fit(dask_of(X, chunks), y, **dict(kw, max_iter=3))
        np.testing.assert_array_equal(res.loss_history, full.loss_history)
        np.testing.assert_array_equal(res.coef, full.coef)


@pytest.mark.parametrize("method, unit", [("batch", "iteration"), ("minibatch", "epoch")])
def test_verbose_prints_progress(client, capsys, method, unit):
    X, y, _ = problem("logistic", seed_of("verbose", method))
    kw = dict(loss="logistic", method=method, learning_rate=0.1, max_iter=3, tol=None, seed=2)
    quiet = descend.dask.fit(dask_of(X), y, **kw)
    assert "descend:" not in capsys.readouterr().out
    res = descend.dask.fit(dask_of(X), y, verbose=True, **kw)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("descend:")]
    assert lines, "verbose printed nothing"
    assert unit in lines[0] and "objective" in lines[0]
    shown = float(re.search(r"objective\s+(\S+)", lines[0]).group(1))
    assert shown == pytest.approx(res.loss_history[0], rel=1e-7)
    assert_bitwise(res, quiet)


@pytest.mark.parametrize("method, chunks", [("batch", CHUNKS), ("sgd", CHUNKS)])
def test_progress_draws_the_bar_on_stderr(client, capsys, method, chunks):
    X, y, _ = problem("squared", seed_of("progress", method))
    kw = dict(method=method, learning_rate=0.05, max_iter=200, tol=1e-3, seed=2)
    quiet = descend.dask.fit(dask_of(X, chunks), y, **kw)
    res = descend.dask.fit(dask_of(X, chunks), y, progress=True, **kw)
    assert_bitwise(res, quiet)
    out, err = capsys.readouterr()
    assert "descend" not in out
    # The final count is n_iter, the tol stop's check included (no observer call).
    assert f" {res.n_iter}/200" in err and err.endswith("\n")


# ---------------------------------------------------------------------------
# 11. import descend does not import dask


def test_import_descend_does_not_import_dask():
    code = ("import sys, descend\n"
            "print('loaded:', sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
            "import descend.dask\n"
            "print('loaded:', sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    loaded = [line for line in out.stdout.splitlines() if line.startswith("loaded:")]
    # the second line shows the check sees an import when there is one
    assert loaded == ["loaded: []", "loaded: ['dask', 'distributed']"], out.stdout + out.stderr
