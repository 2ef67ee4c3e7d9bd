"""Result and progress types of descend.fit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FitResult:
    """The outcome of descend.fit.

    Attributes
    ----------
    coef : ndarray of shape (n_features,), or (n_features, k) for softmax:
        the fitted coefficients (X's dtype).
    intercept : float (ndarray of k for softmax), the fitted intercept (its
        start value when fit_intercept=False).
    n_iter : int, iterations (method="batch") or epochs (sgd, minibatch) run.
    converged : bool, True when tol or gtol was met.
    status : str, one of "max_iter", "tol", "gtol", "callback", "line_search"
        (optimizer="lbfgs": a line search found no point that decreases the
        objective; the parameters are those of the last check).
    message : str, a sentence saying why the run stopped.
    loss_history : float64 ndarray of shape (n_iter,). For batch, entry k is
        the objective at the parameters iteration k started from; for sgd and
        minibatch, the mean of the mini-batch objectives seen during epoch k.
        After on_divergence="retry" restarts, the path of the parameters
        returned: the checks after each restart point are dropped.
    grad_norm : float, 2-norm of the last gradient computed (for batch with
        l1 > 0, of the proximal-gradient step that gtol measures).
    learning_rate : float, the initial step size eta_0 (1/L for "auto"),
        divided by 10 per on_divergence="retry" restart: the one that worked.
    learning_rate_history : float64 ndarray of shape (n_iter,), the step size
        in force at each check: for batch the one iteration k's update uses,
        for sgd and minibatch the one of epoch k's first update. For
        optimizer="lbfgs", whose line search sets each step's length, its
        first step eta_0 at every check.
    n_evals : int, passes over the data: for batch the loss+gradient
        evaluations (lbfgs's line-search trials and bb's rejected points
        included; on the Gram path passes over S, not X), for sgd and
        minibatch the epochs. None where the result comes from elsewhere.
    """

    coef: np.ndarray
    intercept: float | np.ndarray
    n_iter: int
    converged: bool
    status: str
    message: str
    loss_history: np.ndarray = field(repr=False)
    grad_norm: float
    learning_rate: float
    learning_rate_history: np.ndarray = field(repr=False)
    n_evals: int | None = None

    def __repr__(self) -> str:
        final = self.loss_history[-1] if len(self.loss_history) else float("nan")
        return (
            f"FitResult(status={self.status!r}, converged={self.converged}, n_iter={self.n_iter}, "
            f"objective={final:.6g}, grad_norm={self.grad_norm:.3g}, coef={self.coef!r}, "
            f"intercept={self.intercept!r})"
        )


@dataclass(frozen=True)
class IterationState:
    """What a callback receives after each iteration (batch) or epoch.

    iteration : iterations/epochs completed so far (1 for the first call).
    objective : the objective of that iteration (the loss_history entry).
    grad_norm : 2-norm of the last gradient computed.
    coef : a copy of the current coefficients (shaped like FitResult.coef).
    intercept : the current intercept (k of them for softmax).
    """

    iteration: int
    objective: float
    grad_norm: float
    coef: np.ndarray
    intercept: float | np.ndarray
