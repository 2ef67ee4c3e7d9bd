"""Sparse X: scipy.sparse CSR/CSC matrices and arrays (DESIGN.md §3-§5).

Every sparse run is compared with the same run on the dense ``X.toarray()``
(which is what scipy defines the matrix to be: duplicates add up, explicit
zeros are zeros), never with numbers written here:

- fit over every loss x method x update rule (CSR, int32, float64), and on
  a sub-grid of representative runs over every container (csr/csc, matrix
  and array), index dtype (int32/int64) and float dtype, including the
  lazy O(nnz) sgd/minibatch gd path with l1 and l2 (elastic net) and
  sample weights;
- the l1 zero pattern of the lazy path, exactly;
- n_threads=1 vs 2, bitwise, on a matrix the batch kernel cuts into chunks;
- X is never written (unsorted indices, duplicates, explicit zeros);
- memory: a 200_000 x 2**20 fit allocates nothing of X's dense size;
- validation of malformed matrices before any work, as ValueError/TypeError
  naming the problem; other formats, integer data, empty shapes;
- loss_grad and learning_rate="auto" on sparse;
- `import descend` does not import scipy.

Tolerances: float64 runs differ from the dense ones only by summation order
(1e-10 relative); float32 runs keep parameters in float32 on the dense path
and round them at different points on the sparse one (1e-5 relative, on the
scale of the largest parameter so entries near zero are judged fairly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import descend

from conftest import LOSSES, METHODS, OPTIMIZERS, seed_of

F64 = np.dtype(np.float64)
F32 = np.dtype(np.float32)
RTOL = {F64: 1e-10, F32: 1e-5}

CONTAINERS = {
    "csr_matrix": sp.csr_matrix,
    "csr_array": sp.csr_array,
    "csc_matrix": sp.csc_matrix,
    "csc_array": sp.csc_array,
}
INDEX_DTYPES = (np.int32, np.int64)
FLOAT_DTYPES = (np.float64, np.float32)
N_CLASSES = 3  # softmax's classes in the generated targets


# ---------------------------------------------------------------------------
# Data


def random_dense(rng, n, d, density, dtype=np.float64):
    """A dense array with about `density` non-zeros, one empty row and one
    empty column (the sparse paths must handle both)."""
    D = rng.standard_normal((n, d)) * (rng.random((n, d)) < density)
    D[n // 3, :] = 0.0
    D[:, d // 2] = 0.0
    return D.astype(dtype)


def targets(loss, rng, n, dtype=np.float64):
    if loss in ("squared", "huber"):
        y = 2.0 * rng.standard_normal(n) + 0.5
    elif loss == "softmax":
        y = rng.integers(0, N_CLASSES, n).astype(np.float64)
        y[:N_CLASSES] = np.arange(N_CLASSES)  # every class present
    else:
        y = (rng.random(n) < 0.5).astype(np.float64)
    return y.astype(dtype)


def with_index_dtype(m, index_dtype):
    """`m` with indices and indptr of `index_dtype` (scipy's constructors
    pick int32 themselves when the values fit, so set them afterwards)."""
    m.indices = m.indices.astype(index_dtype)
    m.indptr = m.indptr.astype(index_dtype)
    assert m.indices.dtype == index_dtype and m.indptr.dtype == index_dtype
    return m


def as_container(D, name, index_dtype=np.int32):
    m = with_index_dtype(CONTAINERS[name](D), index_dtype)
    assert m.format == name[:3] and m.dtype == D.dtype
    return m


def big_csr(rng, n, d, per_row, dtype=np.float64):
    """A CSR matrix of n x d with `per_row` non-zeros a row (sorted, may
    repeat a column: duplicates add up), built from NumPy arrays directly."""
    indices = np.empty(n * per_row, np.int32)
    step = 20_000
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = rng.integers(0, d, size=(stop - start, per_row), dtype=np.int32)
        block.sort(axis=1)
        indices[start * per_row:stop * per_row] = block.ravel()
    data = rng.standard_normal(n * per_row).astype(dtype, copy=False)
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int32)
    return sp.csr_matrix((data, indices, indptr), shape=(n, d), copy=False)


def fit_args(loss, method, optimizer, seed, **extra):
    kw = dict(loss=loss, method=method, optimizer=optimizer, learning_rate=0.05, max_iter=3, tol=None,
              fit_intercept=True, l2=0.1, batch_size=7, seed=seed)
    kw.update(extra)
    return kw


# ---------------------------------------------------------------------------
# Comparisons


def rel_err(actual, expected):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    err = np.max(np.abs(actual - expected)) if expected.size else 0.0
    return err / scale if scale > 0 else err


def assert_same_fit(sparse_res, dense_res, rtol, what=""):
    """Sparse and dense runs agree: coef and intercept on the scale of their
    largest entry, loss_history entry by entry; same iterations and status."""
    assert np.all(np.isfinite(dense_res.coef)), what
    assert np.max(np.abs(dense_res.coef)) > 0, f"{what}: the dense fit did not move, the comparison proves nothing"
    assert sparse_res.coef.dtype == dense_res.coef.dtype, what
    assert sparse_res.coef.shape == dense_res.coef.shape, what
    assert sparse_res.n_iter == dense_res.n_iter, what
    assert sparse_res.status == dense_res.status, what
    e = rel_err(sparse_res.coef, dense_res.coef)
    assert e <= rtol, f"{what}: coef differs by {e:.3e} relative (rtol {rtol:g})"
    params_scale = max(np.max(np.abs(dense_res.coef)), np.max(np.abs(dense_res.intercept)))
    ei = np.max(np.abs(np.subtract(sparse_res.intercept, dense_res.intercept))) / params_scale
    assert ei <= rtol, f"{what}: intercept {sparse_res.intercept} vs {dense_res.intercept} ({ei:.3e})"
    lh_s, lh_d = sparse_res.loss_history, dense_res.loss_history
    assert lh_s.shape == lh_d.shape and lh_d.size > 0, what
    el = np.max(np.abs(lh_s - lh_d) / np.maximum(np.abs(lh_d), 1e-300))
    assert el <= rtol, f"{what}: loss_history differs by {el:.3e} relative: {lh_s} vs {lh_d}"
    eg = abs(sparse_res.grad_norm - dense_res.grad_norm) / max(abs(dense_res.grad_norm), 1e-300)
    assert eg <= max(rtol, 1e-9) * 10, f"{what}: grad_norm {sparse_res.grad_norm} vs {dense_res.grad_norm}"


def snapshot(m):
    """Bytes of X's arrays and its flags, to show fit never writes them."""
    return (m.data.tobytes(), m.indices.tobytes(), m.indptr.tobytes(), m.data.dtype, m.indices.dtype,
            m.indptr.dtype, m.shape)


# ---------------------------------------------------------------------------
# Shared data (module-scoped: built once)

SMALL_N, SMALL_D = 60, 12


@pytest.fixture(scope="module")
def small():
    """Per loss: (dense X, CSR int32 float64 X, y), 60 x 12 with ~25% non-zeros."""
    rng = np.random.default_rng(seed_of("test_sparse", "small"))
    D = random_dense(rng, SMALL_N, SMALL_D, 0.25)
    X = sp.csr_matrix(D)
    assert X.indices.dtype == np.int32 and 0.15 < X.nnz / D.size < 0.35
    return {loss: (D, X, targets(loss, rng, SMALL_N)) for loss in LOSSES}


BIG_N, BIG_D = 20_000, 500


@pytest.fixture(scope="module")
def big():
    """20000 x 500 at 1% density (~100k non-zeros: several CSR chunks of
    the batch kernel), its CSC copy, its dense form, and targets."""
    rng = np.random.default_rng(seed_of("test_sparse", "big"))
    X = big_csr(rng, BIG_N, BIG_D, 5)
    X.sum_duplicates()
    assert X.nnz >= 99_000
    y = rng.standard_normal(BIG_N)
    labels = (rng.random(BIG_N) < 0.5).astype(np.float64)
    return X, X.tocsc(), X.toarray(), y, labels


# ---------------------------------------------------------------------------
# 1. fit: sparse equals dense


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("loss", LOSSES)
def test_fit_grid_equals_dense(small, loss, method, optimizer):
    D, X, y = small[loss]
    kw = fit_args(loss, method, optimizer, seed_of(loss, method, optimizer))
    dense = descend.fit(D, y, **kw)
    sparse = descend.fit(X, y, **kw)
    assert_same_fit(sparse, dense, RTOL[F64], f"{loss}/{method}/{optimizer}")


# Representative runs for the container x index dtype x float dtype grid:
# (loss, method, optimizer, extra fit arguments).
SUBGRID = {
    "squared-batch-gd": ("squared", "batch", "gd", {}),
    "logistic-sgd-gd-enet": ("logistic", "sgd", "gd", {"l1": 0.01, "l2": 0.05}),
    "squared-sgd-gd-l1-weights": ("squared", "sgd", "gd", {"l1": 0.02, "l2": 0.0, "sample_weight": True}),
    "softmax-minibatch-gd-enet": ("softmax", "minibatch", "gd", {"l1": 0.005, "l2": 0.01}),
    "huber-minibatch-adam-enet": ("huber", "minibatch", "adam", {"l1": 0.01, "l2": 0.1}),
    "hinge-sgd-momentum-weights": ("hinge", "sgd", "momentum", {"sample_weight": True}),
    "logistic-batch-nesterov-l1": ("logistic", "batch", "nesterov", {"l1": 0.01}),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES, ids=["i32", "i64"])
@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("case", list(SUBGRID))
def test_fit_containers_and_dtypes_equal_dense(small, case, container, index_dtype, dtype):
    loss, method, optimizer, extra = SUBGRID[case]
    D, _, y = small[loss]
    D = D.astype(dtype)
    X = as_container(D, container, index_dtype)
    extra = dict(extra)
    if extra.pop("sample_weight", False):
        w = np.random.default_rng(seed_of(case, "w")).random(SMALL_N) * 2.0
        w[::7] = 0.0
        extra["sample_weight"] = w
    kw = fit_args(loss, method, optimizer, seed_of(case, container), **extra)
    dense = descend.fit(D, y, **kw)
    sparse = descend.fit(X, y, **kw)
    assert dense.coef.dtype == dtype
    assert_same_fit(sparse, dense, RTOL[np.dtype(dtype)], f"{case}/{container}/{np.dtype(index_dtype)}")


@pytest.mark.parametrize("container", ["csr_matrix", "csc_array"])
@pytest.mark.parametrize(
    "case",
    [
        # lr * l2 = 0.5: the lazy path's scale halves every step and is
        # folded back below 1e-9 several times an epoch.
        dict(learning_rate=0.1, l2=5.0),
        dict(learning_rate=0.1, l2=5.0, l1=0.02),
        # lr * l2 = 1 exactly: the step zeroes the old coefficients.
        dict(learning_rate=0.125, l2=8.0),
        dict(learning_rate=0.125, l2=8.0, l1=0.01),
        # lr * l2 > 1: the shrink factor is negative.
        dict(learning_rate=0.1, l2=15.0, l1=0.01),
        # a schedule: a different step (and shrink) every update
        dict(learning_rate="schedule", l2=0.5, l1=0.01),
    ],
    ids=["fold", "fold-l1", "zeroing", "zeroing-l1", "negative-shrink", "schedule"],
)
@pytest.mark.parametrize("method", ["sgd", "minibatch"])
def test_lazy_gd_scale_edge_cases_equal_dense(small, method, case, container):
    """The lazy path keeps coef = s v; steps that shrink s to (or past) zero
    must still give the dense path's iterates."""
    D, _, y = small["squared"]
    X = as_container(D, container)
    kw = dict(case)
    if kw["learning_rate"] == "schedule":
        kw["learning_rate"] = descend.schedules.InverseScaling(0.2, power_t=0.5)
    dense = descend.fit(D, y, loss="squared", method=method, max_iter=4, tol=None, batch_size=5,
                        fit_intercept=True, seed=seed_of(method, str(case)), **kw)
    sparse = descend.fit(X, y, loss="squared", method=method, max_iter=4, tol=None, batch_size=5,
                         fit_intercept=True, seed=seed_of(method, str(case)), **kw)
    assert_same_fit(sparse, dense, RTOL[F64], f"{method}/{case}")
    if kw.get("l1"):
        assert np.array_equal(np.flatnonzero(sparse.coef), np.flatnonzero(dense.coef))


LONG_EPOCHS = {
    # 3000 updates an epoch from a non-zero start, l2 only, elastic net, l1 only
    "l2": (3000, 40, 0.1, dict(learning_rate=0.02, l2=0.01)),
    "enet": (3000, 40, 0.1, dict(learning_rate=0.02, l2=0.01, l1=0.002)),
    "l1": (3000, 40, 0.1, dict(learning_rate=0.02, l1=0.004)),
    # lr * l2 = 1e-3 over 20000 updates: the lazy scale s falls to ~2e-9
    # within the epoch (ordinary settings for a large sparse problem)
    "enet-scale-1e-9": (20_000, 300, 0.01, dict(learning_rate=0.01, l2=0.1, l1=0.001)),
}


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("case", list(LONG_EPOCHS))
def test_lazy_gd_long_epochs_equal_dense(case, shuffle):
    """Many updates an epoch: the running ||v||^2 and the l1 prefix sums
    behind the recorded objective accumulate over every step of it."""
    n, d, density, extra = LONG_EPOCHS[case]
    rng = np.random.default_rng(seed_of("long epochs", case))
    D = random_dense(rng, n, d, density)
    X = sp.csr_matrix(D)
    y = targets("logistic", rng, n)
    kw = dict(loss="logistic", method="sgd", max_iter=2, tol=None, fit_intercept=True,
              coef0=rng.standard_normal(d), intercept0=0.3, shuffle=shuffle, seed=7, **extra)
    assert_same_fit(descend.fit(X, y, **kw), descend.fit(D, y, **kw), RTOL[F64], f"{case}/{shuffle}")


# ---------------------------------------------------------------------------
# 2. l1: the same zeros as dense


@pytest.mark.parametrize("container", ["csr_matrix", "csc_matrix"])
@pytest.mark.parametrize("start", ["zeros", "coef0"])
@pytest.mark.parametrize("method", ["sgd", "minibatch"])
@pytest.mark.parametrize("loss", ["squared", "logistic", "softmax"])
def test_l1_zero_pattern_equals_dense(loss, method, start, container):
    rng = np.random.default_rng(seed_of("l1", loss, method, start, container))
    n, d = 200, 30
    D = random_dense(rng, n, d, 0.2)
    # Columns of very different scales: some coefficients must end at zero,
    # others must not.
    D *= np.geomspace(0.05, 3.0, d)[rng.permutation(d)]
    y = targets(loss, rng, n)
    X = as_container(D, container)
    shape = (d, N_CLASSES) if loss == "softmax" else (d,)
    coef0 = None if start == "zeros" else rng.standard_normal(shape) * 0.2
    # about as much shrinkage an epoch for minibatch (13 updates) as for sgd (200)
    l1 = {"squared": 0.05, "logistic": 0.01, "softmax": 0.01}[loss] * (4 if method == "minibatch" else 1)
    kw = dict(loss=loss, method=method, optimizer="gd", learning_rate=0.05, max_iter=6, tol=None, l1=l1, l2=0.05,
              fit_intercept=True, coef0=coef0, batch_size=16, seed=seed_of("l1", loss, method))
    dense = descend.fit(D, y, **kw)
    sparse = descend.fit(X, y, **kw)
    nz_dense = np.flatnonzero(dense.coef)
    assert 0 < nz_dense.size < dense.coef.size, f"l1 left {nz_dense.size} of {dense.coef.size} non-zero: no test"
    np.testing.assert_array_equal(np.flatnonzero(sparse.coef), nz_dense)
    assert_same_fit(sparse, dense, RTOL[F64], f"{loss}/{method}/{start}/{container}")


# ---------------------------------------------------------------------------
# 3. Threads: bitwise equal


def assert_bitwise(a, b, what):
    assert a.coef.tobytes() == b.coef.tobytes(), f"{what}: coef differs between thread counts"
    assert np.asarray(a.intercept).tobytes() == np.asarray(b.intercept).tobytes(), what
    assert a.loss_history.tobytes() == b.loss_history.tobytes(), what
    assert a.grad_norm == b.grad_norm and a.n_iter == b.n_iter, what


@pytest.mark.parametrize(
    "fmt, method, optimizer, loss, extra",
    [
        ("csr", "batch", "gd", "squared", {}),
        ("csr", "batch", "adam", "logistic", {"l1": 1e-3}),
        ("csc", "batch", "gd", "squared", {}),
        ("csc", "batch", "momentum", "softmax", {}),
        ("csr", "sgd", "gd", "squared", {"l1": 1e-4}),
        ("csc", "sgd", "gd", "logistic", {}),
        ("csr", "minibatch", "adam", "logistic", {"batch_size": 4096}),
    ],
)
def test_threads_bitwise(big, fmt, method, optimizer, loss, extra):
    X_csr, X_csc, _, y, labels = big
    X = X_csr if fmt == "csr" else X_csc
    yy = y if loss == "squared" else labels
    kw = dict(loss=loss, method=method, optimizer=optimizer, learning_rate=0.01, tol=None, l2=0.01,
              fit_intercept=True, max_iter=3 if method == "batch" else 1, seed=5, **extra)
    one = descend.fit(X, yy, n_threads=1, **kw)
    two = descend.fit(X, yy, n_threads=2, **kw)
    assert np.max(np.abs(one.coef)) > 0
    assert_bitwise(one, two, f"{fmt}/{method}/{optimizer}/{loss}")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_threads_bitwise_loss_grad(big, fmt):
    X_csr, X_csc, _, y, _ = big
    X = X_csr if fmt == "csr" else X_csc
    coef = np.random.default_rng(3).standard_normal(BIG_D)
    a = descend.loss_grad(X, y, coef, 0.3, l2=0.1)
    descend.set_num_threads(1)
    try:
        b = descend.loss_grad(X, y, coef, 0.3, l2=0.1)
    finally:
        descend.set_num_threads(None)
    assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes() and a[2] == b[2]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("loss", LOSSES)
def test_big_batch_equals_dense(big, fmt, loss):
    """The chunked CSR kernel and the CSC kernel on a matrix big enough for
    several chunks agree with the dense kernel: loss_grad and two batch steps."""
    X_csr, X_csc, D, y, labels = big
    X = X_csr if fmt == "csr" else X_csc
    rng = np.random.default_rng(seed_of("big", loss))
    yy = {"squared": y, "huber": 3 * y, "softmax": rng.integers(0, N_CLASSES, BIG_N).astype(float)}.get(loss, labels)
    coef = rng.standard_normal((BIG_D, N_CLASSES) if loss == "softmax" else BIG_D) * 0.3
    vs, gs, bs = descend.loss_grad(X, yy, coef, 0.2, loss=loss, l2=0.01)
    vd, gd, bd = descend.loss_grad(D, yy, coef, 0.2, loss=loss, l2=0.01)
    assert abs(vs - vd) <= 1e-12 * abs(vd)
    assert rel_err(gs, gd) <= 1e-10 and rel_err(bs, bd) <= 1e-10
    kw = dict(loss=loss, method="batch", learning_rate=0.5, max_iter=2, tol=None, l2=0.01, fit_intercept=True)
    assert_same_fit(descend.fit(X, yy, **kw), descend.fit(D, yy, **kw), RTOL[F64], f"{fmt}/{loss}")


# ---------------------------------------------------------------------------
# 4. X is never written; duplicates, unsorted indices and explicit zeros


def odd_csr(rng, n=40, d=10):
    """A CSR matrix whose rows list their entries in reverse column order,
    repeat a column (duplicates add up), and store explicit zeros."""
    rows_data, rows_idx, indptr = [], [], [0]
    for i in range(n):
        cols = np.sort(rng.choice(d, size=rng.integers(0, 5), replace=False))
        vals = rng.standard_normal(cols.size)
        if cols.size >= 2 and i % 3 == 0:  # a duplicate of the first column
            cols = np.append(cols, cols[0])
            vals = np.append(vals, rng.standard_normal())
        if cols.size >= 1 and i % 4 == 1:  # an explicit zero
            vals[-1] = 0.0
        cols, vals = cols[::-1], vals[::-1]  # unsorted
        rows_idx.append(cols)
        rows_data.append(vals)
        indptr.append(indptr[-1] + cols.size)
    data = np.concatenate(rows_data)
    indices = np.concatenate(rows_idx).astype(np.int32)
    m = sp.csr_matrix((data, indices, np.array(indptr, np.int32)), shape=(n, d), copy=False)
    assert not m.has_sorted_indices and not m.has_canonical_format
    assert np.any(m.data == 0.0)
    assert _has_duplicates(m)
    return m


def _has_duplicates(m):
    for i in range(m.shape[0]):
        cols = m.indices[m.indptr[i]:m.indptr[i + 1]]
        if np.unique(cols).size < cols.size:
            return True
    return False


def odd_csc(rng, n=40, d=10):
    """The CSC counterpart: odd_csr of the transposed shape, reinterpreted
    (same arrays, so the same duplicates, order and explicit zeros)."""
    t = odd_csr(rng, d, n)
    m = sp.csc_matrix((t.data, t.indices, t.indptr), shape=(n, d), copy=False)
    assert not m.has_sorted_indices and _has_duplicates(m)
    return m


FIT_RUNS = {
    "batch-gd": dict(method="batch", optimizer="gd", learning_rate=0.1),
    "batch-auto": dict(method="batch", optimizer="gd", learning_rate="auto", loss="logistic"),
    "sgd-gd-enet": dict(method="sgd", optimizer="gd", l1=0.01, learning_rate=0.05),
    "sgd-auto": dict(method="sgd", optimizer="gd", learning_rate="auto"),
    "minibatch-gd-l1": dict(method="minibatch", optimizer="gd", l1=0.02, l2=0.0, batch_size=6, learning_rate=0.05),
    "minibatch-adamw": dict(method="minibatch", optimizer="adamw", batch_size=6, learning_rate=0.05),
    "sgd-rmsprop-softmax": dict(method="sgd", optimizer="rmsprop", loss="softmax", learning_rate=0.01),
}


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("run", list(FIT_RUNS))
def test_duplicates_unsorted_zeros_unchanged_and_equal_dense(fmt, run):
    rng = np.random.default_rng(seed_of("odd", fmt, run))
    X = odd_csr(rng) if fmt == "csr" else odd_csc(rng)
    D = X.toarray()  # sums duplicates
    kw = dict(loss="squared", max_iter=3, tol=None, l2=0.05, fit_intercept=True, seed=11)
    kw.update(FIT_RUNS[run])
    y = targets(kw["loss"], rng, X.shape[0])
    before = snapshot(X)
    flags = (X.has_sorted_indices, X.has_canonical_format)
    sparse = descend.fit(X, y, **kw)
    assert snapshot(X) == before, "fit wrote to X's arrays"
    assert (X.has_sorted_indices, X.has_canonical_format) == flags
    dense = descend.fit(D, y, **kw)
    assert_same_fit(sparse, dense, RTOL[F64], f"{fmt}/{run}")
    assert sparse.learning_rate == pytest.approx(dense.learning_rate, rel=1e-10)
    if kw.get("l1"):
        np.testing.assert_array_equal(np.flatnonzero(sparse.coef), np.flatnonzero(dense.coef))


@pytest.mark.parametrize("method", ["batch", "sgd"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_strided_arrays_and_unused_tail_equal_dense(fmt, method):
    """data/indices that are strided views, and data/indices longer than
    indptr[-1] (the tail is not part of the matrix): the dense result."""
    rng = np.random.default_rng(seed_of("strided", fmt, method))
    D = random_dense(rng, 50, 9, 0.3)
    m = sp.csr_matrix(D) if fmt == "csr" else sp.csc_matrix(D)
    nnz = m.nnz
    data = np.empty(2 * nnz + 6)
    data[: 2 * nnz : 2] = m.data
    data[2 * nnz:] = np.nan  # beyond indptr[-1]: never read
    indices = np.zeros(nnz + 3, np.int32)
    indices[:nnz] = m.indices
    indices[nnz:] = 10**6
    m.data, m.indices = data[::2], indices  # a strided data view of nnz + 3 entries
    assert not m.data.flags.c_contiguous and m.data.size == nnz + 3 and m.indptr[-1] == nnz
    np.testing.assert_array_equal(m.toarray(), D)
    y = targets("squared", rng, 50)
    kw = dict(method=method, max_iter=3, tol=None, learning_rate=0.05, l1=0.01, fit_intercept=True, seed=1)
    before = snapshot(m)
    assert_same_fit(descend.fit(m, y, **kw), descend.fit(D, y, **kw), RTOL[F64], f"{fmt}/{method}")
    assert snapshot(m) == before


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_loss_grad_duplicates_unchanged_and_equal_dense(fmt):
    rng = np.random.default_rng(seed_of("odd loss_grad", fmt))
    X = odd_csr(rng) if fmt == "csr" else odd_csc(rng)
    X.data = X.data.astype(np.float32)
    X.data.flags.writeable = False  # read-only arrays are accepted
    X.indices.flags.writeable = False
    D = X.toarray()
    y = targets("huber", rng, X.shape[0], np.float32)
    coef = rng.standard_normal(X.shape[1]).astype(np.float32)
    before = snapshot(X)
    vs, gs, bs = descend.loss_grad(X, y, coef, 0.1, loss="huber", l2=0.1)
    assert snapshot(X) == before
    vd, gd, bd = descend.loss_grad(D, y, coef, 0.1, loss="huber", l2=0.1)
    assert gs.dtype == np.float32
    assert abs(vs - vd) <= 1e-6 * abs(vd) and rel_err(gs, gd) <= 1e-5 and abs(bs - bd) <= 1e-5 * abs(bd)


# ---------------------------------------------------------------------------
# 5. Memory: nothing of the dense size

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import gc, json, resource, sys, time, tracemalloc
    import numpy as np
    import scipy.sparse as sp
    sys.path.insert(0, {tests!r})
    from test_sparse import big_csr
    import descend

    n, d = 200_000, 2 ** 20
    rng = np.random.default_rng({seed})
    X = big_csr(rng, n, d, 20)
    y = rng.standard_normal(n)
    sparse_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    before = (X.data.tobytes(), X.indices.tobytes(), X.indptr.tobytes())
    gc.collect()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    res = descend.fit(X, y, method="sgd", max_iter=1, tol=None, learning_rate=1e-3, l2=1e-4, seed=1)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    unchanged = before == (X.data.tobytes(), X.indices.tobytes(), X.indptr.tobytes())
    print(json.dumps(dict(peak=peak, rss_growth_kib=rss1 - rss0, sparse_bytes=sparse_bytes, data_bytes=X.data.nbytes,
                          dense_bytes=n * d * 8, coef_bytes=res.coef.nbytes, seconds=seconds,
                          moved=bool(np.any(res.coef != 0)), finite=bool(np.all(np.isfinite(res.coef))),
                          unchanged=unchanged)))
    """
)


def test_large_sparse_fit_memory():
    """200_000 x 2**20 (1.7 TB dense) with 20 non-zeros a row: one sgd
    epoch allocates O(nnz + d), nothing of the dense size, and no copy of
    X's arrays. Run in a fresh process, so ru_maxrss starts at this fit."""
    tests = os.path.dirname(os.path.abspath(__file__))
    script = _MEMORY_SCRIPT.format(tests=tests, seed=seed_of("memory"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["moved"] and r["finite"] and r["unchanged"], r
    dense, sparse_bytes = r["dense_bytes"], r["sparse_bytes"]
    # Python-side allocations (NumPy's are traced): coef, y's cast, the
    # result; no copy of X.data (32 MB) or X.indices (16 MB).
    assert r["peak"] < 0.05 * dense, r
    assert r["peak"] < 3 * sparse_bytes, r
    assert r["peak"] < 0.5 * r["data_bytes"], r
    # The core's allocations (untraced): the resident set grows by its
    # O(d) state at most, far below the dense size and below X itself.
    growth = r["rss_growth_kib"] * 1024
    assert growth < 1e-3 * dense, r
    assert growth < 3 * sparse_bytes, r


# ---------------------------------------------------------------------------
# 6. Validation


def good_csr():
    D = np.array([[1.0, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 4], [5, 0, 0, 6], [0, 7, 0, 0]])
    return D, sp.csr_matrix(D)


def _start_not_zero(m):
    m.indptr[0] = 1


def _decreasing(m):
    m.indptr[2] = m.indptr[1] - 1


def _short_indptr(m):
    m.indptr = m.indptr[:-1].copy()


def _long_indptr(m):
    m.indptr = np.append(m.indptr, m.indptr[-1])


def _past_the_end(m):
    m.indptr[-1] = m.indices.size + 3


def _index_too_big(m):
    m.indices[1] = 99


def _index_is_n_minor(m):
    m.indices[0] = m.shape[1] if m.format == "csr" else m.shape[0]


def _negative_index(m):
    m.indices[2] = -1


def _nan(m):
    m.data[3] = np.nan


def _inf(m):
    m.data[0] = -np.inf


MALFORMED = {
    "indptr-start": (_start_not_zero, ValueError, r"X\.indptr must start at 0"),
    "indptr-decreasing": (_decreasing, ValueError, r"X\.indptr must not decrease"),
    "indptr-short": (_short_indptr, ValueError, r"X\.indptr has \d+ entries"),
    "indptr-long": (_long_indptr, ValueError, r"X\.indptr has \d+ entries"),
    "indptr-past-end": (_past_the_end, ValueError, r"X\.indptr ends at"),
    "index-too-big": (_index_too_big, ValueError, r"X\.indices\[1\] = 99 is out of range"),
    "index-at-bound": (_index_is_n_minor, ValueError, r"X\.indices\[0\] = \d+ is out of range"),
    "index-negative": (_negative_index, ValueError, r"X\.indices\[2\] = -1 is out of range"),
    "nan": (_nan, ValueError, r"X contains NaN"),
    "inf": (_inf, ValueError, r"X contains NaN or infinity"),
}


def _run_entry(entry, X, y, method, calls):
    if entry == "fit":
        return descend.fit(X, y, method=method, max_iter=2, callback=lambda s: calls.append(s))
    if entry == "loss_grad":
        return descend.loss_grad(X, y, np.zeros(X.shape[1]))
    return descend.gradient_descent(X, y, np.zeros(X.shape[1]), 0.01, 2)


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES, ids=["i32", "i64"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("entry, method", [("fit", "batch"), ("fit", "sgd"), ("fit", "minibatch"),
                                           ("loss_grad", None), ("gradient_descent", None)])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_matrix_raises_before_any_work(case, entry, method, fmt, index_dtype):
    mutate, error, pattern = MALFORMED[case]
    D, m = good_csr()
    m = with_index_dtype(m if fmt == "csr" else m.tocsc(), index_dtype)
    mutate(m)
    y = np.arange(D.shape[0], dtype=np.float64)
    before = snapshot(m)
    calls = []
    with pytest.raises(error, match=pattern):
        _run_entry(entry, m, y, method, calls)
    assert calls == [], "the run started before the matrix was checked"
    assert snapshot(m) == before


def test_nan_skipped_with_check_finite_false():
    """check_finite=False skips the finiteness pass (the structure is still checked)."""
    D, m = good_csr()
    m.data[0] = np.nan
    v, _, _ = descend.loss_grad(m, np.ones(5), np.ones(4), check_finite=False)
    assert np.isnan(v)
    m.indices[0] = 99
    with pytest.raises(ValueError, match=r"X\.indices\[0\] = 99 is out of range"):
        descend.loss_grad(m, np.ones(5), np.ones(4), check_finite=False)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_mixed_index_dtypes_work_as_dense(fmt):
    """indices and indptr of different integer dtypes (scipy never makes
    this itself): both are widened to int64, the result is the dense one."""
    D, m = good_csr()
    m = m if fmt == "csr" else m.tocsc()
    m.indices = m.indices.astype(np.int64)
    m.indptr = m.indptr.astype(np.int32)
    before = snapshot(m)
    y = np.array([1.0, -1.0, 2.0, 0.5, 3.0])
    kw = dict(max_iter=5, tol=None, learning_rate=0.02, fit_intercept=True)
    assert_same_fit(descend.fit(m, y, **kw), descend.fit(D, y, **kw), RTOL[F64], fmt)
    assert snapshot(m) == before


@pytest.mark.parametrize("fmt", ["coo_matrix", "coo_array", "lil_matrix", "dok_matrix", "bsr_matrix", "dia_matrix"])
@pytest.mark.parametrize("method", ["batch", "sgd"])
def test_other_formats_equal_csr(small, fmt, method):
    D, X, y = small["logistic"]
    other = getattr(sp, fmt)(D)
    assert other.format == fmt[:3]
    kw = dict(loss="logistic", method=method, max_iter=3, tol=None, learning_rate=0.1, l2=0.05, l1=0.01,
              fit_intercept=True, seed=2)
    via_other = descend.fit(other, y, **kw)
    via_csr = descend.fit(X, y, **kw)
    assert via_other.coef.tobytes() == via_csr.coef.tobytes()
    assert via_other.loss_history.tobytes() == via_csr.loss_history.tobytes()
    a = descend.loss_grad(other, y, via_csr.coef, 0.2, loss="logistic")
    b = descend.loss_grad(X, y, via_csr.coef, 0.2, loss="logistic")
    assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes() and a[2] == b[2]


def test_coo_with_duplicates_equals_dense():
    rng = np.random.default_rng(seed_of("coo dup"))
    rows = rng.integers(0, 30, 120)
    cols = rng.integers(0, 8, 120)
    vals = rng.standard_normal(120)
    coo = sp.coo_matrix((vals, (rows, cols)), shape=(30, 8))
    D = coo.toarray()
    y = targets("squared", rng, 30)
    kw = dict(method="sgd", max_iter=3, tol=None, learning_rate=0.02, fit_intercept=True, seed=3)
    before = (coo.data.tobytes(), coo.row.tobytes(), coo.col.tobytes())
    assert_same_fit(descend.fit(coo, y, **kw), descend.fit(D, y, **kw), RTOL[F64], "coo")
    assert before == (coo.data.tobytes(), coo.row.tobytes(), coo.col.tobytes())


@pytest.mark.parametrize("data_dtype", [np.int8, np.int32, np.int64, np.uint16, np.bool_])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_integer_data_becomes_float64(fmt, data_dtype):
    rng = np.random.default_rng(seed_of("int", fmt, np.dtype(data_dtype).name))
    D = (rng.integers(0, 4, (40, 6)) * (rng.random((40, 6)) < 0.4)).astype(data_dtype)
    X = sp.csr_matrix(D) if fmt == "csr" else sp.csc_matrix(D)
    assert X.dtype == data_dtype
    before = snapshot(X)
    y = targets("squared", rng, 40)
    kw = dict(max_iter=3, tol=None, learning_rate=0.05, fit_intercept=True, method="sgd", seed=1)
    res = descend.fit(X, y, **kw)
    assert res.coef.dtype == np.float64
    assert_same_fit(res, descend.fit(D.astype(np.float64), y, **kw), RTOL[F64], str(data_dtype))
    assert snapshot(X) == before
    v, g, _ = descend.loss_grad(X, y, np.ones(6))
    assert g.dtype == np.float64
    vd, gd, _ = descend.loss_grad(D.astype(np.float64), y, np.ones(6))
    assert v == pytest.approx(vd, rel=1e-12) and rel_err(g, gd) <= 1e-12


@pytest.mark.parametrize("shape", [(0, 4), (5, 0), (0, 0)])
@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("entry", ["fit", "loss_grad", "gradient_descent"])
def test_empty_sparse_raises_naming_x(entry, container, shape):
    X = CONTAINERS[container](shape, dtype=np.float64)
    y = np.zeros(shape[0])
    with pytest.raises(ValueError, match=r"\bX\b"):
        _run_entry(entry, X, y, "batch", [])


def test_sparse_y_or_weights_rejected():
    D, X = good_csr()
    with pytest.raises(TypeError, match="y"):
        descend.fit(X, sp.csr_matrix(np.ones((5, 1))))
    with pytest.raises(TypeError, match="sample_weight"):
        descend.fit(X, np.ones(5), sample_weight=sp.csr_matrix(np.ones((5, 1))))


def test_sparse_shape_mismatch_names_y():
    D, X = good_csr()
    with pytest.raises(ValueError, match=r"y has 4 entries"):
        descend.fit(X, np.ones(4))


# ---------------------------------------------------------------------------
# 7. loss_grad: sparse equals dense


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("loss", LOSSES)
def test_loss_grad_equals_dense(small, loss, container, dtype):
    D, _, y = small[loss]
    D = D.astype(dtype)
    X = as_container(D, container)
    rng = np.random.default_rng(seed_of("loss_grad", loss, container))
    shape = (SMALL_D, N_CLASSES) if loss == "softmax" else (SMALL_D,)
    coef = rng.standard_normal(shape)
    intercept = rng.standard_normal(N_CLASSES) if loss == "softmax" else 0.3
    w = rng.random(SMALL_N) * 2.0
    w[::5] = 0.0
    for kw in ({}, {"sample_weight": w, "l2": 0.2}, {"delta": 0.4} if loss == "huber" else {"l2": 1.0}):
        vs, gs, bs = descend.loss_grad(X, y, coef, intercept, loss=loss, **kw)
        vd, gd, bd = descend.loss_grad(D, y, coef, intercept, loss=loss, **kw)
        rtol = 1e-12 if dtype == np.float64 else 1e-6
        assert gs.dtype == dtype and gs.shape == gd.shape
        assert np.linalg.norm(gd) > 0
        assert abs(vs - vd) <= rtol * abs(vd), (vs, vd, kw)
        assert rel_err(gs, gd) <= RTOL[np.dtype(dtype)], kw
        assert np.max(np.abs(np.subtract(bs, bd))) <= RTOL[np.dtype(dtype)] * np.max(np.abs(bd)), kw
    # out= receives the gradient in place
    out = np.empty(shape, dtype)
    _, g, _ = descend.loss_grad(X, y, coef, intercept, loss=loss, out=out)
    assert g is out and out.tobytes() == descend.loss_grad(X, y, coef, intercept, loss=loss)[1].tobytes()


# ---------------------------------------------------------------------------
# 8. learning_rate="auto"


@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("loss, method", [("logistic", "batch"), ("squared", "batch"), ("squared", "sgd"),
                                          ("logistic", "minibatch")])
def test_auto_learning_rate_equals_dense(loss, method, container):
    rng = np.random.default_rng(seed_of("auto", loss, method, container))
    D = random_dense(rng, 300, 25, 0.15) * np.linspace(0.2, 4.0, 25)
    X = as_container(D, container)
    y = targets(loss, rng, 300)
    w = rng.random(300) + 0.5
    for fit_intercept in (True, False):
        kw = dict(loss=loss, method=method, learning_rate="auto", max_iter=3, tol=None, l2=0.01,
                  fit_intercept=fit_intercept, seed=4, sample_weight=w)
        dense = descend.fit(D, y, **kw)
        sparse = descend.fit(X, y, **kw)
        assert dense.learning_rate > 0
        assert sparse.learning_rate == pytest.approx(dense.learning_rate, rel=1e-10, abs=0)
        assert_same_fit(sparse, dense, RTOL[F64], f"{loss}/{method}/{container}/{fit_intercept}")


def test_auto_learning_rate_sgd_with_duplicates():
    """A duplicated entry counts once, summed, in the largest row norm."""
    X = sp.csr_matrix((np.array([3.0, 3.0, 1.0]), np.array([1, 1, 0], np.int32), np.array([0, 2, 3], np.int32)),
                      shape=(2, 3))
    D = X.toarray()
    assert D[0, 1] == 6.0
    y = np.array([1.0, 2.0])
    kw = dict(method="sgd", learning_rate="auto", max_iter=2, tol=None, fit_intercept=False, seed=0)
    sparse, dense = descend.fit(X, y, **kw), descend.fit(D, y, **kw)
    assert dense.learning_rate == pytest.approx(1.0 / (2.0 * 36.0), rel=1e-12)
    assert sparse.learning_rate == pytest.approx(dense.learning_rate, rel=1e-12)
    assert_same_fit(sparse, dense, RTOL[F64], "duplicates")


# ---------------------------------------------------------------------------
# Other entry points


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_gradient_descent_equals_dense(small, container):
    D, _, y = small["squared"]
    X = as_container(D, container)
    theta = np.random.default_rng(1).standard_normal(SMALL_D)
    a = descend.gradient_descent(X, y, theta, 0.05, 20)
    b = descend.gradient_descent(D, y, theta, 0.05, 20)
    assert rel_err(a, b) <= 1e-10 and np.max(np.abs(b - theta)) > 0
    col = descend.gradient_descent(X, y[:, None], theta[:, None], 0.05, 20)
    assert col.shape == (SMALL_D, 1) and rel_err(col[:, 0], b) <= 1e-10


def test_callback_sees_dense_iterates(small):
    """The observer gets the same coef after each epoch of the lazy path."""
    D, X, y = small["squared"]
    seen = {"sparse": [], "dense": []}
    for name, data in (("sparse", X), ("dense", D)):
        descend.fit(data, y, method="sgd", max_iter=3, tol=None, l1=0.02, l2=0.1, learning_rate=0.05,
                    fit_intercept=True, seed=9, callback=lambda s, n=name: seen[n].append((s.coef.copy(), s.intercept)))
    assert len(seen["sparse"]) == len(seen["dense"]) == 3
    for (cs, bs), (cd, bd) in zip(seen["sparse"], seen["dense"]):
        assert rel_err(cs, cd) <= 1e-10 and abs(bs - bd) <= 1e-10 * max(1.0, abs(bd))


# ---------------------------------------------------------------------------
# 9. import descend does not import scipy


def test_import_descend_does_not_import_scipy():
    env = dict(os.environ)
    env.pop("SCIPY_ARRAY_API", None)
    proc = subprocess.run(
        [sys.executable, "-c",
         "import descend, sys; assert 'scipy' not in sys.modules, sorted(m for m in sys.modules if 'scipy' in m)"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
