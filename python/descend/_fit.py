"""descend.fit, descend.gradient_descent and descend.loss_grad."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, Optional

import numpy as np

from . import _core
from ._defaults import FIT
from ._progress import ProgressBar
from ._result import FitResult, IterationState
from ._state import FitState
from ._validation import (
    as_float,
    as_float_params,
    as_int,
    as_matrix,
    as_n_threads,
    as_name,
    as_optional_float,
    as_seed,
    as_vector,
    check_callable,
    check_out,
)
from .schedules import Schedule

# The learning rates the core chooses itself: 1/L, and Barzilai-Borwein steps.
_CHOSEN = ("auto", "bb")
_LR_KINDS = "a positive number, 'auto', 'bb' or a descend.schedules object"


def _learning_rate(value: object) -> object:
    """A learning rate as the core takes it: a float, "auto", "bb" or a schedule's spec."""
    if isinstance(value, str):
        if value in _CHOSEN:
            return value
        raise ValueError(f"learning_rate must be {_LR_KINDS}, got {value!r}")
    if isinstance(value, Schedule):
        return value._spec()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"learning_rate must be {_LR_KINDS}, got {value!r}")
    return float(value)


def _solver_options(*, loss, delta, n_classes, method, optimizer, optimizer_params, learning_rate, batch_size,
                    max_iter, tol, n_iter_no_change, gtol, on_divergence, l2, l1, fit_intercept, shuffle, seed,
                    n_threads, check_finite) -> dict:
    """The options descend.fit and descend.dask.fit share, as the core takes
    them (names are already strings; the core checks every value)."""
    return dict(loss=loss, delta=as_float(delta, "delta"), n_classes=n_classes, method=method, optimizer=optimizer,
                optimizer_params=as_float_params(optimizer_params), learning_rate=_learning_rate(learning_rate),
                batch_size=as_int(batch_size, "batch_size"), max_iter=as_int(max_iter, "max_iter"),
                tol=as_optional_float(tol, "tol"), n_iter_no_change=as_int(n_iter_no_change, "n_iter_no_change"),
                gtol=as_optional_float(gtol, "gtol"), on_divergence=as_name(on_divergence, "on_divergence"),
                l2=as_float(l2, "l2"), l1=as_float(l1, "l1"), fit_intercept=bool(fit_intercept),
                shuffle=bool(shuffle), seed=as_seed(seed), n_threads=as_n_threads(n_threads),
                check_finite=bool(check_finite))


# The core's words for a start whose objective is not finite (C++,
# start_not_finite_message); it cannot know whether X was checked.
_START = "the objective is not finite at the start"


def start_not_finite(error: BaseException, check_finite: bool) -> BaseException:
    """The core's DivergenceError, reworded when the start's objective is not
    finite and check_finite=False skipped X and y's check: NaN or infinity
    in the data is then the likelier cause than coef0/intercept0 (the
    core's message names only those). Any other error is returned as it is."""
    message = str(error)
    if check_finite or not message.startswith(_START):
        return error
    objective = message[len(_START):].split(")")[0] + ")"
    return type(error)(f"{_START}{objective}: X or y may hold NaN or infinity (check_finite=False skipped "
                       "that check; call with check_finite=True to find them), or the start point (coef0, "
                       "intercept0) overflows the loss on this data; no learning rate can fix it")


def _state_of(state: object) -> Optional[FitState]:
    if state is not None and not isinstance(state, FitState):
        raise TypeError(f"state must be a descend.FitState or None, got {type(state).__name__}")
    return state


def _average(value: object) -> object:
    """average as the core takes it: a bool, or an update count as an int."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return as_int(value, "average")


def _data(X, y, sample_weight) -> tuple:
    """X (in place when possible), and y and sample_weight cast to X's dtype.

    Their lengths are the core's to check (one message for every entry point).
    """
    X = as_matrix(X)
    y = as_vector(y, "y", X.dtype)
    if sample_weight is not None:
        sample_weight = as_vector(sample_weight, "sample_weight", X.dtype)
    return X, y, sample_weight


def _n_classes(y: np.ndarray, coef0: object, name: str = "coef0", n_rows: Optional[int] = None) -> int:
    """k for softmax: coef0's columns, else the largest label + 1, at most
    the number of rows (n_rows, default len(y)): a label of 1e7 on two rows
    is a mistake, not 10^7 classes whose coefficients would fill memory.

    Labels that are not integers 0..k-1 are left for the core to reject
    with a message naming the bad entry.
    """
    if coef0 is not None:
        shape = np.shape(coef0)
        if len(shape) != 2:
            raise ValueError(f"{name} must have shape (n_features, n_classes) for loss='softmax', got {shape}")
        return int(shape[1])
    top = float(np.max(y)) if y.size else 0.0  # empty data: the core names the problem
    k = int(top) + 1 if np.isfinite(top) and top >= 1 else 2
    rows = y.size if n_rows is None else n_rows
    if k > max(rows, 2):
        raise ValueError(f"y's largest label is {top:g}, but loss='softmax' takes class indices 0..k-1 with at "
                         f"most one class per row ({rows} rows); relabel with np.unique(y, return_inverse=True)")
    return k


def _start(value: object, name: str, dtype: np.dtype, shape: tuple) -> np.ndarray:
    """A fresh C-contiguous copy of a starting point of the given shape (zeros for None)."""
    if value is None:
        return np.zeros(shape, dtype)
    if len(shape) == 1:
        return as_vector(value, name, dtype, shape[0], "the number of columns of X").copy()
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return np.array(as_vector(arr.reshape(-1), name, dtype, arr.size, "its size"), dtype=dtype).reshape(shape)


def _intercept_start(value: object, name: str, dtype: np.dtype, k: int) -> np.ndarray:
    """k intercepts: a scalar is broadcast, an array must have k entries."""
    if value is None:
        return np.zeros(k, dtype)
    if np.ndim(value) == 0:
        number = as_float(value, name)
        with np.errstate(over="ignore"):
            start = np.full(k, number, dtype)
        if math.isfinite(number) and not np.isfinite(start).all():
            raise ValueError(f"{name} = {number!r} is beyond the range of {np.dtype(dtype).name}, X's dtype; "
                             "scale it, or pass X as float64")
        return start
    return as_vector(value, name, dtype, k, "the number of classes").copy()


class _Progress:
    """Adapts the core's observer call to the user's callback, the verbose
    lines and the progress bar (each optional)."""

    def __init__(self, callback: Optional[Callable[[IterationState], Any]], verbose: bool, unit: str,
                 coef_shape: tuple, bar: Optional[ProgressBar] = None):
        self.callback = callback
        self.verbose = verbose
        self.unit = unit
        self.coef_shape = coef_shape
        self.bar = bar
        self.start = time.perf_counter()
        self.last_line = -1.0

    def __call__(self, iteration: int, objective: float, grad_norm: float, coef: np.ndarray,
                 intercept: np.ndarray) -> bool:
        if self.bar is not None:
            self.bar.update(iteration, objective)
        if self.verbose:
            now = time.perf_counter() - self.start
            if self.last_line < 0 or now - self.last_line >= 0.5:
                self.last_line = now
                self.line(iteration, objective, grad_norm, now)
        if self.callback is None:
            return False
        b = intercept if len(self.coef_shape) == 2 else float(intercept[0])
        return bool(self.callback(IterationState(iteration, objective, grad_norm, coef.reshape(self.coef_shape), b)))

    def line(self, iteration: int, objective: float, grad_norm: float, seconds: float) -> None:
        print(
            f"descend: {self.unit} {iteration:>6d}  objective {objective:.8e}  "
            f"grad norm {grad_norm:.3e}  {seconds:8.3f} s",
            file=sys.stdout,
            flush=True,
        )


def fit(
    X,
    y,
    *,
    loss: str = FIT["loss"],
    method: str = FIT["method"],
    optimizer: str = FIT["optimizer"],
    learning_rate: Any = FIT["learning_rate"],
    batch_size: int = FIT["batch_size"],
    max_iter: int = FIT["max_iter"],
    tol: Optional[float] = FIT["tol"],
    n_iter_no_change: int = FIT["n_iter_no_change"],
    gtol: Optional[float] = FIT["gtol"],
    on_divergence: str = FIT["on_divergence"],
    l2: float = FIT["l2"],
    l1: float = FIT["l1"],
    fit_intercept: bool = FIT["fit_intercept"],
    coef0=None,
    intercept0=None,
    sample_weight=None,
    shuffle: bool = FIT["shuffle"],
    seed: Optional[int] = FIT["seed"],
    n_threads: Optional[int] = None,
    callback: Optional[Callable[[IterationState], Any]] = None,
    verbose: bool = False,
    progress: bool = False,
    delta: float = FIT["delta"],
    check_finite: bool = FIT["check_finite"],
    precompute: Any = FIT["precompute"],
    average: Any = FIT["average"],
    precondition: Optional[str] = FIT["precondition"],
    state: Optional[FitState] = None,
    **optimizer_params,
) -> FitResult:
    r"""Fit a linear model by gradient descent.

    The prediction for row i is p_i = x_i . coef + intercept (for softmax,
    k predictions p_i = x_i coef + intercept with coef of shape (d, k)) and
    the objective over the m rows of a batch is

        J = (1/m) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2 + l1 ||coef||_1

    with sample weights w_i (default 1). The intercept is never regularised.

    ========  ==========================================  ===============
    loss      loss(p, y)                                  y
    ========  ==========================================  ===============
    squared   (p - y)^2, so grad = 2/m X^T (X coef - y)   real
    logistic  log(1 + exp(p)) - y p, computed stably      0 or 1
    hinge     max(0, 1 - s p), s = 2y - 1                 0 or 1
    huber     r^2/2 if |r| <= delta else                  real
              delta (|r| - delta/2), r = p - y
    softmax   -log softmax(p)_y (stable log-sum-exp)      0 .. k-1
    ========  ==========================================  ===============

    l1 is applied as a proximal soft-threshold step after each update,
    coef_j <- sign(coef_j) max(|coef_j| - lr l1, 0), so coefficients reach
    exact zeros; l1 and l2 together give the elastic net.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        float32 or float64 data, used in place (never copied) when C- or
        F-contiguous; its dtype is the fit's dtype. Integer or bool X is
        converted to float64. Never written.
    y : array of shape (n_samples,)
        Targets, cast to X's dtype (class labels 0..k-1 for softmax).
    loss : {"squared", "logistic", "hinge", "huber", "softmax"}
    method : {"batch", "sgd", "minibatch"}
        batch: every iteration uses all rows (one update per iteration);
        sgd: one row per update; minibatch: ``batch_size`` rows per update
        (the last short batch of an epoch is used). sgd and minibatch visit
        every row once per epoch, in a fresh seeded shuffle (in order, in
        consecutive slices, with ``shuffle=False``).
    optimizer : {"gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
        The update rule, as in torch.optim (see README); its
        hyper-parameters are keyword arguments: ``momentum`` (0.9;
        momentum, nesterov), ``rho`` (0.99; rmsprop), ``beta_1`` (0.9),
        ``beta_2`` (0.999), ``epsilon`` (1e-10 adagrad, else 1e-8),
        ``weight_decay`` (0.01; adamw, decays every learnt parameter).
        ``momentum="auto"`` (nesterov, method="batch"): FISTA's momentum
        with adaptive restart (Beck & Teboulle; O'Donoghue & Candes), which
        converges at the accelerated sqrt(kappa) rate without knowing
        kappa. The gradient is taken at the extrapolated point y:

            x+ = prox(y - lr P g(y))       (l1's soft threshold: FISTA)
            t = 1 if (y - x+)^T P^-1 (x+ - x) > 0   (momentum uphill: restart)
            t+ = (1 + sqrt(1 + 4 t^2)) / 2,   y = x+ + ((t - 1) / t+) (x+ - x)

        from t = 1 (P = 1 without ``precondition``).
    learning_rate : float, "auto", "bb" or a descend.schedules object
        A constant step size > 0; "auto": 1/L with L a bound on the
        gradient's Lipschitz constant (Lanczos passes over X for batch, the
        largest row norm for sgd/minibatch; smooth losses and gd, momentum
        or nesterov only); "bb" (method="batch", optimizer="gd", smooth
        losses): Barzilai-Borwein steps, alternating s^T P^-1 s / s^T y and
        s^T y / y^T P y (s the last step, y = g - g_prev; Dai & Fletcher's
        ABB; never below the first step alpha_0 = 1/(c trace(H) + l2), at
        most 1/L), safeguarded by a nonmonotone line
        search (a point is accepted when J <= the largest of the last 30
        accepted objectives - 1e-4 s^T P^-1 s / (2 alpha), else the step is
        halved; rejected points are not checks); or a schedule evaluated at
        every update (``schedules.ReduceOnPlateau`` follows the objective
        instead). Which converges fastest: on ill-conditioned data
        ``learning_rate="bb"`` or ``optimizer="nesterov", momentum="auto"``
        with ``precondition="auto"``, often 10-1000x fewer iterations than
        plain gd (README, "Which method converges fastest"); plain gd
        stays the default, the textbook method.
    batch_size : int
        Rows per update for method="minibatch".
    max_iter : int
        Most iterations (batch) or epochs (sgd, minibatch).
    tol : float or None
        Stop when |J_{k-1} - J_k| / max(|J_{k-1}|, |J_k|, 1) <= tol for
        ``n_iter_no_change`` checks in a row (status "tol"). None: off.
    n_iter_no_change : int
    gtol : float or None
        method="batch" only: stop when the gradient's 2-norm <= gtol
        (status "gtol"; with ``precondition``, the norm in the scaled
        coordinates, sqrt(sum_j P_j g_u,j^2)). None: off.
    on_divergence : {"raise", "retry"}
        What a divergence does. "raise": a DivergenceError. "retry": the
        run goes back to the best point checked so far, the one with the
        lowest objective (batch: the parameters an iteration started from;
        sgd/minibatch: those an epoch ended with, or the start, whose
        objective over all rows takes one pass for this), and runs on from
        there with every step size divided by 10 (the whole schedule, its
        floors included), as a fresh run: the update rule's state, the
        schedule's clock, ReduceOnPlateau's state and the shuffle's stream
        start again, and max_iter still bounds the history. At most 5
        times; the sixth divergence raises. ``loss_history`` and
        ``learning_rate_history`` then hold the path of the parameters
        returned (the checks after the restart point are dropped),
        ``learning_rate`` the eta_0 that worked and ``message`` ends with
        "(after k retries: learning rate divided by 10^k)". The best point,
        not the last one that passed: the check trips only at 1e10 times
        the start. A callback sees every check, abandoned ones too.
    l2, l1 : float
        Ridge and lasso strengths (both: elastic net).
    fit_intercept : bool
        Learn the intercept; otherwise it stays at ``intercept0`` (default 0).
    coef0, intercept0 :
        Starting point (default zeros): coef0 of shape (d,), or (d, k) for
        softmax (which then also sets k); intercept0 a number (or k numbers).
        Never written.
    sample_weight : array of shape (n_samples,), optional
        Non-negative row weights; the mean still divides by m.
    shuffle : bool
    seed : int or None
        Seed of the portable shuffle: the same seed gives the same result on
        every run, platform and thread count. None draws a fresh seed.
    n_threads : int or None
        Threads for the kernels; None uses ``descend.get_num_threads()``.
        Results are bitwise identical for any value.
    callback : callable, optional
        Called as ``callback(state)`` with an :class:`IterationState` after
        each iteration/epoch; returning True stops the run (status
        "callback"). An exception it raises propagates.
    verbose : bool
        Print a progress line on stdout at most every 0.5 s, and the stop
        message at the end.
    progress : bool
        Show a progress bar on stderr: the iterations (batch) or epochs done
        out of max_iter, the current objective and the rate; with tqdm when
        it is installed, else a plain line at most every 0.5 s
        (``descend: epoch 12/100  objective 1.234e-01  45.1 epochs/s``).
        The bar is redrawn at most 10 times a second and shows the final
        count when the fit ends (it is closed on errors too); a fit that
        ends before the first redraw is due shows only that. It costs one
        clock read per iteration/epoch, plus the observer call the core
        then makes (as for ``callback``: a copy of coef). The result is the
        same bitwise.
    delta : float
        The huber loss's threshold (> 0).
    check_finite : bool
        Reject NaN or infinity in X and y (one fast pass). False skips it.
    precompute : "auto", True or False
        loss="squared", method="batch": iterate on the sufficient statistics
        S = sum_i w_i z_i z_i^T, z_i = (x_i, 1, y_i), formed in one threaded
        pass over X (Z^T W Z, Z^T W y and y^T W y in one (d+2) x (d+2)
        matrix). Then J = u^T S u / m and the gradient 2 (S u)[:d+1] / m with
        u = (coef, intercept, -1): an iteration costs (d+2)^2 instead of a
        pass over the n rows, and "auto" learning rates come from S. Same
        iterates, history and stopping rules as the streaming path, to
        rounding (the objective of a near-perfect fit, a difference of
        large terms, is accurate to ~1e-16 u^T|S|u only). "auto" takes it
        when a product with S costs at most a quarter of a streaming
        iteration (dense: n >= ~2 d), forming S costs at most max_iter
        streaming iterations (dense: max_iter >= ~d/4) and d <= 4096, and,
        with ``precondition`` or ``learning_rate="bb"``, when every column's
        mean is within 10 standard deviations of zero (S holds raw sums, and
        a column far off zero leaves it too few digits of the centred
        problem);
        True takes it always (an error for other losses and methods).
    average : bool or int
        method="sgd"/"minibatch": Polyak-Ruppert averaging, as scikit-learn's
        ``average`` and torch.optim.ASGD. With average=k (True: k = 1) the
        result is the mean of the iterates after updates k, k+1, ..., t,
        kept as avg += (theta - avg) / (updates averaged so far): O(d) per
        update (on a sparse X too: its lazy O(non-zeros) update is off
        then). coef, intercept and the callback's state are the average
        once it has started (the last iterate before); loss_history and
        grad_norm stay the iterates'. False: off.
    precondition : "auto" or None
        method="batch" with gd, momentum or nesterov (other methods and
        rules run unscaled): step in centred, unit-variance coordinates, as
        if X were standardised, without touching X. The rule steps u =
        (coef, c), c = b + mu^T coef (mu the weighted column means; with a
        learnt intercept) with the gradient P g_u, g_u = (g_coef - mu g_b,
        g_b) and P = 1/s, s_j = (1/n) sum_i w_i (x_ij - mu_j)^2 (the
        intercept's: (1/n) sum_i w_i): the Jacobi preconditioner of the
        centred problem. The objective, its penalties and the coefficients
        returned are the original ones; "auto" learning rates are those of
        the scaled problem. Raw features with scales 1e-3 ... 1e3 and far
        from zero then converge as standardised ones do. None: off.
    state : descend.FitState, optional
        Continue from the state an earlier fit left in it (the update
        count that schedules and Adam's bias correction read, the update
        rule's buffers, the shuffle's stream, the running average) and
        leave this fit's end in it. A fresh FitState starts as usual.

    Returns
    -------
    FitResult
        coef, intercept, n_iter, converged, status, message, loss_history
        (one entry per iteration/epoch), grad_norm, the learning_rate
        used (eta_0; 1/L for "auto") and learning_rate_history (the step
        size in force at each iteration/epoch).

    Raises
    ------
    ValueError, TypeError
        For bad input, before any work; messages name the argument.
    DivergenceError
        When the objective becomes non-finite or grows by more than 1e10
        over max(J_0, 1) (with on_divergence="retry": a sixth time); the
        message names the learning rate.
    """
    X, y, sample_weight = _data(X, y, sample_weight)
    dtype = X.dtype
    d = X.shape[1]
    loss = as_name(loss, "loss")
    method = as_name(method, "method")
    optimizer = as_name(optimizer, "optimizer")
    k = _n_classes(y, coef0) if loss == "softmax" else 1
    coef_shape = (d, k) if loss == "softmax" else (d,)
    coef = _start(coef0, "coef0", dtype, coef_shape)
    intercept = _intercept_start(intercept0, "intercept0", dtype, k)
    check_callable(callback, "callback")
    unit = "iteration" if method == "batch" else "epoch"
    state = _state_of(state)
    average = _average(average)
    options = _solver_options(loss=loss, delta=delta, n_classes=k, method=method, optimizer=optimizer,
                              optimizer_params=optimizer_params, learning_rate=learning_rate, batch_size=batch_size,
                              max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change, gtol=gtol,
                              on_divergence=on_divergence, l2=l2, l1=l1, fit_intercept=fit_intercept, shuffle=shuffle,
                              seed=seed, n_threads=n_threads, check_finite=check_finite)
    bar = ProgressBar(options["max_iter"], unit) if progress else None
    observer = None
    if callback is not None or verbose or bar is not None:
        observer = _Progress(callback, bool(verbose), unit, coef_shape, bar)
    try:
        report = _core.fit(X, y, coef.reshape(-1), intercept, sample_weight=sample_weight, callback=observer,
                           state=state, precompute=precompute, average=average, precondition=precondition,
                           **options)
        _finish_bar(bar, report)
    except _core.DivergenceError as e:
        raise start_not_finite(e, check_finite) from None
    finally:
        if bar is not None:
            bar.close()  # after an exception: the last count shown, the bar closed
    result = FitResult(coef=coef, intercept=intercept if loss == "softmax" else float(intercept[0]), **report)
    if verbose:
        print(f"descend: {result.message}", file=sys.stdout, flush=True)
    return result


def _finish_bar(bar: Optional[ProgressBar], report: dict) -> None:
    """Close the progress bar (if any) at the run's final count and objective
    (the observer is not called for the check that stops a run)."""
    if bar is not None:
        history = report["loss_history"]
        bar.close(int(report["n_iter"]), float(history[-1]) if len(history) else None)


def loss_grad(
    X,
    y,
    coef,
    intercept=0.0,
    *,
    loss: str = "squared",
    sample_weight=None,
    l2: float = 0.0,
    delta: float = 1.0,
    out: Optional[np.ndarray] = None,
    check_finite: bool = True,
) -> tuple[float, np.ndarray, Any]:
    r"""The objective and its gradient at (coef, intercept), in one pass over X.

        J    = (1/n) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2
        grad = (1/n) sum_i w_i loss'(p_i, y_i) x_i + l2 coef
        grad_intercept = (1/n) sum_i w_i loss'(p_i, y_i)

    with p_i = x_i . coef + intercept (losses as in :func:`fit`). For
    loss="softmax" coef has shape (d, k) (k classes), intercept is a number
    or k numbers, and grad_intercept is an array of k entries. coef and
    intercept are cast to X's dtype (parameters live in it). Sums
    accumulate in double for float32 and float64 data, in an order that
    does not depend on the thread count.

    Returns ``(loss, grad, grad_intercept)``: a float, an array of X's
    dtype shaped like coef, and a float (k floats for softmax). ``out``, if
    given, receives grad in place: it must be a writeable C-contiguous
    array of X's dtype and coef's shape.

    check_finite: X and y must be free of NaN and infinity (one fast
    pass), and so must the results: a point that overflows the loss on
    this data (an objective or gradient of infinity or NaN from finite
    inputs, e.g. a residual of 1e200 squared) raises ValueError instead of
    returning them (``out`` then holds the non-finite gradient). False
    skips both checks and returns what the arithmetic gives.
    """
    value, grad, grad_intercept = _loss_grad(X, y, coef, intercept, loss=loss, sample_weight=sample_weight, l2=l2,
                                             delta=delta, out=out, check_finite=check_finite)
    if check_finite and not (math.isfinite(value) and _core.all_finite(grad)
                             and bool(np.isfinite(grad_intercept).all())):
        raise ValueError(f"the objective or its gradient is not finite at this coef and intercept (objective = "
                         f"{value!r}): the point overflows the loss on this data; scale X or y, or start "
                         "nearer zero (check_finite=False returns the non-finite values)")
    return value, grad, grad_intercept


def _loss_grad(X, y, coef, intercept=0.0, *, loss="squared", sample_weight=None, l2=0.0, delta=1.0, out=None,
               check_finite=True) -> tuple:
    """loss_grad without the check of its results (descend.dask checks
    blocks with it: a start that overflows is fit's DivergenceError there)."""
    X, y, sample_weight = _data(X, y, sample_weight)
    dtype = X.dtype
    d = X.shape[1]
    loss = as_name(loss, "loss")
    if loss == "softmax":
        k = _n_classes(y, coef, "coef")
        coef = _start(coef, "coef", dtype, (d, k))
    else:
        k = 1
        coef = as_vector(coef, "coef", dtype, d, "the number of columns of X")
    b = _intercept_start(intercept, "intercept", dtype, k)
    if out is None:
        out = np.empty(coef.shape, dtype)
    else:
        check_out(out, dtype, coef.shape)
    grad_intercept = np.empty(k)
    value = _core.loss_grad(
        X=X,
        y=y,
        coef=coef.reshape(-1),
        intercept=b,
        loss=loss,
        delta=as_float(delta, "delta"),
        n_classes=k,
        sample_weight=sample_weight,
        l2=as_float(l2, "l2"),
        out=out.reshape(-1),
        out_intercept=grad_intercept,
        check_finite=bool(check_finite),
    )
    return value, out, grad_intercept if loss == "softmax" else float(grad_intercept[0])


def _column(a: Any) -> Any:
    """A (n, 1) column as its n entries (the textbook loop's shapes); anything else as it is."""
    arr = np.asarray(a)
    return arr[:, 0] if arr.ndim == 2 and arr.shape[1] == 1 else arr


def gradient_descent(X: Any, y: Any, theta: Any, learning_rate: float, num_iterations: int) -> np.ndarray:
    r"""The textbook batch gradient descent for least squares.

    Same signature and result as the classic NumPy loop::

        m = len(y)
        for _ in range(num_iterations):
            theta = theta - learning_rate * (2 / m) * X.T @ (X @ theta - y)

    i.e. num_iterations steps of gd on J = (1/m) ||X theta - y||^2, run in
    C++ with X read once per iteration. ``theta`` is not modified; the
    result has theta's shape ((d,) or (d, 1)) and X's float dtype (float64
    for integer X). Raises DivergenceError instead of returning NaN when
    the learning rate is too large.
    """
    X = as_matrix(X)
    d = X.shape[1]
    out_shape = np.shape(theta)
    coef = as_vector(_column(theta), "theta", X.dtype, d, "the number of columns of X").copy()
    y = as_vector(_column(y), "y", X.dtype)
    # The core checks theta's finiteness, num_iterations >= 0, the learning
    # rate's value and X and y before any step; this call is the whole run.
    _core.gradient_descent(X, y, coef, as_float(learning_rate, "learning_rate"),
                           as_int(num_iterations, "num_iterations"))
    return coef.reshape(out_shape)
