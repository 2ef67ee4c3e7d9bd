"""descend's math in plain NumPy, float64: the oracle for the tests and the
baseline of the benchmarks.

Everything here is written for clarity, not speed: each function is the
textbook formula that the C++ kernels must reproduce (to ~1e-12 relative
in float64). The shuffle is the same SplitMix64 stream and Fisher-Yates
walk as the core's, in pure Python integers, so sgd and minibatch runs can
be replayed exactly.
"""

from __future__ import annotations

import numpy as np

from ._core import DivergenceError
from ._result import FitResult

_MASK = 2**64 - 1

# ---------------------------------------------------------------- losses


def squared_loss(p, y):
    """(p - y)^2"""
    return (p - y) ** 2


def squared_derivative(p, y):
    """d/dp (p - y)^2 = 2 (p - y)"""
    return 2.0 * (p - y)


def logistic_loss(p, y):
    """log(1 + exp(p)) - y p, as logaddexp(0, p) - y p (no overflow)."""
    return np.logaddexp(0.0, p) - y * p


def logistic_derivative(p, y):
    """sigmoid(p) - y"""
    return 0.5 * (1.0 + np.tanh(0.5 * p)) - y


LOSSES = {
    "squared": (squared_loss, squared_derivative),
    "logistic": (logistic_loss, logistic_derivative),
}

TARGETS = {
    "squared": lambda y: np.ones(len(y), bool),
    "logistic": lambda y: (y == 0) | (y == 1),
}


def loss_grad(X, y, coef, intercept=0.0, *, loss="squared", sample_weight=None, l2=0.0):
    """(J, grad, grad_intercept) of
    J = (1/m) sum_i w_i loss(x_i . coef + b, y_i) + (l2/2) ||coef||^2."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    coef = np.asarray(coef, np.float64)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    value, derivative = LOSSES[loss]
    m = X.shape[0]
    p = X @ coef + intercept
    r = w * derivative(p, y)
    J = np.sum(w * value(p, y)) / m + 0.5 * l2 * coef @ coef
    grad = X.T @ r / m + l2 * coef
    return float(J), grad, float(np.sum(r) / m)


def gradient_descent(X, y, theta, learning_rate, num_iterations):
    """The classic loop: theta <- theta - lr * (2/m) X^T (X theta - y)."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    theta = np.array(theta, np.float64)
    m = len(y)
    for _ in range(num_iterations):
        theta = theta - learning_rate * (2.0 / m) * X.T @ (X @ theta - y)
    return theta


# ---------------------------------------------------------------- random


class Random:
    """SplitMix64: the core's portable RNG (descend/random.hpp)."""

    def __init__(self, seed):
        self.state = int(seed) & _MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, bound):
        """Uniform in [0, bound) by rejection of draws below 2^64 mod bound."""
        threshold = (2**64) % bound
        while True:
            r = self.next()
            if r >= threshold:
                return r % bound


def shuffled_order(n, rng):
    """0..n-1 shuffled by Fisher-Yates from the top, as the core does."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64)


# ---------------------------------------------------------------- the solver


def soft_threshold(coef, threshold):
    """sign(c) max(|c| - threshold, 0)"""
    return np.sign(coef) * np.maximum(np.abs(coef) - threshold, 0.0)


def _relative_change(previous, current):
    return abs(previous - current) / max(abs(previous), abs(current), 1.0)


def fit(
    X,
    y,
    *,
    loss="squared",
    method="batch",
    optimizer="gd",
    learning_rate=0.01,
    batch_size=32,
    max_iter=1000,
    tol=1e-6,
    n_iter_no_change=1,
    gtol=None,
    l2=0.0,
    l1=0.0,
    fit_intercept=False,
    coef0=None,
    intercept0=None,
    sample_weight=None,
    shuffle=True,
    seed=0,
):
    """descend.fit in plain NumPy (float64), same arguments and FitResult."""
    if optimizer != "gd":
        raise NotImplementedError(f"reference.fit has no optimizer {optimizer!r}")
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    n, d = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    coef = np.zeros(d) if coef0 is None else np.array(coef0, np.float64)
    b = 0.0 if intercept0 is None else float(intercept0)
    lr = float(learning_rate)

    def objective(rows):
        ww = None if w is None else w[rows]
        J, g, gb = loss_grad(X[rows], y[rows], coef, b, loss=loss, sample_weight=ww, l2=l2)
        return J + l1 * np.abs(coef).sum(), g, gb

    def update(g, gb):
        nonlocal coef, b
        coef = coef - lr * g
        if fit_intercept:
            b = b - lr * gb
        if l1 > 0:
            coef = soft_threshold(coef, lr * l1)

    def grad_norm(g, gb, step_lr):
        if l1 > 0:  # the proximal-gradient step that gtol measures
            g = (coef - soft_threshold(coef - step_lr * g, step_lr * l1)) / step_lr
        return float(np.sqrt(g @ g + (gb * gb if fit_intercept else 0.0)))

    history, status, streak, norm = [], "max_iter", 0, float("nan")
    rng = Random(seed)
    for k in range(max_iter):
        if method == "batch":
            J, g, gb = objective(np.arange(n))
            norm = grad_norm(g, gb, lr)
        else:
            size = 1 if method == "sgd" else batch_size
            order = shuffled_order(n, rng) if shuffle else np.arange(n)
            batch_objectives = []
            for start in range(0, n, size):
                Jb, g, gb = objective(order[start : start + size])
                batch_objectives.append(Jb)
                update(g, gb)
            J = float(np.mean(batch_objectives))
            norm = grad_norm(g, gb, 1.0) if l1 == 0 else float(np.sqrt(g @ g + (gb * gb if fit_intercept else 0.0)))
        history.append(J)
        if not np.isfinite(J) or J > 1e10 * max(history[0], 1.0):
            raise DivergenceError(f"the objective diverged at iteration {k} (objective = {J})")
        if gtol is not None and norm <= gtol:
            status = "gtol"
            break
        if tol is not None and k > 0:
            streak = streak + 1 if _relative_change(history[-2], J) <= tol else 0
            if streak >= n_iter_no_change:
                status = "tol"
                break
        if method == "batch":
            update(g, gb)
    return FitResult(
        coef=coef,
        intercept=b,
        n_iter=len(history),
        converged=status in ("tol", "gtol"),
        status=status,
        message=status,
        loss_history=np.array(history),
        grad_norm=norm,
    )
