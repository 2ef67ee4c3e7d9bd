"""Resources (issue 17, RELIABILITY.md): no memory growth over many calls
(resident set and live Python objects), Python threads fitting at once
give the sequential results bit for bit, and X beyond 2**31 elements fits.

Ctrl-C (a long fit stops within 0.5 s with KeyboardInterrupt and leaves no
thread behind) is tests/test_safety.py's test_ctrl_c_interrupts_a_long_fit.

The > 2**31-element test needs ~17 GB of memory and a minute or more: it is
marked ``slow`` and runs only with DESCEND_SLOW=1 (tools/reliability.sh
sets it).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

import descend
from descend import optim

# ---------------------------------------------------------------------------
# Memory: RSS after 10,000 calls of each entry point, after a warm-up.

CALLS = 10_000
WARM_UP = 1_000
GROWTH_LIMIT = 1 << 20  # bytes


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _small_problem():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((16, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(16)
    return X, y


def _fit_calls():
    X, y = _small_problem()
    return lambda: descend.fit(X, y, fit_intercept=True, max_iter=3, tol=None, learning_rate=0.05)


def _loss_grad_calls():
    X, y = _small_problem()
    coef = np.full(3, 0.1)
    return lambda: descend.loss_grad(X, y, coef, 0.2, l2=0.01)


def _adam_calls():
    params = np.zeros(8)
    grad = np.linspace(-1.0, 1.0, 8)
    opt = optim.Adam(params, lr=1e-3)
    return lambda: opt.step(grad)


def _minimize_calls():
    target = np.array([1.0, -1.0, 2.0])

    def f(x):
        r = x - target
        return float(r @ r), 2.0 * r

    x0 = np.zeros(3)
    return lambda: descend.minimize(f, x0, method="adam", learning_rate=0.1, max_iter=3)


# tools/asan_pytest.sh preloads ASan, whose quarantine keeps freed memory
# resident (up to 256 MB): RSS says nothing there. LeakSanitizer checks the
# core's C++ tests instead (tools/sanitized_ctest.sh).
_UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the resident set from /proc/self/statm (Linux only)")
@pytest.mark.skipif(_UNDER_ASAN, reason="under ASan (LD_PRELOAD) freed memory stays resident in its quarantine; "
                    "run without the sanitizer for the RSS check")
@pytest.mark.parametrize("make_call", [_fit_calls, _loss_grad_calls, _adam_calls, _minimize_calls],
                         ids=["fit", "loss_grad", "Adam.step", "minimize"])
def test_no_memory_growth_over_many_calls(make_call):
    call = make_call()
    for _ in range(WARM_UP):
        call()
    gc.collect()
    before, blocks_before = _rss(), sys.getallocatedblocks()
    for _ in range(CALLS):
        call()
    gc.collect()
    growth, blocks = _rss() - before, sys.getallocatedblocks() - blocks_before
    print(f"RSS growth over {CALLS} calls: {growth / 2**20:+.3f} MiB, Python blocks {blocks:+d}")
    assert growth < GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.2f} MiB over {CALLS} calls (limit 1 MiB)"
    # A leaked reference to any Python object (a float, a result) is too
    # small for RSS to show at 10,000 calls; the count of live blocks is not.
    assert blocks < CALLS // 100, f"{blocks} more Python objects alive after {CALLS} calls"


# ---------------------------------------------------------------------------
# Four Python threads fitting at once: each gets the bits of the same fit
# run alone (the core keeps no state between calls, and every kernel
# releases the GIL, so the runs really overlap).


def _thread_cases():
    """Four problems and option sets, each ~0.05-0.2 s alone on 2 idle cores."""
    rng = np.random.default_rng(21)
    X1 = rng.standard_normal((20_000, 20))
    y1 = X1 @ rng.standard_normal(20) + 0.1 * rng.standard_normal(20_000)
    X2 = rng.standard_normal((20_000, 15)).astype(np.float32)
    y2 = (X2 @ rng.standard_normal(15).astype(np.float32) > 0).astype(np.float32)
    X3 = sp.random(40_000, 50, density=0.05, format="csr", random_state=np.random.RandomState(5))
    y3 = X3 @ rng.standard_normal(50) + 0.05 * rng.standard_normal(40_000)
    X4 = np.asfortranarray(rng.standard_normal((20_000, 12)))
    y4 = rng.integers(0, 3, 20_000).astype(np.float64)
    return [
        (X1, y1, dict(method="batch", max_iter=100, tol=None, learning_rate="auto", fit_intercept=True,
                      precompute=False, n_threads=2)),
        (X2, y2, dict(loss="logistic", method="sgd", max_iter=30, tol=None, learning_rate=0.01, l2=1e-3,
                      seed=4, n_threads=1)),
        (X3, y3, dict(method="minibatch", batch_size=64, optimizer="adam", max_iter=20, tol=None,
                      learning_rate=0.01, l1=1e-4, seed=7, average=True)),
        (X4, y4, dict(loss="softmax", method="minibatch", batch_size=500, optimizer="momentum", max_iter=10,
                      tol=None, learning_rate=0.05, seed=9, n_threads=2)),
    ]


def _outcome(res):
    return (res.coef.tobytes(), np.asarray(res.intercept).tobytes(), np.asarray(res.loss_history).tobytes(),
            res.n_iter, res.status)


def test_four_threads_fitting_at_once_match_the_sequential_bits():
    cases = _thread_cases()
    alone = [_outcome(descend.fit(X, y, **kw)) for X, y, kw in cases]
    barrier = threading.Barrier(len(cases))

    def run(case):
        X, y, kw = case
        barrier.wait()  # all four start together
        start = time.perf_counter()
        out = _outcome(descend.fit(X, y, **kw))
        return out, start, time.perf_counter()

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        for _ in range(2):
            runs = list(pool.map(run, cases))
            for i, (a, (b, _, _)) in enumerate(zip(alone, runs)):
                assert a == b, f"case {i} ({cases[i][2]}) differs when fitted alongside the others"
    # The fits did run at the same time: the first to end ended after the last one started.
    overlap = min(end for _, _, end in runs) - max(start for _, start, _ in runs)
    print(f"four threads: {len(cases)} fits at once, bitwise the sequential results; all four ran together "
          f"for {overlap * 1e3:.0f} ms")
    assert overlap > 0


# ---------------------------------------------------------------------------
# X above 2**31 elements: 64-bit indexing everywhere.

BIG_ROWS, BIG_COLS = 2**26 + 1, 32  # 2**31 + 32 float32 elements, 8.6 GB
_SLOW = os.environ.get("DESCEND_SLOW") == "1"


def _mem_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
@pytest.mark.skipif(not _SLOW, reason="needs ~17 GB of memory and a minute or more: "
                    "run with DESCEND_SLOW=1 (tools/reliability.sh does)")
def test_float32_X_beyond_2_to_the_31_elements_fits():
    nbytes = BIG_ROWS * BIG_COLS * 4
    available = _mem_available()
    if available < 2 * nbytes:
        pytest.skip(f"needs ~{2 * nbytes / 1e9:.1f} GB available for a {nbytes / 1e9:.1f} GB X; "
                    f"MemAvailable is {available / 1e9:.1f} GB (Linux /proc/meminfo)")
    assert BIG_ROWS * BIG_COLS > 2**31
    X = np.empty((BIG_ROWS, BIG_COLS), dtype=np.float32)
    rng = np.random.default_rng(17)
    step = 1 << 20
    for start in range(0, BIG_ROWS, step):
        rng.random(out=X[start:start + step], dtype=np.float32)
    X -= np.float32(0.5)
    truth = np.linspace(-1.0, 1.0, BIG_COLS).astype(np.float32)
    y = X @ truth
    # The last row is what an index wrapped at 2**31 would miss: make it stand out.
    X[-1] = 4.0
    y[-1] = -50.0
    h = BIG_ROWS // 2  # each half below 2**31 elements

    # The gradient at 0 over all rows against the weighted halves.
    zero = np.zeros(BIG_COLS, dtype=np.float32)
    seconds = {}
    t0 = time.perf_counter()
    value, grad, _ = descend.loss_grad(X, y, zero)
    seconds["loss_grad"] = time.perf_counter() - t0
    v1, g1, _ = descend.loss_grad(X[:h], y[:h], zero)
    v2, g2, _ = descend.loss_grad(X[h:], y[h:], zero)
    expected = (h * np.asarray(g1, np.float64) + (BIG_ROWS - h) * np.asarray(g2, np.float64)) / BIG_ROWS
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
    assert value == pytest.approx((h * v1 + (BIG_ROWS - h) * v2) / BIG_ROWS, rel=1e-4)

    # One batch step from 0 is -learning_rate * that gradient, streamed and by the Gram path.
    for precompute in (False, True):
        t0 = time.perf_counter()
        res = descend.fit(X, y, max_iter=1, tol=None, learning_rate=0.1, precompute=precompute)
        seconds[f"fit(max_iter=1, precompute={precompute})"] = time.perf_counter() - t0
        assert res.n_iter == 1 and np.all(np.isfinite(res.coef))
        np.testing.assert_allclose(res.coef, -0.1 * expected, rtol=1e-4, atol=1e-6, err_msg=f"{precompute=}")
    # And a fit of 30 iterations with the step from Lanczos passes over X.
    t0 = time.perf_counter()
    res = descend.fit(X, y, max_iter=30, tol=None, learning_rate="auto")
    seconds["fit(max_iter=30, learning_rate='auto')"] = time.perf_counter() - t0
    assert np.all(np.isfinite(res.coef))
    assert res.loss_history[-1] < res.loss_history[0]
    print(f"X of {BIG_ROWS} x {BIG_COLS} float32 ({nbytes / 1e9:.1f} GB): "
          + ", ".join(f"{name} {t:.1f} s" for name, t in seconds.items()))
