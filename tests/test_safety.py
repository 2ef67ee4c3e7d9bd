"""Safety of descend's entry points (DESIGN.md §2, §4, §5).

Caller's arrays are never written and never copied; callbacks, verbose
output, Ctrl-C and divergence behave as documented; the GIL is released
while the core runs; the thread default can be set and restored.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import numpy as np
import pytest

import descend

from conftest import METHODS


def _regression(seed=0, n=300, d=6, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)).astype(dtype)
    return X, y


def _classification(seed=0, n=300, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


# ---------------------------------------------------------------------------
# Nothing writes to the caller's arrays; read-only arrays are accepted.


def _snapshot(*arrays):
    return [a.tobytes() for a in arrays]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("method", METHODS)
def test_fit_never_writes_inputs(method, loss, order):
    X, y = _regression() if loss == "squared" else _classification()
    X = np.asarray(X, order=order)
    rng = np.random.default_rng(1)
    w = rng.random(len(y)) + 0.5
    c0 = rng.standard_normal(X.shape[1])
    before = _snapshot(X, y, w, c0)
    res = descend.fit(
        X, y, loss=loss, method=method, sample_weight=w, coef0=c0, fit_intercept=True,
        l2=0.01, l1=0.001, max_iter=5, tol=None, batch_size=16,
    )
    assert _snapshot(X, y, w, c0) == before
    assert not np.shares_memory(res.coef, c0)
    assert not np.array_equal(res.coef, c0)  # it did run


@pytest.mark.parametrize("method", METHODS)
def test_fit_never_writes_float32_inputs_with_float64_extras(method):
    X, y = _regression(dtype=np.float32)
    w = np.ones(len(y))
    c0 = np.full(X.shape[1], 0.25)
    before = _snapshot(X, y, w, c0)
    descend.fit(X, y, method=method, sample_weight=w, coef0=c0, max_iter=3, tol=None)
    assert _snapshot(X, y, w, c0) == before


def test_loss_grad_and_gradient_descent_never_write_inputs():
    X, y = _regression()
    w = np.linspace(0.5, 2.0, len(y))
    coef = np.linspace(-1, 1, X.shape[1])
    theta = coef.copy()
    before = _snapshot(X, y, w, coef, theta)
    descend.loss_grad(X, y, coef, 0.3, sample_weight=w, l2=0.1)
    out = descend.gradient_descent(X, y, theta, 0.01, 10)
    assert _snapshot(X, y, w, coef, theta) == before
    assert not np.shares_memory(out, theta)


def _read_only(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("method", METHODS)
def test_read_only_inputs_are_accepted(method, order):
    X, y = _regression()
    X = np.array(X, order=order)
    w = np.linspace(0.5, 2.0, len(y))
    c0 = np.full(X.shape[1], 0.1)
    ref = descend.fit(X.copy(order=order), y.copy(), method=method, sample_weight=w.copy(), coef0=c0.copy(),
                      fit_intercept=True, max_iter=5, tol=None)
    _read_only(X, y, w, c0)
    res = descend.fit(X, y, method=method, sample_weight=w, coef0=c0, fit_intercept=True, max_iter=5, tol=None)
    np.testing.assert_array_equal(res.coef, ref.coef)
    assert res.coef.flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_mapped_and_unpickled_arrays_are_accepted(dtype, tmp_path):
    # Their dtype equals float32/float64 but is not NumPy's own descriptor object.
    import pickle

    X, y = _regression(dtype=dtype)
    ref = descend.fit(X, y, max_iter=5, tol=None)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    unpickled = pickle.loads(pickle.dumps(X))
    for X_other in (mapped, unpickled):
        np.testing.assert_array_equal(descend.fit(X_other, y, max_iter=5, tol=None).coef, ref.coef)
        np.testing.assert_array_equal(descend.loss_grad(X_other, y, ref.coef)[1], descend.loss_grad(X, y, ref.coef)[1])
    del mapped


def test_read_only_inputs_loss_grad_and_gradient_descent():
    X, y = _regression()
    w = np.linspace(0.5, 2.0, len(y))
    coef = np.full(X.shape[1], 0.1)
    ref = descend.loss_grad(X.copy(), y.copy(), coef.copy(), sample_weight=w.copy())
    ref_theta = descend.gradient_descent(X.copy(), y.copy(), coef.copy(), 0.01, 5)
    _read_only(X, y, w, coef)
    value, grad, gi = descend.loss_grad(X, y, coef, sample_weight=w)
    assert (value, gi) == (ref[0], ref[2])
    np.testing.assert_array_equal(grad, ref[1])
    np.testing.assert_array_equal(descend.gradient_descent(X, y, coef, 0.01, 5), ref_theta)


# ---------------------------------------------------------------------------
# No copy of X: C- and F-order float64 X are used in place.

BIG_N, BIG_D = 200_000, 50


@pytest.fixture(scope="module")
def big_data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((BIG_N, BIG_D))
    y = X[:, :5].sum(axis=1) + rng.standard_normal(BIG_N)
    return X, y


def _traced_peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("order", ["C", "F"])
def test_no_copy_of_X(big_data, order):
    X, y = big_data
    X = X if order == "C" else np.asfortranarray(X)
    assert X.flags.c_contiguous if order == "C" else X.flags.f_contiguous
    limit = 0.10 * X.nbytes
    calls = [
        ("fit-batch", lambda: descend.fit(X, y, max_iter=3, tol=None, learning_rate=1e-3)),
        ("fit-batch-callback", lambda: descend.fit(X, y, max_iter=2, tol=None, callback=lambda s: None)),
        ("fit-sgd", lambda: descend.fit(X, y, method="sgd", max_iter=1, tol=None, learning_rate=1e-4)),
        ("fit-minibatch", lambda: descend.fit(X, y, method="minibatch", batch_size=256, max_iter=1, tol=None)),
        ("loss_grad", lambda: descend.loss_grad(X, y, np.zeros(BIG_D))),
        ("gradient_descent", lambda: descend.gradient_descent(X, y, np.zeros(BIG_D), 1e-3, 2)),
    ]
    peaks = {name: _traced_peak(call) for name, call in calls}
    too_big = {name: peak for name, peak in peaks.items() if peak >= limit}
    assert not too_big, f"traced peaks (bytes) of {too_big} reach 10% of X.nbytes={X.nbytes}"


# ---------------------------------------------------------------------------
# Callbacks.


@pytest.mark.parametrize("method", METHODS)
def test_callback_sees_every_iteration(method):
    X, y = _regression()
    states = []
    res = descend.fit(X, y, method=method, max_iter=6, tol=None, fit_intercept=True, callback=states.append)
    assert all(isinstance(s, descend.IterationState) for s in states)
    assert [s.iteration for s in states] == list(range(1, res.n_iter + 1)) == [1, 2, 3, 4, 5, 6]
    assert [s.objective for s in states] == list(res.loss_history)
    for s in states:
        assert isinstance(s.coef, np.ndarray) and s.coef.shape == (X.shape[1],) and s.coef.dtype == X.dtype
        assert np.isfinite(s.grad_norm) and isinstance(s.intercept, float)
    # Each state holds its own copy: the coefficients move between calls.
    assert not any(np.shares_memory(a.coef, b.coef) for a, b in zip(states, states[1:]))
    assert not np.array_equal(states[0].coef, states[-1].coef)
    assert states[-1].grad_norm == res.grad_norm


@pytest.mark.parametrize("method", METHODS)
def test_callback_coef_is_a_copy(method):
    X, y = _regression()
    ref = descend.fit(X, y, method=method, max_iter=8, tol=None, fit_intercept=True)

    def vandal(state):
        state.coef[:] = 1e6

    res = descend.fit(X, y, method=method, max_iter=8, tol=None, fit_intercept=True, callback=vandal)
    np.testing.assert_array_equal(res.coef, ref.coef)
    assert res.intercept == ref.intercept
    np.testing.assert_array_equal(res.loss_history, ref.loss_history)


@pytest.mark.parametrize("stop_at", [1, 3])
@pytest.mark.parametrize("method", METHODS)
def test_callback_returning_true_stops(method, stop_at):
    X, y = _regression()
    states = []

    def cb(state):
        states.append(state)
        return state.iteration == stop_at

    res = descend.fit(X, y, method=method, max_iter=100, tol=None, callback=cb)
    assert res.status == "callback"
    assert res.converged is False
    assert res.n_iter == stop_at == len(res.loss_history) == len(states)
    assert "callback" in res.message
    # The result is the point the last callback saw.
    np.testing.assert_array_equal(res.coef, states[-1].coef)


@pytest.mark.parametrize("method", METHODS)
def test_callback_returning_falsy_does_not_stop(method):
    X, y = _regression()
    res = descend.fit(X, y, method=method, max_iter=4, tol=None, callback=lambda s: 0)
    assert res.status == "max_iter" and res.n_iter == 4


class _Boom(Exception):
    pass


@pytest.mark.parametrize("method", METHODS)
def test_callback_exception_propagates(method):
    X, y = _regression()
    c0 = np.zeros(X.shape[1])
    calls = []

    def cb(state):
        calls.append(state.iteration)
        if state.iteration == 3:
            raise _Boom("stop right there")

    with pytest.raises(_Boom, match="stop right there"):
        descend.fit(X, y, method=method, max_iter=100, tol=None, coef0=c0, callback=cb)
    assert calls == [1, 2, 3]
    assert not c0.any()
    # The interpreter is in a sane state afterwards.
    assert descend.fit(X, y, method=method, max_iter=2, tol=None).n_iter == 2


def test_callback_keyboard_interrupt_propagates():
    X, y = _regression()

    def cb(state):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        descend.fit(X, y, callback=cb)


# ---------------------------------------------------------------------------
# Divergence.


def test_divergence_error_is_a_runtime_error():
    assert issubclass(descend.DivergenceError, RuntimeError)


@pytest.mark.parametrize(
    "method, lr",
    [
        pytest.param("batch", 10.0, id="batch"),
        pytest.param("sgd", 10.0, id="sgd"),
        pytest.param("minibatch", 10.0, id="minibatch"),
        pytest.param("batch", 1e6, id="batch-huge"),
    ],
)
def test_too_large_learning_rate_raises_divergence(method, lr):
    X, y = _regression()
    with pytest.raises(descend.DivergenceError, match="learning_rate") as info:
        descend.fit(X, y, method=method, learning_rate=lr, max_iter=1000)
    msg = str(info.value)
    assert "smaller" in msg
    named = re.search(r"learning_rate\s*=\s*([-+0-9.eE]+)", msg)
    assert named and float(named.group(1)) == lr, msg


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_descent_with_huge_learning_rate_raises(dtype):
    X, y = _regression(dtype=dtype)
    with pytest.raises(descend.DivergenceError, match="learning_rate"):
        descend.gradient_descent(X, y, np.zeros(X.shape[1]), 1e3, 10_000)


def test_gradient_descent_never_returns_nan():
    X, y = _regression()
    for lr in [1e-3, 0.1, 1.0, 10.0, 1e8]:
        try:
            theta = descend.gradient_descent(X, y, np.zeros(X.shape[1]), lr, 500)
        except descend.DivergenceError:
            continue
        assert np.all(np.isfinite(theta)), lr


# ---------------------------------------------------------------------------
# Ctrl-C in a long run: a fit sized to take ~10 s stops within 0.5 s with
# KeyboardInterrupt and leaves no thread behind (RELIABILITY.md). The
# child prints the moment it caught the interrupt (time.monotonic is the
# system-wide CLOCK_MONOTONIC on Linux, so comparable with the parent's)
# and its Python and OS thread counts against those after a short fit of
# the same kind (OpenMP's worker pool, kept between fits, already there).

_CHILD = textwrap.dedent(
    """
    import os
    import threading
    import time
    import numpy as np
    import descend

    def os_threads():
        return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50))
    y = X @ rng.standard_normal(50)
    kw = dict(method={method!r}, learning_rate=1e-4, tol=None)
    n = 2
    while True:  # as many iterations as take ~10 s
        t0 = time.perf_counter()
        descend.fit(X, y, max_iter=n, **kw)
        took = time.perf_counter() - t0
        if took >= 0.2:
            break
        n *= 2
    max_iter = int(n * 10.0 / took)
    threads = (threading.active_count(), os_threads())
    print("ready", max_iter, flush=True)
    try:
        descend.fit(X, y, max_iter=max_iter, **kw)
    except KeyboardInterrupt:
        caught = time.monotonic()
        print("caught", caught, threading.active_count() - threads[0], os_threads() - threads[1], flush=True)
        raise
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_ctrl_c_interrupts_a_long_fit(method):
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(method=method)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    watchdog = threading.Timer(180, proc.kill)  # the test never hangs
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:  # importing descend may rebuild it first
            lines.append(line)
            if line.startswith("ready"):
                break
        assert lines and lines[-1].startswith("ready"), "".join(lines) + proc.stderr.read()
        time.sleep(0.3)
        assert proc.poll() is None, "the fit ended by itself"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the child ignored SIGINT for 10 s")
        elapsed = time.monotonic() - sent
        stdout, stderr = proc.communicate(timeout=10)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KeyboardInterrupt" in stderr, stderr
    assert "finished" not in stdout
    assert proc.returncode != 0
    caught = [line.split() for line in stdout.splitlines() if line.startswith("caught")]
    assert caught, stdout + stderr
    _, at, extra_python_threads, extra_os_threads = caught[0]
    latency = float(at) - sent
    print(f"Ctrl-C: KeyboardInterrupt {latency * 1e3:.0f} ms after SIGINT (exit after {elapsed * 1e3:.0f} ms)")
    assert latency < 0.5, f"Ctrl-C took {latency:.2f} s to stop the fit"
    assert elapsed < 2.0, f"the interrupted child took {elapsed:.2f} s to exit"
    assert extra_python_threads == "0", f"{extra_python_threads} more Python threads after the interrupt"
    if sys.platform.startswith("linux"):
        assert extra_os_threads == "0", f"{extra_os_threads} more OS threads after the interrupt"


# ---------------------------------------------------------------------------
# The GIL is released while the core runs.


def test_gil_released_during_fit():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((20000, 50))
    y = X @ rng.standard_normal(50)
    # Streaming: every iteration a pass over X (the Gram path would make the
    # run too short to measure).
    kw = dict(learning_rate=1e-4, tol=None, n_threads=1, precompute=False)

    t0 = time.perf_counter()
    descend.fit(X, y, max_iter=20, **kw)
    per_iter = (time.perf_counter() - t0) / 20
    max_iter = max(50, int(1.5 / max(per_iter, 1e-6)))  # about 1.5 s of work

    started = threading.Event()
    box = {}

    def work():
        started.set()
        box["res"] = descend.fit(X, y, max_iter=max_iter, **kw)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    started.wait()
    time.sleep(0.05)
    count = 0
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        count += 1
    still_running = thread.is_alive()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert box["res"].n_iter == max_iter
    assert still_running, "the fit finished before the measurement: calibrate a longer run"
    assert count > 1000, f"the main thread ran only {count} loop iterations in 0.3 s"


def test_gil_released_during_loss_grad():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((100_000, 50))
    y = rng.standard_normal(100_000)
    coef = np.zeros(50)
    stop = threading.Event()
    n_calls = [0]

    def work():
        while not stop.is_set():
            descend.loss_grad(X, y, coef)
            n_calls[0] += 1

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    time.sleep(0.05)
    count = 0
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        count += 1
    stop.set()
    thread.join(timeout=30)
    assert n_calls[0] > 0
    assert count > 1000


# ---------------------------------------------------------------------------
# verbose=True


@pytest.mark.parametrize("method, unit", [("batch", "iteration"), ("sgd", "epoch"), ("minibatch", "epoch")])
def test_verbose_prints_progress_and_the_stop_message(method, unit, capsys):
    X, y = _regression()
    res = descend.fit(X, y, method=method, max_iter=5, tol=None, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 2
    progress = lines[:-1]
    assert all("objective" in line for line in progress)
    assert unit in progress[0]
    shown = re.search(r"objective\s+([-+0-9.eEinfa]+)", progress[0])
    assert shown, progress[0]
    assert float(shown.group(1)) == pytest.approx(res.loss_history[0], rel=1e-6)
    assert res.message in lines[-1]
    assert "max_iter" in lines[-1]


def test_verbose_false_prints_nothing(capsys):
    X, y = _regression()
    descend.fit(X, y, max_iter=5, tol=None)
    descend.fit(X, y, method="sgd", max_iter=2, tol=None, callback=lambda s: None)
    assert capsys.readouterr().out == ""


def test_verbose_with_callback_stop(capsys):
    X, y = _regression()
    res = descend.fit(X, y, max_iter=100, tol=None, verbose=True, callback=lambda s: s.iteration == 2)
    out = capsys.readouterr().out
    assert res.status == "callback"
    assert out.strip().splitlines()[-1].endswith(res.message)


# ---------------------------------------------------------------------------
# Thread count default.


def test_set_num_threads_roundtrip(restore_threads):
    descend.set_num_threads(1)
    assert descend.get_num_threads() == 1
    descend.set_num_threads(2)
    assert descend.get_num_threads() == 2
    descend.set_num_threads(None)
    default = descend.get_num_threads()
    assert isinstance(default, int) and default >= 1


def test_set_num_threads_does_not_change_results(restore_threads):
    X, y = _regression(n=5000, d=20)
    descend.set_num_threads(1)
    one = descend.fit(X, y, max_iter=20, tol=None)
    descend.set_num_threads(None)
    all_cores = descend.fit(X, y, max_iter=20, tol=None)
    np.testing.assert_array_equal(one.coef, all_cores.coef)
    np.testing.assert_array_equal(one.loss_history, all_cores.loss_history)
