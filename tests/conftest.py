"""Scaffolding shared by the test modules: seeds, the thread-count fixture,
the names of the methods, update rules and losses, and the loss_grad
problems and comparisons that test_kernels.py and test_losses.py share.

Modules import the helpers with ``from conftest import ...`` (pytest puts
this directory on sys.path: rootdir-less "prepend" import mode, no
__init__.py here), which also works when the suite runs from outside the
source tree (``python -m pytest /path/to/repo/tests``).
"""

from __future__ import annotations

import contextvars
import math
import os
import threading
import zlib

# scikit-learn's estimator checks skip their array-API check (NumPy
# inputs with array-API dispatch on) unless SciPy's array API support is
# switched on before SciPy is first imported; switch it on so that check
# runs for descend's estimators too.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402  (SciPy only after that)
import pytest  # noqa: E402
import scipy.special  # noqa: E402

# descend is imported where it is used, so that a module that does not need
# it (test_cpp.py) still runs when the extension does not import.

# The three kinds of gradient descent, the update rules and the losses
# (DESIGN.md §2): the tests' own statement of them, written once here;
# test_one_owner.py checks that the core's lists (descend._core.METHODS,
# OPTIMIZERS, LOSSES) say the same, so a rule cannot drop out of the core
# and silently out of the parametrised tests with it.
METHODS = ("batch", "sgd", "minibatch")
OPTIMIZERS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
# The rules of descend.fit's batch loop alone (no elementwise step: not in
# descend.optim, nor for sgd/minibatch); the core lists them after OPTIMIZERS.
BATCH_ONLY_OPTIMIZERS = ("lbfgs",)
LOSSES = ("squared", "logistic", "hinge", "huber", "softmax")


def seed_of(*parts) -> int:
    """A fixed seed per test case (hash() of a str changes between runs)."""
    return zlib.crc32(repr(parts).encode())


def coarse(a, bits=30):
    """a rounded to `bits` significant bits: data built with BLAS or LAPACK
    (whose last bits depend on the CPU and the library's kernels) is then
    the same on every machine, except where a value lies within a few ulps
    of a rounding boundary of the grid (a chance of about 2**(bits - 52)
    per value). For test data whose bits decide a verdict."""
    mantissa, exponent = np.frexp(np.asarray(a, dtype=np.float64))
    return np.ldexp(np.round(np.ldexp(mantissa, bits)), exponent - bits)


@pytest.fixture
def restore_threads():
    """For tests that call descend.set_num_threads: afterwards the process
    default is back (set_num_threads(None): all cores), the state every
    test starts in. Restoring a saved get_num_threads() instead would pin
    the count to a number, which is not the default state."""
    import descend

    yield
    descend.set_num_threads(None)


# ---------------------------------------------------------------------------
# descend.loss_grad problems and comparisons, shared by test_kernels.py (the
# fused kernel) and test_losses.py (what each loss computes).

# The two losses linear_problem builds; the three hinge_huber_softmax_problem builds.
SQUARED_LOGISTIC = LOSSES[:2]

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

# Gradient tolerance of the kernel against float64 sums (assert_close_to_scale):
# double for float64 data, rounded to float32 for float32 data.
GRAD_RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}

# Relative tolerance of assert_norm_close: float32 gradients come back
# rounded to float32, so ~1e-5 of the norm.
NORM_RTOL = {np.float32: 1e-5, np.float64: 1e-12}



def linear_problem(loss, shape, *, dtype=np.float64, order="C", weights=False, seed=0):
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



def sum_scales(loss, X, y, coef, intercept, w, l2):
    """Bounds of the sums' magnitudes: value, per-entry gradient, intercept."""
    from descend import reference

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



def assert_close_to_scale(actual, expected, scale, rtol, what):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = np.asarray(scale, np.float64)
    assert np.all(np.isfinite(actual)), f"{what}: not finite: {actual}"
    err = np.abs(actual - expected)
    bound = rtol * (np.abs(expected) + scale) + 1e-300
    worst = np.max(err / bound)
    assert worst <= 1.0, f"{what}: error {np.max(err):.3e} is {worst:.3g} x the bound (rtol {rtol:g})"



def kwargs_of(loss, delta):
    return {"loss": loss} if delta is None else {"loss": loss, "delta": delta}



def hinge_huber_softmax_problem(rng, loss, k, shape, dtype, order):
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



# ---------------------------------------------------------------------------
# Known-answer problems: tests/data/known_answers.txt, read by the C++ tests
# too (cpp/tests/testing.hpp). Found next to this file, so an installed
# wheel tested with `python -m pytest /path/to/repo/tests` reads it as well.

KNOWN_ANSWERS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "known_answers.txt")


def _read_known_answers(path=KNOWN_ANSWERS_PATH):
    entries = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                assert fields[0] not in entries, f"{fields[0]} defined twice in {path}"
                entries[fields[0]] = np.array([float(v) for v in fields[1:]])
    return entries


_KNOWN_ANSWERS = _read_known_answers()


def known_answer(name):
    """The numbers of `name` (e.g. "rosenbrock.x0") as a new float64 array."""
    return _KNOWN_ANSWERS[name].copy()


def known_scalar(name):
    (value,) = _KNOWN_ANSWERS[name]
    return float(value)


def textbook_problem():
    """X (3 x 2), y, theta0, learning_rate, num_iterations of the textbook example."""
    return (known_answer("textbook.X").reshape(-1, 2), known_answer("textbook.y"), known_answer("textbook.theta0"),
            known_scalar("textbook.learning_rate"), int(known_scalar("textbook.num_iterations")))


def rosenbrock(x):
    """f and its gradient; the minimum 0 is at known_answer("rosenbrock.x_star") = (1, 1)."""
    f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    return f, g


def ill_conditioned_quadratic():
    """A, b, the eigenvalues of A (ascending) and x* = A^-1 b, built as the
    data file describes (the C++ tests build the same)."""
    u = known_answer("ill_conditioned.u")
    b = known_answer("ill_conditioned.b")
    d = len(u)
    eigenvalues = known_scalar("ill_conditioned.cond") ** (np.arange(d) / (d - 1))
    Q = np.eye(d) - 2 * np.outer(u, u) / (u @ u)
    A = (Q * eigenvalues) @ Q
    A = (A + A.T) / 2
    x_star = Q @ ((Q @ b) / eigenvalues)
    return A, b, eigenvalues, x_star


# ---------------------------------------------------------------------------
# A call that must not hang (test_dask.py, test_fuzz.py).


def within(seconds, f, *args, **kwargs):
    """f(*args, **kwargs) in a thread (same context vars), joined for `seconds`:
    its result or its exception; a test failure, not a hang, if it runs on."""
    outcome = {}
    context = contextvars.copy_context()

    def run():
        try:
            outcome["result"] = context.run(f, *args, **kwargs)
        except BaseException as e:  # handed to the caller
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{getattr(f, '__name__', f)} did not finish within {seconds} s (a hang)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# ---------------------------------------------------------------------------
# Hypothesis profiles (tests/test_fuzz.py's budget; test_kernels.py sets its
# own example count). "default" is the normal run: few examples per test,
# derandomized so that CI sees the same examples every run, and no example
# database written. "long" is the deeper search, fresh examples every run:
# `python -m pytest tests/test_fuzz.py --hypothesis-profile=long` (the
# hypothesis plugin's option) or HYPOTHESIS_PROFILE=long in the environment.
from hypothesis import HealthCheck, settings  # noqa: E402

_SLOW_INPUTS = [HealthCheck.too_slow, HealthCheck.data_too_large]
# "long" inherits Hypothesis' own defaults (random examples, the example
# database), not those of the "default" registered next, which replaces them.
settings.register_profile("long", parent=settings.get_profile("default"), max_examples=2000, deadline=None,
                          derandomize=False, suppress_health_check=_SLOW_INPUTS, print_blob=True)
settings.register_profile("default", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SLOW_INPUTS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="module")
def dask_client():
    """A real distributed.LocalCluster of two worker processes and its client
    (the default one while it is open), one per test module that asks."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(2)
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


# The C++ tests' build (cpp_build.py) starts in the background when
# test_cpp.py's tests are among those collected, in one process (the first
# pytest-xdist worker, or the only process): it compiles on a core while
# the Python tests run, instead of when test_cpp.py's turn comes (about 3
# of CI's minutes). test_cpp.py's fixture then waits for it on its lock.
_CPP_BUILD: dict = {}


def pytest_collection_finish(session):
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        return
    if any(item.nodeid.split("::")[0].endswith("test_cpp.py") for item in session.items):
        from cpp_build import start_in_background

        _CPP_BUILD["process"] = start_in_background()


def pytest_unconfigure(config):
    process = _CPP_BUILD.pop("process", None)
    if process is not None:
        process.wait()
