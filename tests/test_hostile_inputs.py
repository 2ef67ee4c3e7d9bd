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


# ---------------------------------------------------------------------------
# 2. The command line never leaves a half-written file, never loses an old one


def cli(*args, cwd, prelude: str = "", timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`python -m descend ARGS` in `cwd`; `prelude` runs first in that process."""
    code = prelude + "\nimport sys\nfrom descend._cli import main\nsys.argv = ['descend'] + sys.argv[1:]\n" \
                     "raise SystemExit(main())\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_env(), **kwargs)


# A write past 4 KiB fails with EFBIG, as on a full disk (SIGXFSZ ignored,
# so the write returns the error instead of killing the process).
FILE_SIZE_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
"""


def write_regression_csv(path: Path, rows: int = 20) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 2))
    lines = ["a,b,y"] + [f"{a:.17g},{b:.17g},{2 * a - b + 1:.17g}" for a, b in X]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def saved_model(tmp_path):
    write_regression_csv(tmp_path / "d.csv")
    done = cli("fit", "d.csv", "--target", "y", "--save", "m.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "m.json"


def test_a_failed_save_keeps_the_old_model_and_names_the_path(tmp_path, saved_model):
    # A model with 300 features is more than 4 KiB of JSON: its write fails.
    old = saved_model.read_bytes()
    rng = np.random.default_rng(1)
    names = [f"feature_{j}" for j in range(300)]
    rows = rng.normal(size=(5, 300))
    (tmp_path / "wide.csv").write_text(",".join(names + ["y"]) + "\n" + "\n".join(
        ",".join(f"{v:.17g}" for v in row) + ",1.0" for row in rows) + "\n")
    done = cli("fit", "wide.csv", "--target", "y", "--max-iter", "3", "--save", "m.json", cwd=tmp_path,
               prelude=FILE_SIZE_LIMIT)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.strip() == "descend fit: error: m.json: File too large", done.stderr
    assert saved_model.read_bytes() == old  # before: truncated
    assert descend.load_model(saved_model).feature_names == ("a", "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "m.json", "wide.csv"]  # no temporary left


def test_a_failed_prediction_file_keeps_the_old_one(tmp_path, saved_model):
    write_regression_csv(tmp_path / "many.csv", rows=400)  # 400 predictions: > 4 KiB
    (tmp_path / "p.csv").write_text("old predictions\n")
    done = cli("predict", "m.json", "many.csv", "-o", "p.csv", cwd=tmp_path, prelude=FILE_SIZE_LIMIT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "descend predict: error: p.csv: File too large", done.stderr
    assert (tmp_path / "p.csv").read_text() == "old predictions\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # Without the limit the same command replaces it, whole.
    assert cli("predict", "m.json", "many.csv", "-o", "p.csv", cwd=tmp_path).returncode == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 401


def test_save_keeps_the_old_file_s_permissions(tmp_path, saved_model):
    saved_model.chmod(0o640)
    assert cli("fit", "d.csv", "--target", "y", "--save", "m.json", cwd=tmp_path).returncode == 0
    assert saved_model.stat().st_mode & 0o777 == 0o640


def test_plot_failing_after_save_says_the_model_exists(tmp_path):
    write_regression_csv(tmp_path / "d.csv")
    done = cli("fit", "d.csv", "--target", "y", "--save", "m.json", "--plot", "no_such_dir/c.png", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("descend fit: error: the model was saved to m.json, but the loss curve --plot "
                                  "no_such_dir/c.png was not written"), done.stderr
    assert "no_such_dir/c.png: No such file or directory" in done.stderr
    assert descend.load_model(tmp_path / "m.json").feature_names == ("a", "b")


def test_one_error_prefix(tmp_path):
    done = cli("predict", "missing.json", "d.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("descend predict: error: ") and "error::" not in done.stderr, done.stderr


def test_a_closed_stdout_ends_predict_quietly(tmp_path, saved_model):
    write_regression_csv(tmp_path / "many.csv", rows=20000)
    code = ("import sys\nfrom descend._cli import main\nsys.argv = ['descend', 'predict', 'm.json', 'many.csv']\n"
            "raise SystemExit(main())\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    first = [proc.stdout.readline() for _ in range(5)]  # `| head -5`
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    status = proc.wait(timeout=120)
    assert first[0].strip() == b"y" and all(first)
    assert status in (0, 141), (status, stderr)
    assert stderr == "", stderr  # before: "Broken pipe" (and a traceback at exit)


# ---------------------------------------------------------------------------
# 3. The command line stays bounded on hostile files


@pytest.mark.parametrize("index", [99_999_999_999, 2_147_483_649])
def test_a_huge_libsvm_index_fails_fast(tmp_path, index):
    (tmp_path / "big.svm").write_text(f"1 {index}:1\n0 1:2\n")
    start = time.monotonic()
    done = cli("fit", "big.svm", cwd=tmp_path, timeout=30)  # before: minutes, then a MemoryError
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - start < 20  # the interpreter's start included; the check itself is instant
    assert done.stderr.strip() == (f"descend fit: error: big.svm: feature index {index} makes {index:,} features, "
                                   "more than the limit of 16,777,216 (--max-features raises it)")


def test_max_features_raises_the_limit(tmp_path):
    (tmp_path / "d.svm").write_text("1 1:1 30:2\n0 2:1\n1 1:0.5\n")
    assert "more than the limit of 20" in cli("fit", "d.svm", "--max-features", "20", cwd=tmp_path).stderr
    assert cli("fit", "d.svm", "--max-features", "30", cwd=tmp_path).returncode == 0


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffa,b,y\n1,2,3\n2,1,4\n3,5,1\n4,4,2\n".encode("utf-8"))
    done = cli("fit", "bom.csv", "--target", "a", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["features"] == ["b", "y"]


def test_a_junk_npy_is_named_without_pickle_advice(tmp_path):
    (tmp_path / "junk.npy").write_bytes(bytes(range(256)) * 2)
    done = cli("fit", "junk.npy", "--target", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "descend fit: error: junk.npy is not a valid .npy array file", done.stderr
    assert "pickle" not in done.stderr


def test_a_libsvm_file_of_labels_only_is_named(tmp_path):
    (tmp_path / "labels.svm").write_text("1\n0\n1\n")
    done = cli("fit", "labels.svm", "--format", "libsvm", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("descend fit: error: labels.svm: no line has a feature (index:value); "
                                   "X needs at least one feature column"), done.stderr


def test_a_huge_target_is_explained_in_command_line_terms(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,1e308\n2,1,4\n3,5,1\n")
    done = cli("fit", "t.csv", "--target", "y", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "t.csv holds values too large for the squared loss" in done.stderr
    assert "coef0" not in done.stderr and "intercept0" not in done.stderr and "check_finite" not in done.stderr


# ---------------------------------------------------------------------------
# 4. Model files are strict; Model.predict refuses NaN and matches names


def model_file(tmp_path) -> dict:
    res = descend.fit(B, Y, max_iter=20, fit_intercept=True)
    descend.save_model(tmp_path / "m.json", res, loss="squared", feature_names=["a", "b", "c"])
    return json.loads((tmp_path / "m.json").read_text())


def _edit(d: dict, field: str, value) -> dict:
    d = json.loads(json.dumps(d))
    if field.startswith("coef."):
        d["coef"][field[5:]] = value
    else:
        d[field] = value
    return d


@pytest.mark.parametrize("field, value, pattern", [
    ("format_version", 0, r"no valid \"format_version\" \(an integer from 1\), got 0"),
    ("format_version", -5, r"got -5"),
    ("coef.a", "1.5", r"\"coef\" must map every feature to a number .*got '1\.5' for 'a'"),
    ("coef.a", True, r"got True for 'a'"),
    ("intercept", "5", r"intercept must hold numbers \(not strings or booleans\), got '5'"),
    ("intercept", False, r"intercept must hold numbers"),
])
def test_model_file_fields_have_one_type_and_range(tmp_path, field, value, pattern):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_edit(model_file(tmp_path), field, value)))
    with pytest.raises(ValueError, match=pattern):
        descend.load_model(path)


def test_model_constructor_applies_the_same_checks():
    with pytest.raises(ValueError, match="format_version must be between 1 and"):
        descend.Model(loss="squared", coef=[1.0], intercept=0.0, feature_names=("a",), format_version=0)
    with pytest.raises(TypeError, match="coef must hold numbers"):
        descend.Model(loss="squared", coef=["1.5"], intercept=0.0, feature_names=("a",))


@pytest.mark.parametrize("sparse", [False, True])
def test_model_predict_refuses_nan(tmp_path, sparse):
    model_file(tmp_path)
    model = descend.load_model(tmp_path / "m.json")
    X = B.copy()
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        model.predict(sp.csr_matrix(X) if sparse else X)


def test_model_predict_checks_sparse_structure(tmp_path):
    model_file(tmp_path)
    X = sp.csr_matrix(B)
    X.indices[0] = 7
    with pytest.raises(ValueError, match=r"X\.indices\[0\] = 7 is out of range"):
        descend.load_model(tmp_path / "m.json").predict(X)


def test_model_predict_matches_dataframe_columns_by_name(tmp_path):
    pd = pytest.importorskip("pandas")
    model_file(tmp_path)
    model = descend.load_model(tmp_path / "m.json")
    expected = model.predict(B)
    shuffled = pd.DataFrame({"c": B[:, 2], "extra": 1.0, "a": B[:, 0], "b": B[:, 1]})
    np.testing.assert_array_equal(model.predict(shuffled), expected)
    with pytest.raises(ValueError, match=r"lacks feature\(s\) 'b'"):
        model.predict(pd.DataFrame({"a": B[:, 0], "x": B[:, 1], "c": B[:, 2]}))


# ---------------------------------------------------------------------------
# 5. optim refuses aliased parameters; minimize hands fun a copy


@pytest.mark.parametrize("rule", ["GD", "Momentum", "Adam"])
def test_the_same_array_twice_is_refused(rule):
    w = np.zeros(4)
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] are the same array"):
        getattr(descend.optim, rule)([w, w], lr=0.1)


def test_overlapping_views_are_refused_and_disjoint_ones_accepted():
    buffer = np.zeros(10)
    with pytest.raises(ValueError, match=r"params\[0\] and params\[2\] share memory"):
        descend.optim.GD([buffer[:4], np.zeros(2), buffer[3:6]], lr=0.1)
    a, b = buffer[:5], buffer[5:]  # one buffer, no overlap: two parameters
    opt = descend.optim.GD([a, b], lr=0.5)
    opt.step([np.ones(5), np.full(5, 2.0)])
    np.testing.assert_array_equal(buffer, [-0.5] * 5 + [-1.0] * 5)  # each updated once


def test_minimize_hands_fun_and_jac_a_copy():
    x0 = np.ones(3)

    def fun(x):
        value, grad = float(x @ x), 2 * x
        x[:] = 100.0  # writes into what it was given
        return value, grad

    res = descend.minimize(fun, x0, method="gd", learning_rate=0.1, max_iter=200, gtol=1e-8)
    assert res.success and np.abs(res.x).max() < 1e-8  # before: x jumped to 100 every step
    np.testing.assert_array_equal(x0, 1.0)

    seen = []

    def f(x):
        seen.append(x.copy())
        x += 1.0
        return float(x @ x)

    def jac(x):
        return 2 * x

    descend.minimize(f, np.ones(2), jac=jac, method="gd", learning_rate=0.1, max_iter=1, gtol=None)
    np.testing.assert_array_equal(seen[0], [1.0, 1.0])


# ---------------------------------------------------------------------------
# 6. Dask: an empty chunk carries no rows and is skipped


@pytest.mark.parametrize("method", ["batch", "sgd"])
def test_dask_skips_empty_chunks(dask_client, method):
    da = pytest.importorskip("dask.array")
    import descend.dask

    rng = np.random.default_rng(30)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=40)
    kw = dict(method=method, learning_rate=0.05, max_iter=20, tol=None, fit_intercept=True, seed=3)
    with_empty = descend.dask.fit(da.from_array(X, chunks=((10, 0, 30), (3,))), y, **kw)  # before: "block 1 ... is empty"
    without = descend.dask.fit(da.from_array(X, chunks=((10, 30), (3,))), y, **kw)
    np.testing.assert_array_equal(with_empty.coef, without.coef)
    assert with_empty.intercept == without.intercept
    np.testing.assert_array_equal(with_empty.loss_history, without.loss_history)


def test_dask_float16_is_widened_to_float32(dask_client):
    da = pytest.importorskip("dask.array")
    import descend.dask

    X16 = B.astype(np.float16)
    res = descend.dask.fit(da.from_array(X16, chunks=((2, 2), (3,))), Y, max_iter=5)
    assert res.coef.dtype == np.float32
    np.testing.assert_allclose(res.coef, descend.fit(X16, Y, max_iter=5).coef, rtol=1e-6)
