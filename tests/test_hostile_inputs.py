"""Hostile inputs to the newer surfaces (issue 30): malformed scipy.sparse
structure on every path that reads X, X's one dtype rule, a start that is
not finite with check_finite=False, the command line's files (atomic
writes, a closed stdout, hostile data files), strict model files, aliased
optim parameters, minimize's iterate, and Dask's empty chunks.

Everything is real: scipy.sparse matrices with their arrays overwritten,
files in tmp_path, the command line in subprocesses, a LocalCluster of
worker processes. A case that crashed the interpreter before its fix runs
in a subprocess, so that losing the fix fails the test instead of killing
the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import descend

B = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [4.0, 0.0, 5.0], [0.0, 0.0, 6.0]])
Y = np.array([1.0, 2.0, 3.0, 4.0])
PYTHONPATH = str(Path(descend.__file__).resolve().parent.parent)


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHONPATH + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_python(code: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter (a crash is its exit status, not ours)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=_env(), **kwargs)


def regressor():
    from descend import GDRegressor

    return GDRegressor(max_iter=50, tol=None).fit(B, Y)


# ---------------------------------------------------------------------------
# 1. Malformed sparse structure: an error on every path that reads X


def coo_with_row(value: int):
    X = sp.csr_matrix(B).tocoo()
    X.row[0] = value
    return X


@pytest.mark.parametrize("row", [100, -1, 4])
@pytest.mark.parametrize("entry", ["fit", "loss_grad", "GDRegressor.fit"])
def test_coo_row_out_of_range_is_a_value_error(entry, row):
    # SciPy's tocsr() writes through an unchecked row index: a crash (or, for
    # row = n_rows, a silent fit) before the check. In a subprocess, so that
    # a crash fails this test alone.
    call = {"fit": "descend.fit(X, y, max_iter=3)",
            "loss_grad": "descend.loss_grad(X, y, np.zeros(3))",
            "GDRegressor.fit": "descend.GDRegressor(max_iter=3).fit(X, y)"}[entry]
    done = run_python(f"""
        import numpy as np, scipy.sparse as sp, descend
        B = np.array({B.tolist()}); y = np.array({Y.tolist()})
        X = sp.csr_matrix(B).tocoo(); X.row[0] = {row}
        try:
            {call}
        except ValueError as e:
            print("ValueError:", e)
        """)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert f"ValueError: X.row[0] = {row} is out of range: X has 4 rows" in done.stdout, done.stdout


def test_coo_col_out_of_range_and_the_caller_s_matrix_is_untouched():
    X = sp.csr_matrix(B).tocoo()
    X.col[2] = 3
    row, col, data = X.row.copy(), X.col.copy(), X.data.copy()
    with pytest.raises(ValueError, match=r"X\.col\[2\] = 3 is out of range: X has 3 columns"):
        descend.fit(X, Y, max_iter=3)
    assert np.array_equal(X.row, row) and np.array_equal(X.col, col) and np.array_equal(X.data, data)


@pytest.mark.parametrize("fmt", ["lil", "dok", "dia", "bsr"])
def test_other_formats_are_checked_on_conversion(fmt):
    X = sp.csr_matrix(B).asformat(fmt)
    assert np.allclose(descend.fit(X, Y, max_iter=3).coef, descend.fit(B, Y, max_iter=3).coef)
    if fmt == "bsr":
        X.indices[0] = 9
        with pytest.raises(ValueError, match=r"X\.indices\[0\] = 9 is out of range"):
            descend.fit(X, Y, max_iter=3)


def broken_csr(kind: str, fmt: str = "csr"):
    X = sp.csr_matrix(B) if fmt == "csr" else sp.csc_matrix(B)
    if kind == "index_7":
        X.indices[0] = 7
    elif kind == "index_-1":
        X.indices[0] = -1
    elif kind == "indptr_decreasing":
        X.indptr[2] = 0
    elif kind == "indptr_past_end":
        X.indptr[-1] = X.indptr[-1] + 5
    return X


MESSAGES = {
    "index_7": r"X\.indices\[0\] = 7 is out of range",
    "index_-1": r"X\.indices\[0\] = -1 is out of range",
    "indptr_decreasing": r"X\.indptr must not decrease: indptr\[2\] = 0 < indptr\[1\] = 2",
    "indptr_past_end": r"X\.indptr ends at \d+ entries but X\.indices and X\.data hold",
}


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("kind", list(MESSAGES))
def test_predict_checks_structure_as_fit_does(kind, fmt):
    # Before the fix, predict multiplied through the bad indices: wrong
    # predictions, silently, or a read out of bounds.
    from descend import GDClassifier

    X = broken_csr(kind, fmt)
    if kind == "indptr_decreasing" and fmt == "csc":
        pattern = r"X\.indptr must not decrease"
    else:
        pattern = MESSAGES[kind]
    with pytest.raises(ValueError, match=pattern):
        descend.fit(X, Y, max_iter=3)
    with pytest.raises(ValueError, match=pattern):
        regressor().predict(X)
    clf = GDClassifier(loss="logistic", max_iter=20, tol=None).fit(B, (Y > 2).astype(int))
    with pytest.raises(ValueError, match=pattern):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match=pattern):
        clf.decision_function(X)


@pytest.mark.parametrize("entry", ["GDRegressor.predict", "GDClassifier.predict_proba"])
def test_predict_with_a_huge_index_is_a_value_error(entry):
    # Before the fix the product read far out of bounds (a crash): in a subprocess.
    done = run_python(f"""
        import numpy as np, scipy.sparse as sp, descend
        B = np.array({B.tolist()}); y = np.array({Y.tolist()})
        if "{entry}" == "GDRegressor.predict":
            call = descend.GDRegressor(max_iter=5, tol=None).fit(B, y).predict
        else:
            call = descend.GDClassifier(max_iter=5, tol=None).fit(B, y > 2).predict_proba
        X = sp.csr_matrix(B); X.indices[0] = 2**31 - 1
        try:
            call(X)
        except ValueError as e:
            print("ValueError:", e)
        """)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "ValueError: X.indices[0] = 2147483647 is out of range: X has 3 columns" in done.stdout, done.stdout


def test_one_structure_check_for_fit_and_predict():
    # One owner: fit (through as_sparse) and the estimators' predict call
    # the same function, descend._sparse.check_structure.
    import inspect

    from descend import _sparse, estimators

    assert "check_structure(" in inspect.getsource(_sparse.as_sparse)
    assert "check_structure(" in inspect.getsource(estimators._validate_data)


def test_uint64_index_is_reported_as_given():
    X = sp.csr_matrix(B)
    X.indices = X.indices.astype(np.uint64)
    X.indptr = X.indptr.astype(np.uint64)
    X.indices[0] = 2**63 + 1
    with pytest.raises(ValueError, match=r"X\.indices\[0\] = 9223372036854775809 is out of range"):
        descend.fit(X, Y, max_iter=3)
    with pytest.raises(ValueError, match="9223372036854775809"):
        regressor().predict(X)


# ---------------------------------------------------------------------------
# 1. X's one dtype rule: float16 is widened to float32 everywhere


def _float16_csr():
    X = sp.csr_matrix(B)
    X.data = X.data.astype(np.float16)  # scipy refuses float16 at construction, not here
    return X


def test_float16_dense_and_sparse_fit_as_float32():
    dense = descend.fit(B.astype(np.float16), Y, max_iter=5)
    sparse = descend.fit(_float16_csr(), Y, max_iter=5)
    reference = descend.fit(B.astype(np.float32), Y, max_iter=5)
    assert dense.coef.dtype == sparse.coef.dtype == np.float32
    assert np.allclose(dense.coef, reference.coef) and np.allclose(sparse.coef, reference.coef, rtol=1e-6)


def test_float16_estimators_fit_and_predict_as_float32():
    from descend import GDRegressor

    model = GDRegressor(max_iter=20, tol=None).fit(B.astype(np.float16), Y)
    assert model.coef_.dtype == np.float32
    assert model.predict(_float16_csr()).dtype == np.float32


def test_unsupported_dtype_names_the_accepted_ones():
    X = sp.csr_matrix(B)
    X.data = X.data.astype(np.complex128)
    with pytest.raises(TypeError, match=r"X must hold real numbers \(floats, integers or bool; float16 is widened"):
        descend.fit(X, Y, max_iter=3)


# ---------------------------------------------------------------------------
# 1. check_finite=False with NaN in X: the message points at the data


def test_nan_with_check_finite_false_points_at_the_data():
    X = B.copy()
    X[0, 0] = np.nan
    with pytest.raises(descend.DivergenceError, match=r"not finite at the start.*X or y may hold NaN or infinity "
                                                      r"\(check_finite=False"):
        descend.fit(X, Y, max_iter=5, check_finite=False)
    # With the check on, NaN is named before any work.
    with pytest.raises(ValueError, match="X contains NaN"):
        descend.fit(X, Y, max_iter=5)


def test_overflowing_start_with_checked_data_keeps_the_core_s_words():
    with pytest.raises(descend.DivergenceError) as info:
        descend.fit(B, Y, coef0=np.full(3, 1e200), max_iter=5)
    assert "start point (coef0, intercept0)" in str(info.value) and "may hold NaN" not in str(info.value)
