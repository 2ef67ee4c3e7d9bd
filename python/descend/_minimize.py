"""descend.minimize: any differentiable function, any update rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from . import _core
from ._core import DivergenceError
from ._defaults import FIT, OPTIMIZERS
from ._validation import as_int, as_name, as_optional_float, check_callable
from .optim import _BY_NAME, _check_lr

# scipy.optimize's convention: 0 success; then why it stopped otherwise.
_STATUS = {"tol": 0, "gtol": 0, "max_iter": 1, "callback": 2}


@dataclass(frozen=True)
class MinimizeResult:
    """The outcome of descend.minimize, named as scipy.optimize.OptimizeResult.

    x : the final point (a new array of x0's shape).
    fun : f(x) at the final point.
    jac : the gradient at the final point.
    nit : steps taken.
    success : True when tol or gtol was met.
    status : 0 converged, 1 max_iter reached, 2 stopped by the callback.
    message : why it stopped.
    """

    x: np.ndarray
    fun: float
    jac: np.ndarray
    nit: int
    success: bool
    status: int
    message: str


def _evaluator(fun: Callable, jac: Any, shape: tuple) -> Callable[[np.ndarray], tuple]:
    """x -> (f, g) from fun (and jac), checking what the user's functions return."""
    check_callable(fun, "fun")
    # fun and jac each get a copy of the iterate, as scipy.optimize does: one
    # that writes into its argument must not move minimize's x (nor the other's).
    if jac is True:
        def both(x):
            out = fun(x.copy())
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("with jac=True, fun must return a pair (f, g)")
            return out
    elif callable(jac):
        def both(x):
            return fun(x.copy()), jac(x.copy())
    else:
        raise TypeError("jac must be True (fun returns (f, g)) or a callable returning the gradient; "
                        "descend does not approximate gradients")

    def evaluate(x: np.ndarray) -> tuple:
        f, g = both(x)
        try:
            value = float(f)
        except (TypeError, ValueError):
            raise TypeError(f"fun must return the objective as a real number, got {f!r}") from None
        g = np.asarray(g)
        if g.dtype.kind not in "biuf":  # a complex gradient would lose its imaginary part unseen
            raise TypeError(f"the gradient must hold real numbers, got an array of dtype {g.dtype}")
        if g.shape != shape:
            raise ValueError(f"the gradient has shape {g.shape} but x0 has shape {shape}")
        with np.errstate(over="ignore"):  # beyond float32's range: infinity, named by minimize's check
            g = g.astype(x.dtype, copy=False)
        return value, g

    return evaluate


def _norm(g: np.ndarray) -> float:
    """||g||_2, also where the sum of squares overflows (a finite gradient
    beyond ~1e154): then as max|g| times the norm of g / max|g|."""
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(g))
    if norm == np.inf and np.isfinite(g).all():
        peak = float(np.max(np.abs(g)))
        with np.errstate(over="ignore"):
            norm = peak * float(np.linalg.norm(g / peak))
    return norm


def minimize(
    fun: Callable,
    x0,
    *,
    jac: Any = True,
    method: str = "adam",
    learning_rate: Any = 1e-3,
    max_iter: int = FIT["max_iter"],
    tol: Optional[float] = None,
    n_iter_no_change: int = FIT["n_iter_no_change"],
    gtol: Optional[float] = 1e-6,
    callback: Optional[Callable[[MinimizeResult], Any]] = None,
    **optimizer_params,
) -> MinimizeResult:
    r"""Minimise a differentiable function f by gradient descent.

    Each iteration evaluates f and its gradient g at x, checks the stopping
    rules, then takes one step of the update rule ``method`` (any of
    :mod:`descend.optim`: "gd", "momentum", "nesterov", "adagrad",
    "rmsprop", "adam", "adamw", with their keyword hyper-parameters).

    Note: ``method`` names the *update rule* here, as in
    ``scipy.optimize.minimize(method=...)``; in :func:`descend.fit`,
    ``method`` is "batch"/"sgd"/"minibatch" and the rule is ``optimizer``.
    The stopping rules and their messages are :func:`descend.fit`'s:

    - ||g||_2 <= gtol, or |f_{k-1} - f_k| / max(|f_{k-1}|, |f_k|, 1) <= tol
      for ``n_iter_no_change`` checks in a row: success;
    - ``max_iter`` steps taken: status 1;
    - ``callback(result)`` returns True: status 2;
    - f not finite or grown by more than 1e10 over max(f(x0), 1): raises
      DivergenceError naming the learning rate.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (f, g)`` when jac=True, else ``fun(x) -> f``.
    x0 : array_like
        Starting point (not modified). float32 x0 is kept in float32, any
        other input becomes float64.
    jac : True or callable
        True: fun returns (f, g). A callable: ``jac(x) -> g``.
    learning_rate : float or descend.schedules object
    callback : callable, optional
        Called after each evaluation with a MinimizeResult of the current
        point; returning True stops.

    Returns
    -------
    MinimizeResult with x, fun, jac, nit, success, status, message.
    """
    method = as_name(method, "method")
    if method not in _BY_NAME and method in OPTIMIZERS:  # descend.fit's batch-only rules
        raise ValueError(f"method={method!r} is descend.fit's optimizer (batch fits of linear models); "
                         f"descend.minimize takes the elementwise rules: {', '.join(map(repr, _BY_NAME))}")
    if method not in OPTIMIZERS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(map(repr, OPTIMIZERS))}")
    x0_arr = np.asarray(x0)
    if x0_arr.dtype.kind not in "biuf":
        raise TypeError(f"x0 must hold real numbers, got dtype {x0_arr.dtype}")
    x = np.array(x0_arr, dtype=np.float32 if x0_arr.dtype == np.float32 else np.float64, order="C")
    if not np.isfinite(x).all():
        raise ValueError("x0 contains NaN or infinity")
    # The core checks max_iter, tol, n_iter_no_change and gtol (as for fit).
    monitor = _core.StoppingMonitor(max_iter=as_int(max_iter, "max_iter"), tol=as_optional_float(tol, "tol"),
                                    n_iter_no_change=as_int(n_iter_no_change, "n_iter_no_change"),
                                    gtol=as_optional_float(gtol, "gtol"))
    check_callable(callback, "callback")
    opt = _BY_NAME[method](x, _check_lr(learning_rate, "learning_rate"), **optimizer_params)
    evaluate = _evaluator(fun, jac, x.shape)

    nit = 0
    while True:
        f, g = evaluate(x)
        status = monitor.check(f, _norm(g))
        if status == "diverged":
            if nit == 0:  # before any step: no learning rate is to blame
                raise DivergenceError(f"fun(x0) is not finite ({f}): check x0 and fun; no learning rate can fix it")
            raise DivergenceError(_core.divergence_message("step", nit, f, monitor.start, opt.current_lr(),
                                                           "method", method))
        if not np.isfinite(g).all():
            raise ValueError(f"the gradient at step {nit} contains NaN or infinity (the objective is {f}); "
                             "check jac (or fun's gradient)")
        if status == "running" and callback is not None:
            if callback(MinimizeResult(x.copy(), f, g.copy(), nit, False, -1, "running")):
                status = "callback"
        if status == "running" and nit == monitor.max_iter:
            status = "max_iter"
        if status != "running":
            break
        opt.step(g, check_finite=False)  # checked above
        nit += 1
    return MinimizeResult(x, f, g, nit, status in ("tol", "gtol"), _STATUS[status],
                          monitor.message(status, nit, "steps"))
