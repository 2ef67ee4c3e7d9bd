"""The benchmark suite: ``python -m descend bench`` (or ``python benchmarks/run.py``).

Every workload runs in one process, side by side: descend, the NumPy
reference (:mod:`descend.reference`), scikit-learn and PyTorch when they
are installed, and this machine's memory floor for the workload's access
pattern, measured by the core's own probes (``_core.probe_read``: one
streaming read of X; ``_core.probe_update``: Adam's read-4/write-3 pass),
built with the same compiler flags and threads as the kernels.

Each contender is timed over >= 5 runs after a warm-up (W0, W2 and W3,
whose headline is a ratio between contenders: in four alternating blocks,
so a slow spell of a shared machine falls on all of them; W0, whose call
takes microseconds, as runs of 20 back-to-back calls); the table shows
the median with min/max, the ratio to descend's median (> 1: slower than
descend) and to the floor (>= 1; 1 is the memory system's limit), and the
final objective where the workload has one. ``--json`` writes the raw
numbers. ``--quick`` shrinks every size for a smoke run; nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional

import numpy as np

from . import _core, reference
from ._defaults import DEFAULT_L2
from ._fit import fit, gradient_descent
from ._threads import get_num_threads
from .optim import Adam


@dataclass
class Row:
    """One contender's timings on one workload."""

    workload: str
    contender: str
    unit: str
    seconds: List[float] = field(repr=False)
    objective: Optional[float] = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Config:
    quick: bool
    repeats: int

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


# Seconds to wait before timing a contender: BLAS and OpenMP worker threads
# of the previous contender (NumPy's OpenBLAS, PyTorch) keep spinning for a
# while after their last call and would take a core from the next one.
SETTLE = 0.3


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> List[float]:
    """Wall times of `repeats` calls of fn after `warmup` untimed ones."""
    time.sleep(SETTLE)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def alternated(fns: List[Callable[[], object]], repeats: int, blocks: int = 4) -> List[List[float]]:
    """timed() of each of fns in turn, in `blocks` blocks of repeats / blocks runs each.

    For contenders of a few milliseconds: a slow spell of a shared machine
    (seconds long, up to 2x on the VM of RESULTS.md) then falls on every
    contender alike rather than on whichever was being timed. Each block
    still starts after timed()'s pause: calls interleaved one by one would
    time each contender beside the previous one's spinning BLAS threads.
    """
    per_block = -(-repeats // blocks)  # at least `repeats` runs in all
    times: List[List[float]] = [[] for _ in fns]
    for _ in range(blocks):
        for fn, out in zip(fns, times):
            out.extend(timed(fn, per_block))
    return times


def optional(module: str):
    """The module if it can be imported, else None (a peer that is not installed)."""
    try:
        return __import__(module)
    except ImportError:
        return None


def log_loss(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float = 0.0) -> float:
    p = X.astype(np.float64) @ np.asarray(coef, np.float64).ravel() + intercept
    return float(np.mean(np.logaddexp(0.0, p) - y * p))


def mse(X: np.ndarray, y: np.ndarray, coef: np.ndarray) -> float:
    r = X.astype(np.float64) @ np.asarray(coef, np.float64).ravel() - y
    return float(np.mean(r * r))


def regression_data(n: int, d: int, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X @ rng.standard_normal(d) / np.sqrt(d) + 0.1 * rng.standard_normal(n)).astype(dtype)
    return X, y


def classification_data(n: int, d: int, dtype=np.float64, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    p = 1.0 / (1.0 + np.exp(-(X @ (2.0 * rng.standard_normal(d) / np.sqrt(d)))))
    y = (rng.random(n) < p).astype(dtype)
    return X, y


# ---------------------------------------------------------------- workloads


def w0_textbook(cfg: Config) -> List[Row]:
    X = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    y = np.array([2.0, 5.0, 9.0])
    theta = np.zeros(2)
    name, unit = f"W0 textbook 3x2, 1000 iterations, {W0_CALLS} calls a run", "per call"
    ours, numpy_loop = alternated([_calls(lambda: gradient_descent(X, y, theta, 0.01, 1000)),
                                   _calls(lambda: reference.gradient_descent(X, y, theta, 0.01, 1000))],
                                  max(cfg.repeats, 20))
    return [Row(name, "descend", unit, _per(ours, W0_CALLS)), Row(name, "numpy reference", unit, _per(numpy_loop, W0_CALLS))]


# W0 times runs of this many back-to-back calls, per call (as timeit does):
# a single ~30 us call, timed alone after timed()'s pause, measured mostly
# the idle vCPU waking up (2x its time in a warm loop).
W0_CALLS = 20


def _calls(fn: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        for _ in range(W0_CALLS):
            fn()

    return run


def _batch_iteration(X: np.ndarray, y: np.ndarray, iterations: int, n_threads=None,
                     progress: bool = False) -> Callable[[], object]:
    # check_finite=False: the one finiteness pass over X per fit call is not
    # part of an iteration (it would add bytes(X)/bandwidth / iterations).
    def run() -> object:
        return fit(X, y, learning_rate=1e-6, max_iter=iterations, tol=None, n_threads=n_threads,
                   check_finite=False, precompute=False, progress=progress)

    return _stderr_to_devnull(run) if progress else run


def _stderr_to_devnull(fn: Callable[[], object]) -> Callable[[], object]:
    """fn with sys.stderr sent to os.devnull: a progress bar is drawn (and
    timed) but kept out of the table's terminal."""
    def run() -> object:
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            return fn()

    return run


def _progress_cost(repeats: int, iterations: int = 2000) -> List[float]:
    """What progress=True adds to one iteration (the observer call, a clock
    read, now and then a redraw), from alternated fits of a 2,000 x 8 X
    whose iterations take microseconds: per pair of runs, (with - without)
    / iterations. "vs descend" in W1's table is then its share of a W1
    iteration."""
    X, y = regression_data(2_000, 8, np.float64)
    plain, with_bar = alternated([_batch_iteration(X, y, iterations),
                                  _batch_iteration(X, y, iterations, progress=True)], max(repeats, 8))
    return [(b - a) / iterations for a, b in zip(plain, with_bar)]


def _per(times: List[float], k: int) -> List[float]:
    return [t / k for t in times]


def w1_batch(cfg: Config) -> List[Row]:
    n, d, k = cfg.size(2_000_000, 200_000), 64, 10
    rows: List[Row] = []
    torch = optional("torch")
    for dtype in (np.float64, np.float32):
        X, y = regression_data(n, d, dtype)
        name, unit = f"W1 batch iteration {n}x{d} {np.dtype(dtype).name}", "per iteration"
        rows.append(Row(name, "memory floor (read X once)", unit, timed(lambda: _core.probe_read(X, 0), cfg.repeats)))
        # Alternated: the bar's cost is far below this VM's spells of noise.
        plain, with_bar = alternated([_batch_iteration(X, y, k), _batch_iteration(X, y, k, progress=True)],
                                     max(cfg.repeats, 8))
        rows.append(Row(name, "descend C order", unit, _per(plain, k)))
        rows.append(Row(name, "descend C order, progress=True", unit, _per(with_bar, k)))
        if dtype == np.float64:
            rows.append(Row(name, "progress=True's own cost (small X)", unit, _progress_cost(cfg.repeats)))
        coef = np.zeros(d, dtype)
        rows.append(Row(name, "numpy reference", unit,
                        timed(lambda: reference.loss_grad(X, y, coef), cfg.repeats)))
        if torch is not None:
            rows.append(Row(name, "pytorch", unit, timed(_torch_mse_step(torch, X, y), cfg.repeats)))
        XF = np.asfortranarray(X)
        X = None  # free the C-order copy (the closures above are done with it)
        rows.append(Row(name, "descend F order", unit, _per(timed(_batch_iteration(XF, y, k), cfg.repeats), k)))
        del XF
    return rows


def _torch_mse_step(torch, X: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, requires_grad=True)

    def step():
        w.grad = None
        loss = torch.mean((Xt @ w - yt) ** 2)
        loss.backward()
        return loss

    return step


def w1s_in_cache(cfg: Config) -> List[Row]:
    n, d, k = 20_000, 64, 20
    X, y = regression_data(n, d)
    name, unit = f"W1s batch iteration {n}x{d} float64 (in cache)", "per iteration"
    coef = np.zeros(d)
    return [
        Row(name, f"descend {get_num_threads()} threads", unit, _per(timed(_batch_iteration(X, y, k), cfg.repeats), k)),
        Row(name, "descend 1 thread", unit, _per(timed(_batch_iteration(X, y, k, 1), cfg.repeats), k)),
        Row(name, "numpy reference", unit, timed(lambda: reference.loss_grad(X, y, coef), cfg.repeats)),
        Row(name, "memory floor (read X once)", unit, timed(lambda: _core.probe_read(X, 0), cfg.repeats)),
    ]


def w2_sgd(cfg: Config) -> List[Row]:
    n, d = cfg.size(200_000, 20_000), 64
    X, y = regression_data(n, d)
    name, unit = f"W2 sgd epoch {n}x{d} float64, lr 1e-3", "per epoch"
    kw = dict(method="sgd", learning_rate=1e-3, tol=None, seed=0)
    contenders = {"descend": lambda: fit(X, y, max_iter=1, **kw)}
    sk = _sklearn_sgd_regressor(X, y)
    if sk is not None:
        contenders["scikit-learn SGDRegressor"] = lambda: sk(1)
    times = dict(zip(contenders, alternated(list(contenders.values()), cfg.repeats)))
    rows = [Row(name, "descend", unit, times["descend"], objective=mse(X, y, fit(X, y, max_iter=5, **kw).coef),
                note="MSE after 5 epochs")]
    small = slice(0, min(n, 20_000))  # the pure-Python loop: time a slice, scale to n rows
    ref = timed(lambda: reference.fit(X[small], y[small], max_iter=1, **kw), 3 if not cfg.quick else 1, warmup=0)
    rows.append(Row(name, "numpy reference", unit, [t * n / X[small].shape[0] for t in ref],
                    note=f"timed on {X[small].shape[0]} rows, scaled"))
    if sk is not None:
        rows.append(Row(name, "scikit-learn SGDRegressor", unit, times["scikit-learn SGDRegressor"],
                        objective=mse(X, y, sk(5).coef_), note="MSE after 5 epochs"))
    return rows


def _quiet_fit(model, X: np.ndarray, y: np.ndarray):
    """model.fit(X, y) without its warnings (a fixed epoch count warns that tol was not met)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _sklearn_sgd_regressor(X: np.ndarray, y: np.ndarray):
    """epochs -> a fitted SGDRegressor taking W2's steps, or None without scikit-learn."""
    if optional("sklearn") is None:
        return None
    from sklearn.linear_model import SGDRegressor

    # scikit-learn's squared_error is (p - y)^2 / 2: eta0 = 2 lr takes the same steps.
    def sk(epochs):
        return _quiet_fit(SGDRegressor(loss="squared_error", penalty=None, learning_rate="constant", eta0=2e-3,
                                       max_iter=epochs, tol=None, shuffle=True, fit_intercept=False,
                                       random_state=0), X, y)

    return sk


def w3_minibatch_logistic(cfg: Config) -> List[Row]:
    n, d, batch, lr = cfg.size(200_000, 20_000), 64, 256, 0.1
    X, y = classification_data(n, d, np.float32)
    name, unit = f"W3 minibatch logistic epoch {n}x{d} float32, batch {batch}", "per epoch"
    kw = dict(loss="logistic", method="minibatch", batch_size=batch, learning_rate=lr, tol=None,
              fit_intercept=True, seed=0)
    contenders = {"descend": lambda: fit(X, y, max_iter=1, **kw)}
    torch = optional("torch")
    if torch is not None:
        contenders["pytorch"] = _torch_logistic(torch, X, y, batch, lr)[0]
    sk = _sklearn_sgd_classifier(X, y, lr)
    if sk is not None:
        contenders["scikit-learn SGDClassifier (batch 1)"] = lambda: sk(1)
    times = dict(zip(contenders, alternated(list(contenders.values()), cfg.repeats)))
    res = fit(X, y, max_iter=5, **kw)
    rows = [Row(name, "descend", unit, times["descend"], objective=log_loss(X, y, res.coef, res.intercept),
                note="log-loss after 5 epochs")]
    rows.append(Row(name, "numpy reference", unit, timed(lambda: reference.fit(X, y, max_iter=1, **kw), 3, warmup=0)))
    if torch is not None:
        epoch, model = _torch_logistic(torch, X, y, batch, lr)  # a fresh model, for the same 5 epochs
        for _ in range(5):
            epoch()
        with torch.no_grad():
            w = model.weight.numpy().ravel().astype(np.float64)
            b = float(model.bias.numpy()[0])
        rows.append(Row(name, "pytorch", unit, times["pytorch"], objective=log_loss(X, y, w, b),
                        note="log-loss after 5 epochs"))
    if sk is not None:
        m = sk(5)
        rows.append(Row(name, "scikit-learn SGDClassifier (batch 1)", unit,
                        times["scikit-learn SGDClassifier (batch 1)"],
                        objective=log_loss(X, y, m.coef_, float(m.intercept_[0])), note="log-loss after 5 epochs"))
    return rows


def _sklearn_sgd_classifier(X: np.ndarray, y: np.ndarray, lr: float):
    """epochs -> a fitted SGDClassifier(loss="log_loss") with W3's rate, or None without scikit-learn."""
    if optional("sklearn") is None:
        return None
    from sklearn.linear_model import SGDClassifier

    def sk(epochs):
        return _quiet_fit(SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant", eta0=lr,
                                        max_iter=epochs, tol=None, shuffle=True, random_state=0), X, y)

    return sk


def _torch_logistic(torch, X: np.ndarray, y: np.ndarray, batch: int, lr: float):
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Linear(X.shape[1], 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def epoch():
        order = torch.randperm(len(yt))
        for start in range(0, len(yt), batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss_fn(model(Xt[idx]).squeeze(1), yt[idx]).backward()
            opt.step()

    return epoch, model


def w4_adam(cfg: Config) -> List[Row]:
    n = cfg.size(10_000_000, 1_000_000)
    rng = np.random.default_rng(4)
    g = rng.standard_normal(n).astype(np.float32)
    name, unit = f"W4 adam step {n} float32 parameters", "per step"
    p = np.zeros(n, np.float32)
    opt = Adam(p, lr=1e-3)
    m, v = np.zeros(n, np.float32), np.zeros(n, np.float32)
    rows = [
        Row(name, "memory floor (read 4, write 3)", unit, timed(lambda: _core.probe_update(p, g, m, v, 0), cfg.repeats)),
        Row(name, "descend.optim.Adam", unit, timed(lambda: opt.step(g), cfg.repeats)),
        Row(name, "descend.optim.Adam, check_finite=False", unit,
            timed(lambda: opt.step(g, check_finite=False), cfg.repeats)),
        Row(name, "numpy in-place adam", unit, timed(_numpy_adam(n, g), cfg.repeats)),
    ]
    torch = optional("torch")
    if torch is not None:
        for mode in ("fused", "foreach"):
            rows.append(Row(name, f"pytorch Adam({mode}=True)", unit, timed(_torch_adam(torch, g, mode), cfg.repeats)))
    return rows


def _numpy_adam(n: int, g: np.ndarray) -> Callable[[], None]:
    p, m, v, tmp = (np.zeros(n, np.float32) for _ in range(4))
    state = {"t": 0}
    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8

    def step():
        state["t"] += 1
        t = state["t"]
        np.multiply(m, b1, out=m)
        m[:] += (1 - b1) * g
        np.multiply(g, g, out=tmp)
        np.multiply(v, b2, out=v)
        v[:] += (1 - b2) * tmp
        np.sqrt(v, out=tmp)
        np.divide(tmp, np.sqrt(1 - b2**t), out=tmp)
        np.add(tmp, eps, out=tmp)
        np.divide(m, tmp, out=tmp)
        np.multiply(tmp, lr / (1 - b1**t), out=tmp)
        np.subtract(p, tmp, out=p)

    return step


def _torch_adam(torch, g: np.ndarray, mode: str) -> Callable[[], None]:
    w = torch.zeros(len(g), dtype=torch.float32, requires_grad=True)
    w.grad = torch.from_numpy(g)
    opt = torch.optim.Adam([w], lr=1e-3, **{mode: True})
    return opt.step


def w5_time_to_accuracy(cfg: Config) -> List[Row]:
    n, d = cfg.size(200_000, 20_000), 64
    X, y = classification_data(n, d, np.float64)
    l2 = 1.0 / n  # scikit-learn's C = 1: C sum CE + |w|^2 / 2 = n (mean CE + |w|^2 / (2n))
    target = _logistic_optimum(X, y, l2) * (1 + 1e-6)
    name, unit = f"W5 logistic to 1e-6 of the optimum {n}x{d} float64", "to accuracy"

    def objective(coef):
        return log_loss(X, y, coef) + 0.5 * l2 * float(coef @ coef)

    def run_descend():
        return fit(X, y, loss="logistic", learning_rate="auto", optimizer="nesterov", l2=l2, tol=None,
                   max_iter=100_000, callback=lambda s: s.objective <= target)

    res = run_descend()
    rows = [Row(name, "descend batch nesterov, learning_rate='auto'", unit, timed(run_descend, cfg.repeats),
                objective=objective(res.coef), note=f"{res.n_iter} iterations, {res.status}")]
    sklearn = optional("sklearn")
    if sklearn is not None:
        from sklearn.linear_model import LogisticRegression

        def run_sklearn():
            return LogisticRegression(C=1.0, solver="lbfgs", fit_intercept=False, tol=1e-9, max_iter=10_000).fit(X, y)

        m = run_sklearn()
        rows.append(Row(name, "scikit-learn LogisticRegression(lbfgs)", unit, timed(run_sklearn, cfg.repeats),
                        objective=objective(m.coef_.ravel()), note=f"{int(m.n_iter_[0])} iterations"))
    return rows


def _logistic_optimum(X: np.ndarray, y: np.ndarray, l2: float) -> float:
    """The optimum objective, from a long, tightly converged descend run (checked by its gradient)."""
    res = fit(X, y, loss="logistic", learning_rate="auto", optimizer="nesterov", l2=l2, tol=None,
              gtol=1e-12, max_iter=200_000)
    return float(res.loss_history[-1])


def text_like_data(n: int, d: int, per_row: int = 60, hot: int = 5000, seed: int = 6):
    """A text-like CSR X and labels (W6): per_row non-zeros a row in columns drawn
    with Zipf-like frequencies (exponent 1.1, the ranks spread over the columns at
    random), positive tf-idf-like values, rows L2-normalised; labels from a
    logistic model on the `hot` most frequent columns, centred so the classes
    are balanced. Duplicate draws in a row are summed."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    cdf = np.cumsum(np.arange(1, d + 1, dtype=np.float64) ** -1.1)
    cdf /= cdf[-1]
    column_of_rank = rng.permutation(d)
    rank = np.minimum(np.searchsorted(cdf, rng.random(n * per_row)), d - 1)
    values = (1.0 + rng.exponential(size=n * per_row)) * (1.0 + np.log1p(rank))  # tf * idf
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int64)
    X = sp.csr_matrix((values, column_of_rank[rank].astype(np.int32), indptr), shape=(n, d))
    X.sum_duplicates()
    X = sp.csr_matrix(sp.diags(1.0 / np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())) @ X)
    w = np.zeros(d)
    w[column_of_rank[:hot]] = 4.0 * rng.standard_normal(hot)
    score = X @ w
    score -= np.median(score)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-score))).astype(np.float64)
    return X, y


def _sparse_log_loss(X, y, coef, intercept, l2: float = 0.0) -> float:
    p = X @ np.asarray(coef, np.float64).ravel() + intercept
    return float(np.mean(np.logaddexp(0.0, p) - y * p)) + 0.5 * l2 * float(np.dot(coef.ravel(), coef.ravel()))


def w6_sparse_text(cfg: Config) -> List[Row]:
    n, d = cfg.size(500_000, 20_000), cfg.size(2**20, 2**16)
    l2, lr = 1e-6, 0.2
    X, y = text_like_data(n, d)
    rows: List[Row] = []
    # (a) sgd epochs, one thread each: scikit-learn's log_loss and alpha are
    # descend's logistic loss and l2 (both penalise (alpha/2) ||w||^2 with
    # gradient alpha w), so eta0 = learning_rate is the same step.
    name, unit = f"W6 sparse text-like sgd epoch {n}x{d}, {X.nnz} non-zeros, logistic, l2 {l2:g}", "per epoch"
    kw = dict(loss="logistic", method="sgd", learning_rate=lr, l2=l2, fit_intercept=True, tol=None, seed=0,
              n_threads=1)
    contenders = {"descend sgd (1 thread)": lambda: fit(X, y, max_iter=1, **kw)}
    sk = None
    if optional("sklearn") is not None:
        from sklearn.linear_model import SGDClassifier

        def sk(epochs):
            return _quiet_fit(SGDClassifier(loss="log_loss", penalty="l2", alpha=l2, learning_rate="constant",
                                            eta0=lr, max_iter=epochs, tol=None, random_state=0), X, y)

        contenders["scikit-learn SGDClassifier"] = lambda: sk(1)
    # What any epoch reads: every row's entries against w and once more to
    # update it, here as scipy's sequential products (rows in order; sgd's
    # rows come shuffled).
    w, a = np.zeros(d), np.ones(n)
    contenders["scipy X @ w + X.T @ a (rows in order)"] = lambda: (X @ w, X.T @ a)
    times = dict(zip(contenders, alternated(list(contenders.values()), cfg.repeats)))
    rows.append(Row(name, "memory floor (scipy X @ w + X.T @ a, rows in order)", unit,
                    times["scipy X @ w + X.T @ a (rows in order)"]))
    res = fit(X, y, max_iter=5, **kw)
    rows.append(Row(name, "descend sgd (1 thread)", unit, times["descend sgd (1 thread)"],
                    objective=_sparse_log_loss(X, y, res.coef, res.intercept), note="log-loss after 5 epochs"))
    if sk is not None:
        m = sk(5)
        rows.append(Row(name, "scikit-learn SGDClassifier", unit, times["scikit-learn SGDClassifier"],
                        objective=_sparse_log_loss(X, y, m.coef_, float(m.intercept_[0])),
                        note="log-loss after 5 epochs"))
    rows.extend(_w6_batch(cfg, X, y, l2))
    return rows


def _w6_batch(cfg: Config, X, y, l2: float) -> List[Row]:
    """(b) batch to within 1e-6 of the optimum: LogisticRegression(lbfgs, tol 1e-10)
    first, whose objective is the optimum's estimate, then descend (nesterov,
    learning_rate="auto") until it is within 1e-6 of that, or a time limit. One
    timed run each (a run takes minutes at full size); the gaps are to the
    better of the two final objectives."""
    n = X.shape[0]
    limit = 30.0 if cfg.quick else 600.0
    name, unit = f"W6 sparse text-like batch to 1e-6 of the optimum, logistic, l2 {l2:g}", "to accuracy"
    rows = []
    optimum = None
    if optional("sklearn") is not None:
        from sklearn.linear_model import LogisticRegression

        start = time.perf_counter()
        m = _quiet_fit(LogisticRegression(C=1.0 / (l2 * n), solver="lbfgs", tol=1e-10, max_iter=10_000), X, y)
        seconds = time.perf_counter() - start
        optimum = _sparse_log_loss(X, y, m.coef_, float(m.intercept_[0]), l2)
        rows.append(Row(name, "scikit-learn LogisticRegression(lbfgs, tol 1e-10)", unit, [seconds],
                        objective=optimum, note=f"{int(m.n_iter_[0])} iterations"))
    target = -np.inf if optimum is None else optimum * (1 + 1e-6)
    start = time.perf_counter()
    res = fit(X, y, loss="logistic", learning_rate="auto", optimizer="nesterov", l2=l2, fit_intercept=True,
              tol=None, max_iter=1_000_000,
              callback=lambda s: s.objective <= target or time.perf_counter() - start > limit)
    seconds = time.perf_counter() - start
    ours = float(res.loss_history[-1])
    best = ours if optimum is None else min(optimum, ours)
    rows.insert(0, Row(name, "descend batch nesterov, learning_rate='auto'", unit, [seconds], objective=ours,
                       note=f"{res.n_iter} iterations, gap {(ours - best) / best:.1e}"
                            f"{' (time limit)' if ours > target else ''}"))
    for row in rows[1:]:
        row.note += f", gap {(row.objective - best) / best:.1e}"
    return rows


def w7_dask(cfg: Config) -> List[Row]:
    """descend.dask on a 2-worker LocalCluster against dask-glm (when installed),
    local descend.fit and scikit-learn: logistic regression to within 1e-6 of
    the optimum; and the per-iteration overhead of a distributed batch step."""
    if optional("dask") is None or optional("distributed") is None:
        print("W7 skipped: needs dask[array] and distributed (pip install 'descend[dask]')", file=sys.stderr)
        return []
    import dask.array as da
    from distributed import Client, LocalCluster

    from .dask import fit as dask_fit

    n, d = cfg.size(1_000_000, 100_000), 32
    X, y = classification_data(n, d, np.float64, seed=7)
    name, unit = f"W7 dask logistic to 1e-6 of the optimum {n}x{d} float64, 4 blocks, 2 workers", "to accuracy"
    best = fit(X, y, loss="logistic", learning_rate="auto", optimizer="nesterov", tol=None, gtol=1e-11,
               max_iter=100_000)
    optimum = float(best.loss_history[-1])
    target = optimum * (1 + 1e-6)
    kw = dict(loss="logistic", learning_rate="auto", optimizer="nesterov", tol=None, max_iter=100_000,
              callback=lambda s: s.objective <= target)
    rows: List[Row] = []
    runs = max(1, min(cfg.repeats, 3))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        Xd = da.from_array(X, chunks=(-(-n // 4), d)).persist()
        yd = da.from_array(y, chunks=(-(-n // 4),)).persist()
        res = dask_fit(Xd, yd, **kw)
        rows.append(Row(name, "descend.dask batch nesterov, learning_rate='auto'", unit,
                        timed(lambda: dask_fit(Xd, yd, **kw), runs, warmup=0),
                        objective=float(res.loss_history[-1]), note=f"{res.n_iter} iterations"))
        # The cost of one more distributed iteration over a local one: fits
        # of 100 and 50 fixed iterations (the set-up cancels), dask vs local.
        def per_iteration(run):
            long, short = (statistics.median(timed(lambda: run(k), runs, warmup=0)) for k in (100, 50))
            return (long - short) / 50

        fixed = dict(loss="logistic", learning_rate=0.5, tol=None)
        t_dask = per_iteration(lambda k: dask_fit(Xd, yd, max_iter=k, **fixed))
        t_local = per_iteration(lambda k: fit(X, y, max_iter=k, **fixed))
        rows[-1].note += (f"; {t_dask * 1e3:.2f} ms an iteration vs {t_local * 1e3:.2f} local: "
                          f"overhead {(t_dask - t_local) * 1e3:.2f} ms")
        glm = optional("dask_glm")
        if glm is not None:
            from dask_glm import algorithms

            for algo, args in (("lbfgs", dict(tol=1e-10, max_iter=1000)),
                               ("gradient_descent", dict(tol=1e-14, max_iter=1000)),
                               ("proximal_grad", dict(tol=1e-10, max_iter=1000, regularizer="l2", lamduh=0.0))):
                start = time.perf_counter()
                beta = np.asarray(getattr(algorithms, algo)(Xd, yd, **args))
                seconds = time.perf_counter() - start
                obj = log_loss(X, y, beta)
                rows.append(Row(name, f"dask-glm {algo}", unit, [seconds], objective=obj,
                                note=f"1 run, gap {(obj - optimum) / optimum:.1e}"))
    res = fit(X, y, **kw)
    rows.append(Row(name, "descend.fit (local) batch nesterov, 'auto'", unit, timed(lambda: fit(X, y, **kw), runs),
                    objective=float(res.loss_history[-1]), note=f"{res.n_iter} iterations"))
    if optional("sklearn") is not None:
        from sklearn.linear_model import LogisticRegression

        def run_sklearn():
            return LogisticRegression(C=np.inf, solver="lbfgs", fit_intercept=False, tol=1e-10,
                                      max_iter=10_000).fit(X, y)

        m = run_sklearn()
        obj = log_loss(X, y, m.coef_)
        rows.append(Row(name, "scikit-learn LogisticRegression(lbfgs) (local)", unit, timed(run_sklearn, runs),
                        objective=obj, note=f"{int(m.n_iter_[0])} iterations, gap {(obj - optimum) / optimum:.1e}"))
    return rows


def w8_gram(cfg: Config) -> List[Row]:
    """Squared-loss batch gd to gtol=1e-8: the Gram path (S formed once, then
    (d+2)^2 a step) against streaming X every iteration, and the NumPy twin."""
    n, d = cfg.size(2_000_000, 200_000), 64
    X, y = regression_data(n, d)
    name, unit = f"W8 squared batch gd to gtol 1e-8 {n}x{d} float64, learning_rate 0.2", "to accuracy"
    kw = dict(learning_rate=0.2, gtol=1e-8, tol=None, max_iter=10_000, check_finite=False)
    runs = {flag: fit(X, y, precompute=flag, **kw) for flag in (True, False)}
    gram, stream = alternated([lambda: fit(X, y, precompute=True, **kw), lambda: fit(X, y, precompute=False, **kw)],
                              cfg.repeats)
    iteration = _per(stream, runs[False].n_iter)
    rows = [Row(name, "descend precompute=True (S, then iterations)", unit, gram, objective=mse(X, y, runs[True].coef),
                note=f"{runs[True].n_iter} iterations; {statistics.median(gram) / statistics.median(iteration):.1f} "
                     "streaming iterations' time"),
            Row(name, "descend precompute=False (streaming)", unit, stream, objective=mse(X, y, runs[False].coef),
                note=f"{runs[False].n_iter} iterations")]
    twin = reference.fit(X, y, learning_rate=0.2, gtol=1e-8, tol=None, max_iter=10_000)
    rows.append(Row(name, "numpy reference (streaming)", unit,
                    timed(lambda: reference.fit(X, y, learning_rate=0.2, gtol=1e-8, tol=None, max_iter=10_000),
                          max(1, cfg.repeats // 5), warmup=0),
                    objective=mse(X, y, twin.coef), note=f"{twin.n_iter} iterations"))
    rows.append(Row(name, "one streaming iteration (for scale)", "per iteration", iteration))
    return rows



# W9: scikit-learn's bundled datasets, where a user's first fit happens.
W9_L2 = DEFAULT_L2  # the estimators' l2 (scikit-learn's SGD alpha)
W9_DATASETS = ("breast_cancer", "digits", "wine", "iris", "diabetes")  # diabetes: the one regression
W9_QUICK_DATASETS = ("wine", "iris", "diabetes")  # the three that fit in milliseconds


def w9_bundled_datasets(cfg: Config) -> List[Row]:
    """(a) The default GDClassifier / GDRegressor fit against scikit-learn's
    LogisticRegression (lbfgs) / Ridge at the same objective, on each bundled
    dataset raw and standardised: time, and the relative gap to the optimum
    at the end. (b) Iterations to gtol=1e-8 on raw load_diabetes for each
    batch method, with and without preconditioning."""
    if optional("sklearn") is None:
        print("W9 skipped: needs scikit-learn (the datasets and the estimators)", file=sys.stderr)
        return []
    from sklearn.preprocessing import StandardScaler

    rows: List[Row] = []
    for dataset in (W9_QUICK_DATASETS if cfg.quick else W9_DATASETS):
        X, y = _bundled(dataset)
        for scaling, Xs in (("raw", X), ("standardised", StandardScaler().fit_transform(X))):
            rows.extend(_w9_default_fit(cfg, dataset, scaling, Xs, y))
    rows.extend(_w9_iterations(cfg))
    return rows


def _bundled(dataset: str):
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    return np.asarray(X, np.float64), y


def _w9_default_fit(cfg: Config, dataset: str, scaling: str, X: np.ndarray, y: np.ndarray) -> List[Row]:
    """One dataset: the default estimator against scikit-learn's at l2 = 1e-4.
    Both are fitted once untimed for the objectives (the gaps are to an
    optimum from a tight solver, also untimed), then timed alternated."""
    from sklearn.linear_model import LogisticRegression, Ridge

    from .estimators import GDClassifier, GDRegressor

    n, d = X.shape
    regression = dataset == "diabetes"
    if regression:
        # scikit-learn: ||y - Xw - b||^2 + alpha ||w||^2 = n (descend's objective) with alpha = l2 n / 2.
        ours, theirs = GDRegressor, lambda: Ridge(alpha=W9_L2 * n / 2)
        peer, objective = "scikit-learn Ridge", _w9_squared_objective
        optimum = objective(X, y, *_ridge_optimum(X, y, W9_L2))
    else:
        # scikit-learn: C sum CE + ||W||^2 / 2 = C n (descend's objective) with C = 1 / (l2 n).
        ours, theirs = GDClassifier, lambda: LogisticRegression(C=1.0 / (W9_L2 * n))
        peer, objective = "scikit-learn LogisticRegression(lbfgs)", _w9_cross_entropy_objective
        tight = _quiet_converge(LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=10_000,
                                                   C=1.0 / (W9_L2 * n)), X, y)
        optimum = objective(X, y, tight.coef_, tight.intercept_)
    est, m = _quiet_converge(ours(), X, y), _quiet_converge(theirs(), X, y)
    gaps = [(objective(X, y, fitted.coef_, fitted.intercept_) - optimum) / abs(optimum) for fitted in (est, m)]
    name = f"W9a load_{dataset} {n}x{d} {scaling}, default fit vs scikit-learn, l2 {W9_L2:g}"
    fns = [lambda: _quiet_converge(ours(), X, y), lambda: _quiet_converge(theirs(), X, y)]
    start = time.perf_counter()
    fns[0]()
    # Four blocks guard millisecond fits against a slow spell; a fit of a
    # second or more (raw digits) spans spells by itself, and two blocks
    # halve the warm-up runs.
    blocks = 4 if time.perf_counter() - start < 0.5 else 2
    t_ours, t_theirs = alternated(fns, cfg.repeats, blocks)
    stop = "converged" if est.converged_ else "NOT converged (max_iter)"
    peer_iter = None if regression else int(np.max(m.n_iter_))  # Ridge's direct solver has none
    return [Row(name, f"descend {ours.__name__}()", "per fit", t_ours, objective=optimum * (1 + gaps[0]),
                note=f"{stop}, {est.n_iter_} iterations, gap {gaps[0]:.1e}"),
            Row(name, peer, "per fit", t_theirs, objective=optimum * (1 + gaps[1]),
                note=f"gap {gaps[1]:.1e}" + (f", {peer_iter} iterations" if peer_iter is not None else ""))]


def _quiet_converge(model, X: np.ndarray, y: np.ndarray):
    """model.fit(X, y) without ConvergenceWarning (lbfgs's at its default
    max_iter on raw features, descend's at max_iter on raw breast_cancer):
    the table reports convergence; other warnings still show."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _w9_cross_entropy_objective(X: np.ndarray, y: np.ndarray, coef, intercept) -> float:
    """descend's classification objective: mean cross-entropy + (l2/2) ||coef||^2,
    intercept unpenalised. A two-class coef (1 x d) is one logit against a
    zero one, so binary log-loss and softmax cross-entropy share this code."""
    coef = np.atleast_2d(np.asarray(coef, np.float64))
    logits = X @ coef.T + np.asarray(intercept, np.float64)
    if logits.shape[1] == 1:
        logits = np.hstack([np.zeros_like(logits), logits])
    labels = np.searchsorted(np.unique(y), y)
    top = logits.max(axis=1, keepdims=True)  # log-sum-exp without overflow on raw features
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    ce = lse - logits[np.arange(len(y)), labels]
    return float(np.mean(ce)) + 0.5 * W9_L2 * float(np.sum(coef * coef))


def _w9_squared_objective(X: np.ndarray, y: np.ndarray, coef, intercept) -> float:
    """descend's squared objective: mean (p - y)^2 (no 1/2) + (l2/2) ||coef||^2."""
    coef = np.asarray(coef, np.float64).ravel()
    r = X @ coef + float(np.ravel(intercept)[0]) - y
    return float(np.mean(r * r)) + 0.5 * W9_L2 * float(coef @ coef)


def _ridge_optimum(X: np.ndarray, y: np.ndarray, l2: float):
    """The exact optimum of mean (Xw + b - y)^2 + (l2/2) ||w||^2: centring
    removes the unpenalised intercept, then (Xc'Xc + (n l2/2) I) w = Xc'yc."""
    mean_x, mean_y = X.mean(axis=0), y.mean()
    Xc = X - mean_x
    w = np.linalg.solve(Xc.T @ Xc + 0.5 * l2 * len(y) * np.eye(X.shape[1]), Xc.T @ (y - mean_y))
    return w, mean_y - mean_x @ w


def _w9_iterations(cfg: Config) -> List[Row]:
    """(b) Raw load_diabetes (ill-conditioned: columns of norm 1 against a
    target in the hundreds), squared loss: iterations and time to gtol=1e-8
    for each batch method, with precondition None and "auto". The ratios
    are to the estimators' default (bb with preconditioning)."""
    X, y = _bundled("diabetes")
    kw = dict(loss="squared", l2=W9_L2, fit_intercept=True, tol=None, gtol=1e-8, max_iter=200_000,
              precompute=False)
    methods = {"gd lr 'auto'": dict(learning_rate="auto"),
               "nesterov momentum 0.9, lr 'auto'": dict(optimizer="nesterov", momentum=0.9, learning_rate="auto"),
               "nesterov momentum 'auto', lr 'auto'": dict(optimizer="nesterov", momentum="auto",
                                                            learning_rate="auto"),
               "gd lr 'bb'": dict(learning_rate="bb")}
    runs = {}
    for label, args in methods.items():
        for precondition in (None, "auto"):
            key = f"{label}, precondition {precondition!r}"
            runs[key] = lambda a=args, p=precondition: fit(X, y, precondition=p, **kw, **a)
    results = {key: run() for key, run in runs.items()}  # untimed: the iterations and objectives
    times = dict(zip(runs, alternated(list(runs.values()), cfg.repeats)))
    name = f"W9b load_diabetes {X.shape[0]}x{X.shape[1]} raw, squared, l2 {W9_L2:g}, to gtol 1e-8"
    default = "gd lr 'bb', precondition 'auto'"
    rows = []
    for key, res in results.items():
        # Only the default is named "descend ...": table() takes the first
        # such row of a workload as the ratios' reference.
        contender = f"descend default: {key}" if key == default else key
        rows.append(Row(name, contender, "to accuracy", times[key], objective=float(res.loss_history[-1]),
                        note=f"{res.n_iter} iterations, {res.status}"))
    return rows


def wb_per_build(cfg: Config) -> List[Row]:
    from ._bench_builds import per_build  # child processes, one per build (DESCEND_ISA)

    return per_build(cfg)


WORKLOADS = {
    "W0": w0_textbook,
    "W1": w1_batch,
    "WB": wb_per_build,
    "W1s": w1s_in_cache,
    "W2": w2_sgd,
    "W3": w3_minibatch_logistic,
    "W4": w4_adam,
    "W5": w5_time_to_accuracy,
    "W6": w6_sparse_text,
    "W7": w7_dask,
    "W8": w8_gram,
    "W9": w9_bundled_datasets,
}


# ---------------------------------------------------------------- report


def machine() -> dict:
    info = {"python": platform.python_version(), "numpy": np.__version__, "cores": os.cpu_count(),
            "descend threads": get_num_threads(), "descend build": _core.ISA, "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict form
        info["blas"] = "unknown"
    for peer in ("sklearn", "torch"):
        module = optional(peer)
        info[peer] = module.__version__ if module is not None else "not installed"
    return info


def table(rows: List[Row]) -> str:
    head = f"{'workload / contender':<58} {'median':>10} {'min':>10} {'max':>10} {'vs descend':>10} {'vs floor':>9}  objective"
    lines = [head, "-" * len(head)]
    workload = None
    for row in rows:
        if row.workload != workload:
            workload = row.workload
            lines.append(f"{workload} ({row.unit})")
            ours = next((r.median for r in rows if r.workload == workload and r.contender.startswith("descend")), None)
            floor = next((r.median for r in rows if r.workload == workload and r.contender.startswith("memory floor")), None)
        ratio = f"{row.median / ours:10.2f}" if ours else f"{'':>10}"
        vs_floor = f"{row.median / floor:9.2f}" if floor else f"{'':>9}"
        objective = "" if row.objective is None else f"{row.objective:.6g}"
        note = f" ({row.note})" if row.note else ""
        lines.append(f"  {row.contender:<56} {_ms(row.median)} {_ms(min(row.seconds))} {_ms(max(row.seconds))} "
                     f"{ratio} {vs_floor}  {objective}{note}")
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.3f}ms" if seconds >= 1e-3 else f"{seconds * 1e6:8.1f}us"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m descend bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per contender (>= 5 for RESULTS.md)")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    cfg = Config(args.quick, max(1, args.repeats))
    info = machine()
    print("descend bench: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    rows: List[Row] = []
    for key, workload in WORKLOADS.items():
        if only and key not in only:
            continue
        start = time.perf_counter()
        new = workload(cfg)
        rows.extend(new)
        print(f"... {key} done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "rows": [asdict(r) | {"median": r.median} for r in rows]},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
