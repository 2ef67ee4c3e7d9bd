"""descend.dask: fit Dask arrays where they live, on a Dask cluster.

``descend.dask.fit(X, y, **kwargs)`` takes the keyword arguments of
:func:`descend.fit` for a ``dask.array`` X (2-D, chunked by rows) and y
(and ``sample_weight``) as Dask or NumPy arrays, and returns a
:class:`descend.FitResult`. It runs on Dask's own scheduler and workers
(``distributed``): X's blocks are persisted, and one Dask actor per worker
holds the blocks that worker has and runs the C++ kernels next to them; X
never moves.

- ``method="batch"``: every iteration, each worker returns its blocks'
  loss and gradient *sums* at the current parameters; the client adds them
  in block order and the C++ solver loop runs on the client (update rule,
  schedule, penalties, stopping rules, history: ``descend.fit``'s own).
  The result equals ``descend.fit`` on the concatenated data to rounding,
  and repeats bitwise, for any number of workers. ``learning_rate="auto"``
  runs its Lanczos passes over the blocks the same way.
- ``method="sgd"`` / ``"minibatch"``: parameter mixing (Zinkevich et al.
  2010, McDonald et al. 2010). Each epoch, every block runs one local
  epoch of the C++ solver from the current parameters on its worker, and
  the client averages the blocks' parameters weighted by their row counts.
  ``learning_rate_history`` holds block 0's step size at its epoch's first
  update. ``schedules.ReduceOnPlateau`` and ``on_divergence="retry"`` need
  the checks of the C++ loop, which mixing runs in Python: they are
  ``method="batch"`` only here (refused before any work otherwise).
  Each block keeps its own run state between epochs (the update rule's
  buffers, the schedule's clock, its shuffle's stream, seeded from ``seed``
  and the block's index), so with one block this is ``descend.fit``
  exactly. The epoch's objective is the row-weighted mean of the blocks'
  epoch objectives; ``grad_norm`` likewise. ``learning_rate="auto"`` uses
  the bound over all rows (the largest of the blocks').

X chunked along columns is rechunked once to a single column chunk, with
a warning. y and weights are rechunked to X's row chunks. X with unknown
chunk sizes (from a Dask DataFrame's ``to_dask_array()``) is refused:
``to_dask_array(lengths=True)`` computes them. Every block is checked on
its worker before the first iteration (NaN/inf, labels, lengths). A worker
that dies during a fit makes it raise a RuntimeError naming the lost
worker (its actor and blocks are gone), within Dask's own timeouts; it
never hangs. Workers need descend installed.

Needs ``pip install "descend[dask]"`` (dask[array] and distributed).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from . import _core
from ._defaults import FIT
from ._fit import (
    _finish_bar,
    _intercept_start,
    _n_classes,
    _Progress,
    _solver_options,
    _start,
    start_not_finite,
)
from ._progress import ProgressBar
from ._result import FitResult
from ._dtypes import native_dtype
from ._validation import as_name, check_callable

try:
    import dask.array as da
    from distributed import get_client
except ImportError as error:  # pragma: no cover - exercised without dask only
    raise ImportError(
        "descend.dask needs dask[array] and distributed: pip install 'descend[dask]'"
    ) from error

__all__ = ["fit"]


class _Blocks:
    """A Dask actor: the blocks of X, y and weights one worker holds, and
    the C++ kernels over them. Created on that worker; its methods run there."""

    def __init__(self, indices, first_rows, X, y, w, options, check_finite):
        self.indices = list(indices)
        self.X = [np.ascontiguousarray(b) for b in X]
        self.y = [np.ascontiguousarray(b, dtype=b.dtype) for b in y]
        self.w = [None if b is None else np.ascontiguousarray(b) for b in w]
        self.options = options
        self.runners = None
        from ._fit import _loss_grad as loss_grad

        # Every check descend.fit makes on data (lengths, NaN/inf, labels),
        # once, before the first iteration; a message names the block and
        # its rows of the whole X (indices within the block are local).
        k = options["n_classes"] if options["loss"] == "softmax" else 1
        for i, (Xb, yb, wb) in enumerate(zip(self.X, self.y, self.w)):
            coef = np.zeros((Xb.shape[1], k) if options["loss"] == "softmax" else Xb.shape[1], Xb.dtype)
            try:
                loss_grad(Xb, yb, coef, loss=options["loss"], delta=options["delta"], sample_weight=wb,
                          check_finite=check_finite)
            except ValueError as e:
                start = first_rows[i]
                raise ValueError(f"block {self.indices[i]} of X (rows {start} to {start + Xb.shape[0] - 1}): "
                                 f"{e}") from None

    def rows(self):
        return [(i, Xb.shape[0]) for i, Xb in zip(self.indices, self.X)]

    def sums(self, theta, curvature):
        """[(block index, sum of w_i loss_i, gradient sums)] at theta."""
        o = self.options
        return [(i, *_core.block_sums(Xb, yb, wb, theta, loss=o["loss"], delta=o["delta"],
                                      n_classes=o["n_classes"], curvature=curvature))
                for i, Xb, yb, wb in zip(self.indices, self.X, self.y, self.w)]

    def column_sums(self):
        """[(block index, sum_i w_i z_i, sum_i w_i z_i^2)] over the columns of [X, 1]."""
        return [(i, *_core.block_column_sums(Xb, wb)) for i, Xb, wb in zip(self.indices, self.X, self.w)]

    def lipschitz(self, options):
        """The largest 'auto' bound L of the blocks (sgd/minibatch: any one row's)."""
        return max(_core.lipschitz_bound(Xb, yb, wb, **options) for Xb, yb, wb in zip(self.X, self.y, self.w))

    def epoch(self, coef, intercept, options):
        """One local epoch per block from (coef, intercept):
        [(index, rows, coef, intercept, objective, norm, learning rate of its first update)]."""
        if self.runners is None:
            self.runners = [_core.EpochRunner(Xb, yb, wb, **dict(options, seed=seed))
                            for Xb, yb, wb, seed in zip(self.X, self.y, self.w, self._seeds(options["seed"]))]
        out = []
        for i, Xb, runner in zip(self.indices, self.X, self.runners):
            c, b = coef.copy(), intercept.copy()
            lr = runner.learning_rate_now
            objective, norm = runner.epoch(c, b)
            out.append((i, Xb.shape[0], c, b, objective, norm, lr))
        return out

    def objective(self, coef, intercept):
        """[(index, rows, objective over the block at (coef, intercept))]; after the first epoch."""
        return [(i, Xb.shape[0], runner.objective(coef, intercept))
                for i, Xb, runner in zip(self.indices, self.X, self.runners)]

    def _seeds(self, seed):
        # Block 0 takes the seed itself (one block is descend.fit exactly);
        # block i a SplitMix64-style mix of (seed, i).
        mask = 2**64 - 1
        return [seed if i == 0 else ((seed ^ (i * 0x9E3779B97F4A7C15)) * 0xBF58476D1CE4E5B9) & mask
                for i in self.indices]


def _as_dask(a, name: str, chunks, dtype) -> "da.Array":
    """y or sample_weight as a 1-D Dask array of X's row chunks and dtype."""
    if not isinstance(a, da.Array):
        a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.shape[0] != sum(chunks):
        raise ValueError(f"{name} has {a.shape[0]} entries but the number of rows of X is {sum(chunks)}; "
                         "they must match")
    if not isinstance(a, da.Array):
        a = da.from_array(a, chunks=(chunks,))
    if a.chunks[0] != tuple(chunks):
        a = a.rechunk((chunks,))
    return a.astype(dtype)


def _as_matrix(X) -> "da.Array":
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask.array.Array (use descend.fit for NumPy arrays), got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes (as from a Dask DataFrame's to_dask_array()): "
                         "pass to_dask_array(lengths=True), or call X.compute_chunk_sizes() first")
    if len(X.chunks[1]) > 1:
        warnings.warn(f"X is chunked along its columns ({len(X.chunks[1])} chunks); descend.dask rechunks it "
                      "once to one column chunk (blocks of whole rows)", UserWarning, stacklevel=3)
        X = X.rechunk({1: -1})
    dtype = native_dtype(X.dtype, "X", "a dask array")  # X's one rule, as descend.fit's
    if X.dtype != dtype:
        X = X.astype(dtype)
    return X


class _Cluster:
    """The persisted blocks and one _Blocks actor per worker holding some."""

    def __init__(self, client, X, y, w, options, check_finite):
        from distributed import wait

        # A block of zero rows carries nothing: it is left out here, and the
        # blocks are numbered without it (block i's shuffle seed is mixed from
        # i), so the fit is the fit without the empty chunk, bit for bit.
        keep = [i for i, rows in enumerate(X.chunks[0]) if rows > 0]

        def blocks(a):
            parts = list(a.to_delayed().ravel())
            return client.compute([parts[i] for i in keep])

        xs, ys = blocks(X), blocks(y)
        ws = blocks(w) if w is not None else [None] * len(xs)
        wait(xs)
        holders = client.who_has(xs)
        by_worker: dict = {}
        for i, f in enumerate(xs):
            worker = sorted(holders[f.key])[0]
            by_worker.setdefault(worker, []).append(i)
        first = np.concatenate([[0], np.cumsum([X.chunks[0][i] for i in keep])]).astype(int).tolist()
        self.handles = [client.submit(_Blocks, idx, [first[i] for i in idx], [xs[i] for i in idx],
                                      [ys[i] for i in idx], [ws[i] for i in idx], options, check_finite,
                                      workers=[worker], allow_other_workers=False, actor=True, pure=False)
                        for worker, idx in sorted(by_worker.items())]
        self.workers = sorted(by_worker)
        self.actors = [f.result() for f in self.handles]
        self.futures = xs + ys + [f for f in ws if f is not None]

    def release(self) -> None:
        """Drops this fit's references to the blocks and actors. Never cancels:
        the keys may be the caller's own persisted blocks, which must stay."""
        self.handles, self.actors, self.futures, self.workers = [], [], [], []

    def each(self, method: str, *args) -> list:
        """method(*args) on every actor at once; their results, in actor order."""
        try:
            pending = [getattr(a, method)(*args) for a in self.actors]
            return [p.result() for p in pending]
        except Exception as e:
            # A lost worker shows as a broken connection, or as the actor's
            # future no longer 'finished' (the scheduler lost its key).
            lost = [w for w, f in zip(self.workers, self.handles) if f.status != "finished"]
            if isinstance(e, (OSError, TimeoutError)) or lost:
                which = ", ".join(lost) if lost else "one of " + ", ".join(self.workers)
                raise RuntimeError(f"a Dask worker was lost during the fit ({which}; {type(e).__name__}: {e}); "
                                   "its blocks and their state are gone: fit again") from None
            raise

    def call(self, method: str, *args) -> list:
        """method(*args) on every actor; the blocks' results, in block order."""
        return sorted((item for part in self.each(method, *args) for item in part), key=lambda r: r[0])


def fit(X, y, *, sample_weight=None, client=None, loss: str = FIT["loss"], method: str = FIT["method"],
        optimizer: str = FIT["optimizer"], learning_rate: Any = FIT["learning_rate"],
        batch_size: int = FIT["batch_size"], max_iter: int = FIT["max_iter"], tol: Optional[float] = FIT["tol"],
        n_iter_no_change: int = FIT["n_iter_no_change"], gtol: Optional[float] = FIT["gtol"],
        on_divergence: str = FIT["on_divergence"],
        l2: float = FIT["l2"], l1: float = FIT["l1"], fit_intercept: bool = FIT["fit_intercept"], coef0=None,
        intercept0=None, shuffle: bool = FIT["shuffle"], seed: Optional[int] = FIT["seed"],
        n_threads: Optional[int] = None, callback=None, verbose: bool = False, progress: bool = False,
        delta: float = FIT["delta"],
        precompute: Any = FIT["precompute"], check_finite: bool = FIT["check_finite"],
        precondition: Optional[str] = FIT["precondition"], **optimizer_params) -> FitResult:
    """:func:`descend.fit` over Dask arrays, on the Dask cluster of ``client``
    (default: the current ``distributed`` client). See the module's doc for
    how batch and sgd/minibatch run; the arguments and result are fit's
    (``progress``: fit's progress bar on stderr, over the client's iterations/epochs).
    ``precompute`` ("auto" or False) always streams here: the Gram path
    is descend.fit's only (True is a ValueError). ``precondition="auto"``
    and ``learning_rate="bb"`` (batch) take the column sums of [X, 1] from
    the blocks, in one more round trip, added in block order."""
    if precompute is not False and not (isinstance(precompute, str) and precompute == "auto"):
        raise ValueError(f"precompute must be 'auto' or False in descend.dask.fit (the blocks' sums stream; "
                         f"the Gram path is descend.fit's), got {precompute!r}")
    X = _as_matrix(X)
    chunks = X.chunks[0]
    n, d = int(sum(chunks)), int(X.shape[1])
    dtype = X.dtype
    y = _as_dask(y, "y", chunks, dtype)
    w = None if sample_weight is None else _as_dask(sample_weight, "sample_weight", chunks, dtype)
    loss, method, optimizer = as_name(loss, "loss"), as_name(method, "method"), as_name(optimizer, "optimizer")
    check_callable(callback, "callback")
    # check_finite=False for the core's own loop: the workers check the blocks.
    options = _solver_options(loss=loss, delta=delta, n_classes=1, method=method, optimizer=optimizer,
                              optimizer_params=optimizer_params, learning_rate=learning_rate, batch_size=batch_size,
                              max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change, gtol=gtol,
                              on_divergence=on_divergence, l2=l2, l1=l1, fit_intercept=fit_intercept, shuffle=shuffle,
                              seed=seed, n_threads=n_threads, check_finite=False)
    options["precondition"] = precondition
    # Every check the core makes on the options, before any work on the
    # cluster (softmax's class count is not known yet: any valid one will do).
    checked = dict(options, n_classes=2 if loss == "softmax" else 1)
    if method == "batch":
        _core.validate_options(**checked)
    else:  # and what mixing's epochs do not run
        _core.validate_epoch_runner(**checked)
    client = _client(client)
    # Actor handles bind to the current client: make it the given one.
    with client.as_current():
        if loss == "softmax":
            options["n_classes"] = _n_classes(np.asarray(y.max().compute(), dtype=np.float64).reshape(1), coef0,
                                              n_rows=n)
        k = options["n_classes"]
        coef_shape = (d, k) if loss == "softmax" else (d,)
        coef = _start(coef0, "coef0", dtype, coef_shape)
        intercept = _intercept_start(intercept0, "intercept0", dtype, k)
        unit = "iteration" if method == "batch" else "epoch"
        bar = ProgressBar(options["max_iter"], unit) if progress else None
        observer = None
        if callback is not None or verbose or bar is not None:
            observer = _Progress(callback, bool(verbose), unit, coef_shape, bar)
        # A bar draws nothing before its first update: a failure here leaves none.
        cluster = _Cluster(client, X, y, w, options, bool(check_finite))
        try:
            if method == "batch":
                report = _batch(cluster, n, d, coef, intercept, options, observer)
            else:
                report = _mixing(cluster, coef, intercept, options, observer)
            _finish_bar(bar, report)
        except _core.DivergenceError as e:
            raise start_not_finite(e, bool(check_finite)) from None
        finally:
            cluster.release()
            if bar is not None:
                bar.close()
    result = FitResult(coef=coef, intercept=intercept if loss == "softmax" else float(intercept[0]), **report)
    if verbose:
        print(f"descend: {result.message}", flush=True)
    return result


def _client(client):
    """The given client, or the current one; it must have workers."""
    if client is None:
        try:
            client = get_client()
        except ValueError:
            raise RuntimeError("descend.dask.fit needs a Dask client: create one, e.g. "
                               "distributed.Client(LocalCluster()) or Client('tcp://scheduler:8786')") from None
    # nthreads() asks the scheduler; scheduler_info() is a cache the client
    # refreshes in the background, empty for a moment while it does.
    if not client.nthreads():
        raise RuntimeError("the Dask client has no workers: start some (or wait for them) before fitting")
    return client


def _batch(cluster: _Cluster, n: int, d: int, coef, intercept, options: dict, progress) -> dict:
    def add(results, size):
        # Block order: the same sums for any number of workers, every run.
        total, g = 0.0, np.zeros(size)
        for _, value, grad in results:
            total += value
            g += grad
        return total, g

    def loss_grad(theta):
        return add(cluster.call("sums", theta, False), theta.size)

    def curvature(v):
        return add(cluster.call("sums", v, True), v.size)[1]

    def column_sums():
        return add(cluster.call("column_sums"), d + 1)

    return _core.fit_remote(n, d, coef.reshape(-1), intercept, loss_grad=loss_grad, curvature=curvature,
                            column_sums=column_sums, callback=progress, **options)


def _mixing(cluster: _Cluster, coef, intercept, options: dict, progress) -> dict:
    if options["learning_rate"] == "auto":
        bound = max(cluster.each("lipschitz", options))
        options = dict(options, learning_rate=_core.inverse_lipschitz(bound))
    monitor = _core.StoppingMonitor(max_iter=options["max_iter"], tol=options["tol"],
                                    n_iter_no_change=options["n_iter_no_change"], gtol=options["gtol"])
    flat, history, rates = coef.reshape(-1), [], []
    start = flat.copy(), intercept.copy()
    status, norm = "max_iter", float("nan")
    for epoch in range(options["max_iter"]):
        blocks = cluster.call("epoch", flat.copy(), intercept.copy(), options)
        rows = np.array([b[1] for b in blocks], dtype=np.float64)
        share = rows / rows.sum()
        # Row-weighted means, added in block order.
        flat[:] = sum(s * b[2].astype(np.float64) for s, b in zip(share, blocks))
        intercept[:] = sum(s * b[3].astype(np.float64) for s, b in zip(share, blocks))
        objective = float(sum(s * b[4] for s, b in zip(share, blocks)))
        norm = float(sum(s * b[5] for s, b in zip(share, blocks)))
        history.append(objective)
        rates.append(blocks[0][6])
        status = monitor.check(objective, norm)
        if status == "diverged":
            from ._core import DivergenceError

            # An epoch's objective is a mean over its updates, not where it
            # started: a first epoch that diverged takes the start's own
            # (a start that is not finite is no learning rate's fault).
            began = monitor.start
            if epoch == 0:
                began = float(sum(s * b[2] for s, b in zip(share, cluster.call("objective", *start))))
                if not np.isfinite(began):
                    raise DivergenceError(_core.start_not_finite_message(began))
            lr = options["learning_rate"]
            eta0 = lr if isinstance(lr, float) else lr[1]["eta0"]
            raise DivergenceError(_core.divergence_message("epoch", epoch, objective, began, eta0,
                                                           "optimizer", options["optimizer"]))
        if status == "running" and progress is not None and progress(epoch + 1, objective, norm, flat.copy(),
                                                                     intercept.copy()):
            status = "callback"
        if status != "running":
            break
    else:
        status = "max_iter"
    if status == "running":
        status = "max_iter"
    lr = options["learning_rate"]
    return dict(n_iter=len(history), status=status, converged=status in ("tol", "gtol"),
                message=monitor.message(status, len(history), "epochs"),
                loss_history=np.asarray(history, dtype=np.float64), grad_norm=norm,
                learning_rate=lr if isinstance(lr, float) else lr[1]["eta0"],
                learning_rate_history=np.asarray(rates, dtype=np.float64))
