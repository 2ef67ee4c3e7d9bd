"""Input validation of the public entry points (DESIGN.md §3-§5).

Bad input raises before any work as ValueError or TypeError whose message
names the argument. Accepted inputs are converted as §4 says.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

import descend

N, D = 40, 3


def _data(seed=0, n=N, d=D):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return X, y


def _labels(seed=0, n=N, d=D):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


def _with_nan(a, value=np.nan):
    a = np.array(a, dtype=np.float64)
    a.flat[min(5, a.size - 1)] = value
    return a


# ---------------------------------------------------------------------------
# descend.fit: a table of bad inputs.
# Each case: (id, builder(X, y) -> (args, kwargs), exception, match)

X0, Y0 = _data()
XL, YL = _labels()

FIT_CASES = [
    # shapes
    ("y-too-short", lambda: ((X0, Y0[:-1]), {}), ValueError, r"\by\b"),
    ("y-too-long", lambda: ((X0, np.append(Y0, 1.0)), {}), ValueError, r"\by\b"),
    ("y-2d", lambda: ((X0, Y0[:, None]), {}), ValueError, r"\by\b"),
    ("sample_weight-too-short", lambda: ((X0, Y0), {"sample_weight": np.ones(N - 1)}), ValueError, "sample_weight"),
    ("sample_weight-too-long", lambda: ((X0, Y0), {"sample_weight": np.ones(N + 3)}), ValueError, "sample_weight"),
    ("coef0-too-short", lambda: ((X0, Y0), {"coef0": np.zeros(D - 1)}), ValueError, "coef0"),
    ("coef0-too-long", lambda: ((X0, Y0), {"coef0": np.zeros(D + 1)}), ValueError, "coef0"),
    ("X-1d", lambda: ((X0[:, 0], Y0), {}), ValueError, r"\bX\b"),
    ("X-3d", lambda: ((X0[:, :, None], Y0), {}), ValueError, r"\bX\b"),
    ("X-0-rows", lambda: ((np.empty((0, D)), np.empty(0)), {}), ValueError, r"\bX\b"),
    ("X-0-columns", lambda: ((np.empty((N, 0)), Y0), {}), ValueError, r"\bX\b"),
    # finiteness
    ("X-nan", lambda: ((_with_nan(X0), Y0), {}), ValueError, r"\bX\b"),
    ("X-inf", lambda: ((_with_nan(X0, np.inf), Y0), {}), ValueError, r"\bX\b"),
    ("X-minus-inf", lambda: ((_with_nan(X0, -np.inf), Y0), {}), ValueError, r"\bX\b"),
    ("X-float32-nan", lambda: ((_with_nan(X0).astype(np.float32), Y0), {}), ValueError, r"\bX\b"),
    ("X-F-order-nan", lambda: ((np.asfortranarray(_with_nan(X0)), Y0), {}), ValueError, r"\bX\b"),
    ("y-nan", lambda: ((X0, _with_nan(Y0)), {}), ValueError, r"\by\b"),
    ("y-inf", lambda: ((X0, _with_nan(Y0, np.inf)), {}), ValueError, r"\by\b"),
    # labels
    ("logistic-label-2", lambda: ((XL, np.where(YL == 1, 2.0, 0.0)), {"loss": "logistic"}), ValueError, r"\by\b"),
    ("logistic-label-minus1", lambda: ((XL, np.where(YL == 1, 1.0, -1.0)), {"loss": "logistic"}), ValueError, r"\by\b"),
    ("logistic-label-half", lambda: ((XL, _with_nan(YL, 0.5)), {"loss": "logistic"}), ValueError, r"\by\b"),
    # sample weights
    ("sample_weight-negative", lambda: ((X0, Y0), {"sample_weight": _with_nan(np.ones(N), -1.0)}), ValueError, "sample_weight"),
    ("sample_weight-nan", lambda: ((X0, Y0), {"sample_weight": _with_nan(np.ones(N))}), ValueError, "sample_weight"),
    ("sample_weight-inf", lambda: ((X0, Y0), {"sample_weight": _with_nan(np.ones(N), np.inf)}), ValueError, "sample_weight"),
    # learning rate
    ("learning_rate-zero", lambda: ((X0, Y0), {"learning_rate": 0.0}), ValueError, "learning_rate"),
    ("learning_rate-negative", lambda: ((X0, Y0), {"learning_rate": -0.1}), ValueError, "learning_rate"),
    ("learning_rate-nan", lambda: ((X0, Y0), {"learning_rate": float("nan")}), ValueError, "learning_rate"),
    ("learning_rate-inf", lambda: ((X0, Y0), {"learning_rate": float("inf")}), ValueError, "learning_rate"),
    ("learning_rate-None", lambda: ((X0, Y0), {"learning_rate": None}), TypeError, "learning_rate"),
    ("learning_rate-list", lambda: ((X0, Y0), {"learning_rate": [0.1]}), TypeError, "learning_rate"),
    ("learning_rate-bool", lambda: ((X0, Y0), {"learning_rate": True}), TypeError, "learning_rate"),
    ("learning_rate-unknown-string", lambda: ((X0, Y0), {"learning_rate": "fast"}), (TypeError, ValueError), "learning_rate"),
    # integer options
    ("batch_size-zero", lambda: ((X0, Y0), {"method": "minibatch", "batch_size": 0}), ValueError, "batch_size"),
    ("batch_size-negative", lambda: ((X0, Y0), {"method": "minibatch", "batch_size": -4}), ValueError, "batch_size"),
    ("batch_size-float", lambda: ((X0, Y0), {"method": "minibatch", "batch_size": 4.0}), TypeError, "batch_size"),
    ("max_iter-negative", lambda: ((X0, Y0), {"max_iter": -1}), ValueError, "max_iter"),
    ("max_iter-float", lambda: ((X0, Y0), {"max_iter": 1.5}), TypeError, "max_iter"),
    ("n_iter_no_change-zero", lambda: ((X0, Y0), {"n_iter_no_change": 0}), ValueError, "n_iter_no_change"),
    # tolerances
    ("tol-negative", lambda: ((X0, Y0), {"tol": -1e-6}), ValueError, r"(?<!g)tol"),
    ("tol-nan", lambda: ((X0, Y0), {"tol": float("nan")}), ValueError, r"(?<!g)tol"),
    ("tol-string", lambda: ((X0, Y0), {"tol": "1e-6"}), TypeError, r"(?<!g)tol"),
    ("gtol-negative", lambda: ((X0, Y0), {"gtol": -1.0}), ValueError, "gtol"),
    ("gtol-with-sgd", lambda: ((X0, Y0), {"method": "sgd", "gtol": 1e-3}), ValueError, "gtol"),
    ("gtol-with-minibatch", lambda: ((X0, Y0), {"method": "minibatch", "gtol": 1e-3}), ValueError, "gtol"),
    # regularisation
    ("l2-negative", lambda: ((X0, Y0), {"l2": -0.1}), ValueError, "l2"),
    ("l1-negative", lambda: ((X0, Y0), {"l1": -0.1}), ValueError, "l1"),
    ("l2-nan", lambda: ((X0, Y0), {"l2": float("nan")}), ValueError, "l2"),
    # names
    ("loss-unknown", lambda: ((X0, Y0), {"loss": "cubic"}), ValueError, r"loss.*'squared'.*'logistic'"),
    ("method-unknown", lambda: ((X0, Y0), {"method": "newton"}), ValueError, r"method.*'batch'.*'sgd'.*'minibatch'"),
    ("optimizer-unknown", lambda: ((X0, Y0), {"optimizer": "newton"}), ValueError, r"optimizer.*'gd'"),
    ("loss-not-a-string", lambda: ((X0, Y0), {"loss": 1}), TypeError, "loss"),
    ("method-not-a-string", lambda: ((X0, Y0), {"method": None}), TypeError, "method"),
    ("optimizer-not-a-string", lambda: ((X0, Y0), {"optimizer": ["gd"]}), TypeError, "optimizer"),
    # seeds and threads
    ("seed-negative", lambda: ((X0, Y0), {"seed": -1}), ValueError, "seed"),
    ("seed-2**64", lambda: ((X0, Y0), {"seed": 2**64}), ValueError, "seed"),
    ("seed-float", lambda: ((X0, Y0), {"seed": 1.0}), TypeError, "seed"),
    ("n_threads-zero", lambda: ((X0, Y0), {"n_threads": 0}), ValueError, "n_threads"),
    ("n_threads-negative", lambda: ((X0, Y0), {"n_threads": -2}), ValueError, "n_threads"),
    ("n_threads-float", lambda: ((X0, Y0), {"n_threads": 2.0}), TypeError, "n_threads"),
    # callback and optimizer keywords
    ("callback-not-callable", lambda: ((X0, Y0), {"callback": 3}), TypeError, "callback"),
    ("momentum-with-gd", lambda: ((X0, Y0), {"optimizer": "gd", "momentum": 0.9}), TypeError, "momentum"),
    ("unknown-keyword", lambda: ((X0, Y0), {"nonsense": 1}), TypeError, "nonsense"),
    # starting point
    ("coef0-nan", lambda: ((X0, Y0), {"coef0": _with_nan(np.zeros(D))}), ValueError, "coef0"),
    ("intercept0-inf", lambda: ((X0, Y0), {"intercept0": float("inf"), "fit_intercept": True}), ValueError, "intercept0"),
    ("intercept0-string", lambda: ((X0, Y0), {"intercept0": "0"}), TypeError, "intercept0"),
    # kinds of X
    ("X-strings", lambda: ((X0.astype(str), Y0), {}), TypeError, r"\bX\b"),
    ("X-complex", lambda: ((X0.astype(np.complex128), Y0), {}), TypeError, r"\bX\b"),
    ("X-object", lambda: ((X0.astype(object), Y0), {}), TypeError, r"\bX\b"),
    ("X-csr-complex", lambda: ((scipy.sparse.csr_matrix(X0 + 1j), Y0), {}), TypeError, r"\bX\b.*real numbers"),
    ("X-csc-array-nan", lambda: ((scipy.sparse.csc_array(_with_nan(X0)), Y0), {}), ValueError, r"\bX\b.*NaN"),
    ("y-strings", lambda: ((X0, Y0.astype(str)), {}), TypeError, r"\by\b"),
    ("y-complex", lambda: ((X0, Y0.astype(np.complex128)), {}), TypeError, r"\by\b"),
]


@pytest.mark.parametrize(
    "build, exc, match", [pytest.param(b, e, m, id=i) for i, b, e, m in FIT_CASES]
)
def test_fit_rejects(build, exc, match):
    args, kwargs = build()
    with pytest.raises(exc, match=match):
        descend.fit(*args, **kwargs)


def test_check_finite_false_skips_the_check_but_nan_x_still_cannot_pass_silently():
    X = _with_nan(X0)
    with pytest.raises(ValueError, match=r"\bX\b"):
        descend.fit(X, Y0)
    # Skipping the check does not turn NaN data into a NaN result: the run diverges.
    with pytest.raises(descend.DivergenceError):
        descend.fit(X, Y0, check_finite=False)
    with pytest.raises(descend.DivergenceError):
        descend.fit(X, Y0, method="sgd", check_finite=False)


def test_check_finite_false_still_checks_sample_weight():
    with pytest.raises(ValueError, match="sample_weight"):
        descend.fit(X0, Y0, sample_weight=_with_nan(np.ones(N)), check_finite=False)


def test_check_finite_false_loss_grad_skips_the_x_check():
    X = _with_nan(X0)
    with pytest.raises(ValueError, match=r"\bX\b"):
        descend.loss_grad(X, Y0, np.zeros(D))
    value, _, _ = descend.loss_grad(X, Y0, np.zeros(D), check_finite=False)
    assert np.isnan(value)


@pytest.mark.parametrize("seed", [0, 2**64 - 1, np.uint64(2**64 - 1), np.int64(7)], ids=["0", "2**64-1", "uint64-max", "int64"])
def test_fit_accepts_seed_range(seed):
    res = descend.fit(X0, Y0, method="sgd", seed=seed, max_iter=3)
    assert res.n_iter == 3


# ---------------------------------------------------------------------------
# Errors come before any work.

BEFORE_WORK = [
    pytest.param({"learning_rate": -1.0}, ValueError, id="learning_rate"),
    pytest.param({"max_iter": -1}, ValueError, id="max_iter"),
    pytest.param({"loss": "logistic"}, ValueError, id="labels"),
    pytest.param({"sample_weight": _with_nan(np.ones(N), -1.0)}, ValueError, id="sample_weight"),
    pytest.param({"X": _with_nan(X0)}, ValueError, id="X-nan"),
    pytest.param({"y": _with_nan(Y0)}, ValueError, id="y-nan"),
    pytest.param({"method": "sgd", "gtol": 1e-3}, ValueError, id="gtol-sgd"),
    pytest.param({"method": "minibatch", "batch_size": 0}, ValueError, id="batch_size"),
    pytest.param({"seed": -1}, ValueError, id="seed"),
    pytest.param({"n_threads": 0}, ValueError, id="n_threads"),
    pytest.param({"momentum": 0.9}, TypeError, id="optimizer-keyword"),
    pytest.param({"l1": -1.0}, ValueError, id="l1"),
    pytest.param({"method": "newton"}, ValueError, id="method"),
]


@pytest.mark.parametrize("method_for_run", ["batch", "sgd"])
@pytest.mark.parametrize("bad, exc", BEFORE_WORK)
def test_errors_come_before_any_work(bad, exc, method_for_run, capsys):
    calls = []
    kwargs = {"method": method_for_run, "callback": lambda s: calls.append(s.iteration), "verbose": True}
    kwargs.update(bad)
    X = kwargs.pop("X", X0)
    y = kwargs.pop("y", Y0)
    with pytest.raises(exc):
        descend.fit(X, y, **kwargs)
    assert calls == []
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------
# descend.loss_grad

LOSS_GRAD_CASES = [
    ("y-too-short", lambda: ((X0, Y0[:-1], np.zeros(D)), {}), ValueError, r"\by\b"),
    ("coef-too-short", lambda: ((X0, Y0, np.zeros(D - 1)), {}), ValueError, r"\bcoef\b"),
    ("coef-too-long", lambda: ((X0, Y0, np.zeros(D + 1)), {}), ValueError, r"\bcoef\b"),
    ("coef-2d", lambda: ((X0, Y0, np.zeros((D, 2))), {}), ValueError, r"\bcoef\b"),
    ("sample_weight-too-long", lambda: ((X0, Y0, np.zeros(D)), {"sample_weight": np.ones(N + 1)}), ValueError, "sample_weight"),
    ("sample_weight-negative", lambda: ((X0, Y0, np.zeros(D)), {"sample_weight": -np.ones(N)}), ValueError, "sample_weight"),
    ("sample_weight-nan", lambda: ((X0, Y0, np.zeros(D)), {"sample_weight": _with_nan(np.ones(N))}), ValueError, "sample_weight"),
    ("X-1d", lambda: ((X0[:, 0], Y0, np.zeros(1)), {}), ValueError, r"\bX\b"),
    ("X-3d", lambda: ((X0[None], Y0, np.zeros(D)), {}), ValueError, r"\bX\b"),
    ("X-0-rows", lambda: ((np.empty((0, D)), np.empty(0), np.zeros(D)), {}), ValueError, r"\bX\b"),
    ("X-0-columns", lambda: ((np.empty((N, 0)), Y0, np.zeros(0)), {}), ValueError, r"\bX\b"),
    ("X-nan", lambda: ((_with_nan(X0), Y0, np.zeros(D)), {}), ValueError, r"\bX\b"),
    ("X-inf", lambda: ((_with_nan(X0, np.inf), Y0, np.zeros(D)), {}), ValueError, r"\bX\b"),
    ("y-nan", lambda: ((X0, _with_nan(Y0), np.zeros(D)), {}), ValueError, r"\by\b"),
    ("logistic-label-2", lambda: ((XL, YL * 2, np.zeros(D)), {"loss": "logistic"}), ValueError, r"\by\b"),
    ("logistic-label-minus1", lambda: ((XL, YL * 2 - 1, np.zeros(D)), {"loss": "logistic"}), ValueError, r"\by\b"),
    ("logistic-label-half", lambda: ((XL, _with_nan(YL, 0.5), np.zeros(D)), {"loss": "logistic"}), ValueError, r"\by\b"),
    ("l2-negative", lambda: ((X0, Y0, np.zeros(D)), {"l2": -1.0}), ValueError, "l2"),
    ("intercept-nan", lambda: ((X0, Y0, np.zeros(D), float("nan")), {}), ValueError, "intercept"),
    ("intercept-string", lambda: ((X0, Y0, np.zeros(D), "0"), {}), TypeError, "intercept"),
    ("loss-unknown", lambda: ((X0, Y0, np.zeros(D)), {"loss": "cubic"}), ValueError, r"loss.*'squared'.*'logistic'"),
    ("loss-not-a-string", lambda: ((X0, Y0, np.zeros(D)), {"loss": 0}), TypeError, "loss"),
    ("X-strings", lambda: ((X0.astype(str), Y0, np.zeros(D)), {}), TypeError, r"\bX\b"),
    ("X-complex", lambda: ((X0 + 0j, Y0, np.zeros(D)), {}), TypeError, r"\bX\b"),
    ("X-sparse-complex", lambda: ((scipy.sparse.csr_matrix(X0 + 1j), Y0, np.zeros(D)), {}), TypeError, r"\bX\b"),
    # out= is written in place: it must fit exactly, never a silent copy.
    ("out-float32-for-float64-X", lambda: ((X0, Y0, np.zeros(D)), {"out": np.empty(D, np.float32)}), TypeError, r"\bout\b"),
    ("out-float64-for-float32-X", lambda: ((X0.astype(np.float32), Y0, np.zeros(D)), {"out": np.empty(D)}), TypeError, r"\bout\b"),
    ("out-int", lambda: ((X0, Y0, np.zeros(D)), {"out": np.empty(D, np.int64)}), TypeError, r"\bout\b"),
    ("out-too-long", lambda: ((X0, Y0, np.zeros(D)), {"out": np.empty(D + 1)}), TypeError, r"\bout\b"),
    ("out-2d", lambda: ((X0, Y0, np.zeros(D)), {"out": np.empty((D, 1))}), TypeError, r"\bout\b"),
    ("out-non-contiguous", lambda: ((X0, Y0, np.zeros(D)), {"out": np.empty(2 * D)[::2]}), TypeError, r"\bout\b"),
    ("out-read-only", lambda: ((X0, Y0, np.zeros(D)), {"out": _read_only(np.empty(D))}), TypeError, r"\bout\b"),
    ("out-list", lambda: ((X0, Y0, np.zeros(D)), {"out": [0.0] * D}), TypeError, r"\bout\b"),
]


def _read_only(a):
    a.setflags(write=False)
    return a


@pytest.mark.parametrize(
    "build, exc, match", [pytest.param(b, e, m, id=i) for i, b, e, m in LOSS_GRAD_CASES]
)
def test_loss_grad_rejects(build, exc, match):
    args, kwargs = build()
    out = kwargs.get("out")
    before = out.copy() if isinstance(out, np.ndarray) else None
    with pytest.raises(exc, match=match):
        descend.loss_grad(*args, **kwargs)
    if before is not None:
        # A rejected out= is left alone (no partial write).
        np.testing.assert_array_equal(out, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_grad_writes_a_valid_out_in_place(dtype):
    X = X0.astype(dtype)
    out = np.full(D, -7.0, dtype)
    value, grad, gi = descend.loss_grad(X, Y0, np.ones(D), 0.5, out=out)
    assert grad is out
    ref_value, ref_grad, ref_gi = descend.loss_grad(X, Y0, np.ones(D), 0.5)
    assert value == ref_value and gi == ref_gi
    np.testing.assert_array_equal(out, ref_grad)


# ---------------------------------------------------------------------------
# descend.gradient_descent

GD_CASES = [
    ("y-too-short", lambda: (X0, Y0[:-1], np.zeros(D), 0.01, 10), ValueError, r"\by\b"),
    ("theta-too-short", lambda: (X0, Y0, np.zeros(D - 1), 0.01, 10), ValueError, "theta"),
    ("theta-too-long-column", lambda: (X0, Y0, np.zeros((D + 1, 1)), 0.01, 10), ValueError, "theta"),
    ("theta-nan", lambda: (X0, Y0, _with_nan(np.zeros(D)), 0.01, 10), ValueError, "theta contains NaN"),
    ("theta-inf", lambda: (X0, Y0, np.full(D, np.inf), 0.01, 10), ValueError, "theta contains NaN or infinity"),
    ("X-1d", lambda: (X0[:, 0], Y0, np.zeros(1), 0.01, 10), ValueError, r"\bX\b"),
    ("X-3d", lambda: (X0[:, :, None], Y0, np.zeros(D), 0.01, 10), ValueError, r"\bX\b"),
    ("X-0-rows", lambda: (np.empty((0, D)), np.empty(0), np.zeros(D), 0.01, 10), ValueError, r"\bX\b"),
    ("X-nan", lambda: (_with_nan(X0), Y0, np.zeros(D), 0.01, 10), ValueError, r"\bX\b"),
    ("y-nan", lambda: (X0, _with_nan(Y0), np.zeros(D), 0.01, 10), ValueError, r"\by\b"),
    ("learning_rate-zero", lambda: (X0, Y0, np.zeros(D), 0.0, 10), ValueError, "learning_rate"),
    ("learning_rate-negative", lambda: (X0, Y0, np.zeros(D), -0.01, 10), ValueError, "learning_rate"),
    ("learning_rate-nan", lambda: (X0, Y0, np.zeros(D), float("nan"), 10), ValueError, "learning_rate"),
    ("learning_rate-inf", lambda: (X0, Y0, np.zeros(D), float("inf"), 10), ValueError, "learning_rate"),
    ("learning_rate-None", lambda: (X0, Y0, np.zeros(D), None, 10), TypeError, "learning_rate"),
    ("num_iterations-negative", lambda: (X0, Y0, np.zeros(D), 0.01, -1), ValueError, "num_iterations"),
    ("num_iterations-float", lambda: (X0, Y0, np.zeros(D), 0.01, 10.0), TypeError, "num_iterations"),
    ("X-strings", lambda: (X0.astype(str), Y0, np.zeros(D), 0.01, 10), TypeError, r"\bX\b"),
    ("X-sparse-inf", lambda: (scipy.sparse.csr_matrix(_with_nan(X0, np.inf)), Y0, np.zeros(D), 0.01, 10), ValueError,
     r"\bX\b.*infinity"),
]


@pytest.mark.parametrize(
    "build, exc, match", [pytest.param(b, e, m, id=i) for i, b, e, m in GD_CASES]
)
def test_gradient_descent_rejects(build, exc, match):
    with pytest.raises(exc, match=match):
        descend.gradient_descent(*build())


@pytest.mark.parametrize(
    "args, match",
    [
        pytest.param((X0, Y0, np.zeros(D), -0.01, 0), "learning_rate", id="learning_rate-negative"),
        pytest.param((_with_nan(X0), Y0, np.zeros(D), 0.01, 0), r"\bX\b", id="X-nan"),
        pytest.param((X0, Y0, _with_nan(np.zeros(D)), 0.01, 0), "theta", id="theta-nan"),
    ],
)
def test_gradient_descent_validates_even_with_zero_iterations(args, match):
    # Bad input is bad input, whether or not any iteration would run.
    with pytest.raises(ValueError, match=match):
        descend.gradient_descent(*args)


# ---------------------------------------------------------------------------
# descend.set_num_threads


@pytest.mark.parametrize(
    "n, exc",
    [
        pytest.param(0, ValueError, id="zero"),
        pytest.param(-1, ValueError, id="negative"),
        pytest.param(2.0, TypeError, id="float"),
        pytest.param("2", TypeError, id="string"),
        pytest.param(True, TypeError, id="bool"),
    ],
)
def test_set_num_threads_rejects(n, exc, restore_threads):
    before = descend.get_num_threads()
    with pytest.raises(exc, match=r"\bn\b"):
        descend.set_num_threads(n)
    assert descend.get_num_threads() == before


# ---------------------------------------------------------------------------
# Accepted inputs and their conversions (DESIGN §4).


def _fit(X, y, **kw):
    kw.setdefault("max_iter", 20)
    kw.setdefault("tol", None)
    return descend.fit(X, y, **kw)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
@pytest.mark.parametrize(
    "dtype", [np.int64, np.int32, np.uint8, np.int8], ids=["int64", "int32", "uint8", "int8"]
)
def test_integer_X_gives_float64(dtype, method):
    rng = np.random.default_rng(1)
    Xi = rng.integers(0, 5, size=(N, D)).astype(dtype)
    y = rng.standard_normal(N)
    res = _fit(Xi, y, method=method, learning_rate=1e-3)
    assert res.coef.dtype == np.float64
    ref = _fit(Xi.astype(np.float64), y, method=method, learning_rate=1e-3)
    np.testing.assert_array_equal(res.coef, ref.coef)


def test_bool_X_gives_float64():
    rng = np.random.default_rng(2)
    Xb = rng.random((N, D)) > 0.5
    y = rng.standard_normal(N)
    res = _fit(Xb, y)
    assert res.coef.dtype == np.float64
    np.testing.assert_array_equal(res.coef, _fit(Xb.astype(np.float64), y).coef)
    value, grad, _ = descend.loss_grad(Xb, y, np.zeros(D))
    assert grad.dtype == np.float64
    theta = descend.gradient_descent(Xb, y, np.zeros(D), 0.01, 5)
    assert theta.dtype == np.float64


def test_lists_work():
    res = _fit(X0.tolist(), Y0.tolist(), coef0=[0.0] * D, sample_weight=[1.0] * N)
    ref = _fit(X0, Y0)
    np.testing.assert_array_equal(res.coef, ref.coef)
    assert res.coef.dtype == np.float64
    value, grad, gi = descend.loss_grad(X0.tolist(), Y0.tolist(), [0.5] * D)
    ref_value, ref_grad, ref_gi = descend.loss_grad(X0, Y0, np.full(D, 0.5))
    assert value == ref_value and gi == ref_gi
    np.testing.assert_array_equal(grad, ref_grad)
    theta = descend.gradient_descent(X0.tolist(), Y0.tolist(), [0.0] * D, 0.01, 5)
    np.testing.assert_array_equal(theta, descend.gradient_descent(X0, Y0, np.zeros(D), 0.01, 5))


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_float32_X_gives_float32(method):
    X32 = X0.astype(np.float32)
    res = _fit(X32, Y0, method=method, coef0=np.zeros(D), sample_weight=np.ones(N))
    assert res.coef.dtype == np.float32
    assert res.loss_history.dtype == np.float64
    value, grad, _ = descend.loss_grad(X32, Y0, np.zeros(D))
    assert grad.dtype == np.float32
    assert descend.gradient_descent(X32, Y0, np.zeros(D), 0.01, 5).dtype == np.float32


@pytest.mark.parametrize(
    "x_dtype, other",
    [
        pytest.param(np.float64, np.float32, id="X64-others32"),
        pytest.param(np.float64, np.float16, id="X64-others16"),
        pytest.param(np.float32, np.float64, id="X32-others64"),
        pytest.param(np.float64, np.int64, id="X64-others-int"),
    ],
)
def test_small_inputs_are_cast_to_X_dtype(x_dtype, other):
    X = X0.astype(x_dtype)
    rng = np.random.default_rng(3)
    y = Y0.astype(other) if other != np.int64 else np.round(Y0 * 3).astype(other)
    w = rng.integers(1, 4, N).astype(other)
    c0 = np.array([1, 0, -1], dtype=other)
    res = _fit(X, y, sample_weight=w, coef0=c0, fit_intercept=True)
    ref = _fit(
        X, y.astype(x_dtype), sample_weight=w.astype(x_dtype), coef0=c0.astype(x_dtype), fit_intercept=True
    )
    assert res.coef.dtype == np.dtype(x_dtype)
    np.testing.assert_array_equal(res.coef, ref.coef)
    assert res.intercept == ref.intercept


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(lambda X: X[:, ::2], id="every-other-column"),
        pytest.param(lambda X: X[::2], id="every-other-row"),
        pytest.param(lambda X: X[1::3, 1:], id="row-stride-and-column-slice"),
        pytest.param(lambda X: np.asfortranarray(X)[::2], id="F-order-row-stride"),
        pytest.param(lambda X: X[:, ::-1], id="reversed-columns"),
    ],
)
@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_non_contiguous_X_matches_its_contiguous_copy(view, method):
    rng = np.random.default_rng(4)
    big = rng.standard_normal((2 * N, 2 * D))
    Xv = view(big)
    assert not (Xv.flags.c_contiguous or Xv.flags.f_contiguous)
    y = rng.standard_normal(Xv.shape[0])
    res = _fit(Xv, y, method=method, fit_intercept=True)
    ref = _fit(np.ascontiguousarray(Xv), y, method=method, fit_intercept=True)
    np.testing.assert_array_equal(res.coef, ref.coef)
    np.testing.assert_array_equal(res.loss_history, ref.loss_history)
    value, grad, gi = descend.loss_grad(Xv, y, np.ones(Xv.shape[1]))
    ref_value, ref_grad, ref_gi = descend.loss_grad(np.ascontiguousarray(Xv), y, np.ones(Xv.shape[1]))
    assert (value, gi) == (ref_value, ref_gi)
    np.testing.assert_array_equal(grad, ref_grad)


def test_non_contiguous_small_inputs_work():
    rng = np.random.default_rng(5)
    y2 = rng.standard_normal(2 * N)
    w2 = rng.random(2 * N) + 0.5
    c2 = rng.standard_normal(2 * D)
    res = _fit(X0, y2[::2], sample_weight=w2[::2], coef0=c2[::2])
    ref = _fit(X0, y2[::2].copy(), sample_weight=w2[::2].copy(), coef0=c2[::2].copy())
    np.testing.assert_array_equal(res.coef, ref.coef)


def test_gradient_descent_keeps_theta_shape():
    theta = descend.gradient_descent(X0, Y0[:, None], np.zeros((D, 1)), 0.01, 5)
    assert theta.shape == (D, 1)
    flat = descend.gradient_descent(X0, Y0, np.zeros(D), 0.01, 5)
    np.testing.assert_array_equal(theta[:, 0], flat)
    same = descend.gradient_descent(X0, Y0, np.zeros(D), 0.01, 0)
    np.testing.assert_array_equal(same, np.zeros(D))


@pytest.mark.parametrize("name, X, y, w", [
    pytest.param("y", np.ones((3, 2)), np.ones(2), None, id="y"),
    pytest.param("sample_weight", np.ones((3, 2)), np.ones(3), np.ones(4), id="sample_weight"),
])
def test_length_errors_come_from_the_core(name, X, y, w):
    # One place words the length errors: the core (what a native app sees as
    # std::invalid_argument); descend.fit and loss_grad pass them on.
    with pytest.raises(ValueError) as from_python:
        descend.fit(X, y, sample_weight=w)
    with pytest.raises(ValueError) as from_loss_grad:
        descend.loss_grad(X, y, np.zeros(2), sample_weight=w)
    with pytest.raises(ValueError) as from_core:
        descend._core.fit(X, y, np.zeros(2), np.zeros(1), sample_weight=w)
    assert str(from_python.value) == str(from_core.value) == str(from_loss_grad.value)
    assert str(from_core.value).startswith(f"{name} has ")
