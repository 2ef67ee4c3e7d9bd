"""descend.fit, descend.gradient_descent and descend.loss_grad."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

import numpy as np

from . import _core
from ._result import FitResult, IterationState
from ._validation import (
    as_float,
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

# Names of DESIGN.md that a later release fills in: asking for them says so.
_PENDING = {
    "loss": {"hinge", "huber", "softmax"},
    "optimizer": {"momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"},
}


def _check_pending(kind: str, value: str) -> None:
    if value in _PENDING[kind]:
        raise NotImplementedError(f"{kind}={value!r} is not implemented yet in descend {_version()}")


def _version() -> str:
    from . import __version__

    return __version__


def _learning_rate(value: object) -> float:
    if isinstance(value, str):
        if value == "auto":
            raise NotImplementedError(f"learning_rate='auto' is not implemented yet in descend {_version()}")
        raise ValueError(f"learning_rate must be a positive number or 'auto', got {value!r}")
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        if hasattr(value, "eta0"):
            raise NotImplementedError(f"learning-rate schedules are not implemented yet in descend {_version()}")
    return as_float(value, "learning_rate")


def _max_iter(value: object) -> int:
    # The core accepts 0 (gradient_descent's num_iterations=0); a fit needs a step.
    value = as_int(value, "max_iter")
    if value < 1:
        raise ValueError(f"max_iter must be >= 1, got {value}")
    return value


class _Progress:
    """Adapts the core's observer call to the user's callback and verbose lines."""

    def __init__(self, callback: Optional[Callable[[IterationState], Any]], verbose: bool, unit: str):
        self.callback = callback
        self.verbose = verbose
        self.unit = unit
        self.start = time.perf_counter()
        self.last_line = -1.0

    def __call__(self, iteration: int, objective: float, grad_norm: float, coef: np.ndarray, intercept: float) -> bool:
        if self.verbose:
            now = time.perf_counter() - self.start
            if self.last_line < 0 or now - self.last_line >= 0.5:
                self.last_line = now
                self.line(iteration, objective, grad_norm, now)
        if self.callback is None:
            return False
        return bool(self.callback(IterationState(iteration, objective, grad_norm, coef, intercept)))

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
    loss: str = "squared",
    method: str = "batch",
    optimizer: str = "gd",
    learning_rate: float = 0.01,
    batch_size: int = 32,
    max_iter: int = 1000,
    tol: Optional[float] = 1e-6,
    n_iter_no_change: int = 1,
    gtol: Optional[float] = None,
    l2: float = 0.0,
    l1: float = 0.0,
    fit_intercept: bool = False,
    coef0=None,
    intercept0: Optional[float] = None,
    sample_weight=None,
    shuffle: bool = True,
    seed: Optional[int] = 0,
    n_threads: Optional[int] = None,
    callback: Optional[Callable[[IterationState], Any]] = None,
    verbose: bool = False,
    check_finite: bool = True,
    **optimizer_params,
) -> FitResult:
    r"""Fit a linear model by gradient descent.

    The prediction for row i is p_i = x_i . coef + intercept and the
    objective over the m rows of a batch is

        J = (1/m) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2 + l1 ||coef||_1

    with sample weights w_i (default 1). Losses: ``"squared"``,
    loss = (p - y)^2, so the gradient is 2/m X^T (X coef - y);
    ``"logistic"``, loss = log(1 + exp(p)) - y p for y in {0, 1}, computed
    stably. l1 is applied as a proximal soft-threshold step after each
    update, coef_j <- sign(coef_j) max(|coef_j| - lr l1, 0), so
    coefficients reach exact zeros. The intercept is never regularised.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        float32 or float64 data, used in place (never copied) when C- or
        F-contiguous; its dtype is the fit's dtype. Integer or bool X is
        converted to float64. Never written.
    y : array of shape (n_samples,)
        Targets, cast to X's dtype.
    loss : {"squared", "logistic"}
    method : {"batch", "sgd", "minibatch"}
        batch: every iteration uses all rows (one update per iteration);
        sgd: one row per update; minibatch: ``batch_size`` rows per update
        (the last short batch of an epoch is used). sgd and minibatch visit
        every row once per epoch, in a fresh seeded shuffle (in order, in
        consecutive slices, with ``shuffle=False``).
    optimizer : {"gd"}
        The update rule; gd is theta <- theta - learning_rate * g.
    learning_rate : float
        Constant step size, > 0.
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
        (status "gtol"). None: off.
    l2, l1 : float
        Ridge and lasso strengths (both: elastic net).
    fit_intercept : bool
        Learn an intercept; otherwise it stays at ``intercept0`` (default 0).
    coef0, intercept0 :
        Starting point (default zeros); never written.
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
        Print a progress line at most every 0.5 s.
    check_finite : bool
        Reject NaN or infinity in X and y (one fast pass). False skips it.

    Returns
    -------
    FitResult
        coef, intercept, n_iter, converged, status, message, loss_history
        (one entry per iteration/epoch) and grad_norm.

    Raises
    ------
    ValueError, TypeError
        For bad input, before any work; messages name the argument.
    DivergenceError
        When the objective becomes non-finite or grows by more than 1e10
        over max(J_0, 1); the message names the learning rate.
    """
    X = as_matrix(X)
    dtype = X.dtype
    n, d = X.shape
    y = as_vector(y, "y", dtype, n, "the number of rows of X")
    if sample_weight is not None:
        sample_weight = as_vector(sample_weight, "sample_weight", dtype, n, "the number of rows of X")
    coef = np.zeros(d, dtype) if coef0 is None else as_vector(coef0, "coef0", dtype, d, "the number of columns of X").copy()
    intercept = 0.0 if intercept0 is None else as_float(intercept0, "intercept0")
    loss = as_name(loss, "loss")
    method = as_name(method, "method")
    optimizer = as_name(optimizer, "optimizer")
    _check_pending("loss", loss)
    _check_pending("optimizer", optimizer)
    if optimizer_params:
        name = next(iter(optimizer_params))
        raise TypeError(f"fit() got an unexpected keyword argument {name!r} (optimizer={optimizer!r} takes none)")
    check_callable(callback, "callback")
    progress = None
    if callback is not None or verbose:
        progress = _Progress(callback, bool(verbose), "iteration" if method == "batch" else "epoch")

    report = _core.fit(
        X=X,
        y=y,
        sample_weight=sample_weight,
        coef=coef,
        intercept=intercept,
        loss=loss,
        method=method,
        optimizer=optimizer,
        learning_rate=_learning_rate(learning_rate),
        batch_size=as_int(batch_size, "batch_size"),
        max_iter=_max_iter(max_iter),
        tol=as_optional_float(tol, "tol"),
        n_iter_no_change=as_int(n_iter_no_change, "n_iter_no_change"),
        gtol=as_optional_float(gtol, "gtol"),
        l2=as_float(l2, "l2"),
        l1=as_float(l1, "l1"),
        fit_intercept=bool(fit_intercept),
        shuffle=bool(shuffle),
        seed=as_seed(seed),
        n_threads=as_n_threads(n_threads),
        check_finite=bool(check_finite),
        callback=progress,
    )
    result = FitResult(coef=coef, **report)
    if progress is not None and progress.verbose:
        print(f"descend: {result.message}", file=sys.stdout, flush=True)
    return result


def loss_grad(
    X,
    y,
    coef,
    intercept: float = 0.0,
    *,
    loss: str = "squared",
    sample_weight=None,
    l2: float = 0.0,
    out: Optional[np.ndarray] = None,
    check_finite: bool = True,
):
    r"""The objective and its gradient at (coef, intercept), in one pass over X.

        J    = (1/n) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2
        grad = (1/n) sum_i w_i loss'(p_i, y_i) x_i + l2 coef
        grad_intercept = (1/n) sum_i w_i loss'(p_i, y_i)

    with p_i = x_i . coef + intercept. Sums accumulate in double for float32
    and float64 data, in an order that does not depend on the thread count.

    Returns ``(loss, grad, grad_intercept)``: floats and an array of X's
    dtype. ``out``, if given, receives grad in place: it must be a
    writeable C-contiguous array of X's dtype and shape (n_features,).
    """
    X = as_matrix(X)
    dtype = X.dtype
    n, d = X.shape
    y = as_vector(y, "y", dtype, n, "the number of rows of X")
    coef = as_vector(coef, "coef", dtype, d, "the number of columns of X")
    if sample_weight is not None:
        sample_weight = as_vector(sample_weight, "sample_weight", dtype, n, "the number of rows of X")
    loss = as_name(loss, "loss")
    _check_pending("loss", loss)
    if out is None:
        out = np.empty(d, dtype)
    else:
        check_out(out, dtype, d)
    value, grad_intercept = _core.loss_grad(
        X=X,
        y=y,
        coef=coef,
        intercept=as_float(intercept, "intercept"),
        loss=loss,
        sample_weight=sample_weight,
        l2=as_float(l2, "l2"),
        out=out,
        check_finite=bool(check_finite),
    )
    return value, out, grad_intercept


def gradient_descent(X, y, theta, learning_rate, num_iterations):
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
    n, d = X.shape
    theta_arr = np.asarray(theta)
    y_arr = np.asarray(y)
    if theta_arr.ndim == 2 and theta_arr.shape[1] == 1:
        theta_arr = theta_arr[:, 0]
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr[:, 0]
    out_shape = np.shape(theta)
    coef = as_vector(theta_arr, "theta", X.dtype, d, "the number of columns of X").copy()
    y_arr = as_vector(y_arr, "y", X.dtype, n, "the number of rows of X")
    num_iterations = as_int(num_iterations, "num_iterations")
    if num_iterations < 0:
        raise ValueError(f"num_iterations must be >= 0, got {num_iterations}")
    if not np.isfinite(coef).all():
        raise ValueError("theta contains NaN or infinity")
    _core.fit(
        X=X, y=y_arr, sample_weight=None, coef=coef, intercept=0.0, loss="squared",
        method="batch", optimizer="gd", learning_rate=as_float(learning_rate, "learning_rate"),
        batch_size=1, max_iter=num_iterations, tol=None, n_iter_no_change=1, gtol=None,
        l2=0.0, l1=0.0, fit_intercept=False, shuffle=False, seed=0, n_threads=0,
        check_finite=True, callback=None,
    )
    return coef.reshape(out_shape)
