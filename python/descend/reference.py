"""descend's math in plain NumPy, float64: the oracle for the tests and the
baseline of the benchmarks.

Everything here is written for clarity, not speed: each function is the
textbook formula that the C++ kernels must reproduce (to ~1e-12 relative
in float64). The shuffle is the same SplitMix64 stream and Fisher-Yates
walk as the core's, in pure Python integers, so sgd and minibatch runs can
be replayed exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._core import DivergenceError
from ._defaults import FIT, ON_DIVERGENCE, RULES
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


def hinge_loss(p, y):
    """max(0, 1 - s p) with s = 2y - 1"""
    return np.maximum(0.0, 1.0 - (2.0 * y - 1.0) * p)


def hinge_derivative(p, y):
    """-s where s p < 1, else 0 (0 at the kink)"""
    s = 2.0 * y - 1.0
    return np.where(1.0 - s * p > 0, -s, 0.0)


def huber_loss(p, y, delta=1.0):
    """r^2/2 where |r| <= delta, else delta (|r| - delta/2); r = p - y"""
    r = np.abs(p - y)
    return np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta))


def huber_derivative(p, y, delta=1.0):
    """clip(p - y, -delta, delta)"""
    return np.clip(p - y, -delta, delta)


def softmax_loss(P, y):
    """-log softmax(P_i)_{y_i} per row of the (m, k) predictions P."""
    top = P.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(P - top).sum(axis=1))
    return lse - P[np.arange(len(y)), y.astype(np.int64)]


def softmax_derivative(P, y):
    """softmax(P_i) - onehot(y_i) per row."""
    E = np.exp(P - P.max(axis=1, keepdims=True))
    S = E / E.sum(axis=1, keepdims=True)
    S[np.arange(len(y)), y.astype(np.int64)] -= 1.0
    return S


LOSSES = {
    "squared": (squared_loss, squared_derivative),
    "logistic": (logistic_loss, logistic_derivative),
    "hinge": (hinge_loss, hinge_derivative),
    "huber": (huber_loss, huber_derivative),
    "softmax": (softmax_loss, softmax_derivative),
}

# Bound on loss''(p), for learning_rate="auto" (None: no Lipschitz gradient).
CURVATURE = {"squared": 2.0, "logistic": 0.25, "hinge": None, "huber": 1.0, "softmax": 0.5}

TARGETS = {
    "squared": lambda y: np.ones(len(y), bool),
    "logistic": lambda y: (y == 0) | (y == 1),
    "hinge": lambda y: (y == 0) | (y == 1),
    "huber": lambda y: np.ones(len(y), bool),
    "softmax": lambda y: (y >= 0) & (y == np.floor(y)),
}


def loss_grad(X, y, coef, intercept=0.0, *, loss="squared", sample_weight=None, l2=0.0, delta=1.0):
    """(J, grad, grad_intercept) of
    J = (1/m) sum_i w_i loss(x_i . coef + b, y_i) + (l2/2) ||coef||^2.

    For softmax coef is (d, k), intercept a number or (k,), and
    grad_intercept an array of k entries."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    coef = np.asarray(coef, np.float64)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    value, derivative = LOSSES[loss]
    if loss == "huber":
        value, derivative = (lambda p, t, f=value: f(p, t, delta)), (lambda p, t, f=derivative: f(p, t, delta))
    m = X.shape[0]
    p = X @ coef + intercept
    r = derivative(p, y) * (w[:, None] if p.ndim == 2 else w)
    J = np.sum(w * value(p, y)) / m + 0.5 * l2 * np.sum(coef * coef)
    grad = X.T @ r / m + l2 * coef
    gb = np.sum(r, axis=0) / m
    return float(J), grad, (gb if p.ndim == 2 else float(gb))


def gram_statistics(X, y, sample_weight=None):
    """S = sum_i w_i z_i z_i^T with z_i = (x_i, 1, y_i): Z^T W Z, Z^T W y and
    y^T W y in one (d + 2) x (d + 2) matrix."""
    X = np.asarray(X, np.float64)
    n = X.shape[0]
    Z = np.column_stack([X, np.ones(n), np.asarray(y, np.float64)])
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    return Z.T @ (w[:, None] * Z)


def gram_loss_grad(S, m, coef, intercept=0.0, *, l2=0.0):
    """loss_grad of the squared loss from S = gram_statistics(X, y, w) over m
    rows: with u = (coef, intercept, -1), sum_i w_i (p_i - y_i)^2 = u^T S u
    and its gradient over (coef, intercept) is 2 (S u)[:d+1]."""
    coef = np.asarray(coef, np.float64)
    u = np.concatenate([coef, [intercept, -1.0]])
    Su = S @ u
    J = float(u @ Su) / m + 0.5 * l2 * np.sum(coef * coef)
    return J, 2.0 * Su[:-2] / m + l2 * coef, float(2.0 * Su[-2] / m)


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


# ---------------------------------------------------------------- update rules

# The hyper-parameters' defaults are the core's (written once, in its
# rule structs); the arithmetic below is independent of it.
DEFAULTS = {rule: {k: v for k, v in d.items() if k != "lr"} for rule, d in RULES.items()}


class Rule:
    """An update rule over one float64 vector, PyTorch's definitions.

    ``step(p, g, lr)`` returns the new parameters; t counts steps from 1.
    """

    def __init__(self, name, size, **hyper):
        unknown = set(hyper) - set(DEFAULTS[name])
        if unknown:
            raise TypeError(f"optimizer {name!r} takes no {sorted(unknown)}")
        self.name = name
        self.h = {**DEFAULTS[name], **hyper}
        self.t = 0
        self.s0 = np.zeros(size)
        self.s1 = np.zeros(size)

    def step(self, p, g, lr):
        self.t += 1
        h, t, name = self.h, self.t, self.name
        if name == "gd":
            return p - lr * g
        if name in ("momentum", "nesterov"):
            self.s0 = h["momentum"] * self.s0 + g
            direction = g + h["momentum"] * self.s0 if name == "nesterov" else self.s0
            return p - lr * direction
        # The adaptive rules' direction first, the rate last (as the core:
        # lr * g alone can overflow where the update does not).
        if name == "adagrad":
            self.s0 = self.s0 + g * g
            return p - lr * (g / (np.sqrt(self.s0) + h["epsilon"]))
        if name == "rmsprop":
            self.s0 = h["rho"] * self.s0 + (1 - h["rho"]) * g * g
            return p - lr * (g / (np.sqrt(self.s0) + h["epsilon"]))
        if name == "adamw":
            p = p * (1 - lr * h["weight_decay"])
        b1, b2 = h["beta_1"], h["beta_2"]
        self.s0 = b1 * self.s0 + (1 - b1) * g
        self.s1 = b2 * self.s1 + (1 - b2) * g * g
        direction = self.s0 / (np.sqrt(self.s1) / np.sqrt(1 - b2**t) + h["epsilon"])
        return p - lr * ((1 / (1 - b1**t)) * direction)


# ---------------------------------------------------------------- schedules


def schedule_at(schedule, t):
    """eta_t of a descend.schedules object (or a float: constant) at update t."""
    if isinstance(schedule, (int, float)):
        return float(schedule)
    kind, p = schedule._spec()
    eta0 = p["eta0"]
    if kind == "Constant":
        return eta0
    if kind == "InverseScaling":
        return eta0 / (t + 1.0) ** p["power_t"]
    if kind == "Exponential":
        return eta0 * p["gamma"] ** t
    if kind == "Step":
        return eta0 * p["gamma"] ** (t // int(p["step_size"]))
    if kind == "Cosine":
        frac = min(t, int(p["t_max"])) / int(p["t_max"])
        return p["eta_min"] + (eta0 - p["eta_min"]) * 0.5 * (1.0 + np.cos(np.pi * frac))
    raise ValueError(f"unknown schedule {kind}")


class ScheduleRun:
    """A learning rate as one run evaluates it: at(t) for update t, and
    check(J) after every check, which moves ReduceOnPlateau:
    the first check sets best = J; a later one improves when
    J < best (1 - threshold) (best = J, count = 0), else count += 1; at
    count == patience: eta = max(eta factor, min_lr), count = 0."""

    def __init__(self, schedule):
        self.schedule = schedule
        kind, p = ("Constant", {"eta0": float(schedule)}) if _is_number(schedule) else schedule._spec()
        self.plateau = p if kind == "ReduceOnPlateau" else None
        self.eta0 = p["eta0"]
        self.eta, self.best, self.bad = p["eta0"], None, 0

    def at(self, t):
        return self.eta if self.plateau else schedule_at(self.schedule, t)

    def check(self, J):
        p = self.plateau
        if p is None:
            return
        if self.best is None or J < self.best * (1.0 - p["threshold"]):
            self.best, self.bad = J, 0
            return
        self.bad += 1
        if self.bad >= p["patience"]:
            self.eta, self.bad = max(self.eta * p["factor"], p["min_lr"]), 0

    def divided_by_10(self):
        """A fresh run of the schedule with every rate (eta0 and its floors) divided by 10."""
        s = self.schedule
        if _is_number(s):
            return ScheduleRun(float(s) / 10)
        rates = {f.name: getattr(s, f.name) / 10 for f in dataclasses.fields(s)
                 if f.name in ("eta0", "eta_min", "min_lr")}
        return ScheduleRun(dataclasses.replace(s, **rates))


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating))


# Restarts on_divergence="retry" makes before it raises.
MAX_RETRIES = 5


def auto_learning_rate(X, loss, method, fit_intercept, l2, sample_weight=None):
    """1/L, L = c lambda_max((1/n) Z^T W Z) + l2 (batch) or c max_i w_i ||z_i||^2 + l2
    (sgd, minibatch), Z = [X, 1] with the intercept; exact eigenvalues here."""
    X = np.asarray(X, np.float64)
    n = X.shape[0]
    Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "batch":
            H = Z.T @ (w[:, None] * Z) / n
            h = np.linalg.eigvalsh(H).max() if np.isfinite(H).all() else np.inf
        else:
            h = np.max(w * np.sum(Z * Z, axis=1))
    return _inverse_lipschitz(CURVATURE[loss] * h + l2)


# ---------------------------------------------------------------- tuning-free batch rules

# The rules precondition="auto" applies to (those linear in the gradient).
PRECONDITIONED_RULES = ("gd", "momentum", "nesterov")


class Scaling:
    """precondition="auto" (and learning_rate="bb"'s first step): the solver
    steps u = (coef, c), c = b + mu^T coef (mu the weighted column means;
    centred only with precondition and a learnt intercept), in the metric
    P = 1/s, s the centred columns' weighted mean squares (the intercept's:
    sum w / n). A column whose centred mean square is <= 1e-12 of its raw
    one takes the raw one; P = 1 where s is 0."""

    def __init__(self, X, w, k, fit_intercept, precondition):
        n, d = X.shape
        w = np.ones(n) if w is None else w
        W = w.sum()
        raw = np.append(w @ (X * X), W) / n
        self.k, self.fit_intercept = k, fit_intercept
        self.mean = (w @ X) / W if precondition and fit_intercept else None
        diag = raw.copy()
        if self.mean is not None:
            centred = raw[:d] - W / n * self.mean**2
            diag[:d] = np.where(centred > 1e-12 * raw[:d], centred, raw[:d])
        self.diagonal = diag
        with np.errstate(divide="ignore"):
            self.columns = np.where((diag > 0) & np.isfinite(1 / diag), 1 / diag, 1.0) if precondition else None

    def p(self):
        """P over the learnt parameters (coef (d, k) row-major, then the intercepts)."""
        if self.columns is None:
            return None
        cols = self.columns if self.fit_intercept else self.columns[:-1]
        return np.repeat(cols, self.k)

    def to_u(self, theta):
        return self._shift(theta, 1.0)

    def from_u(self, u):
        return self._shift(u, -1.0)

    def _shift(self, v, sign):
        if self.mean is None:
            return v
        v = v.copy()
        d, k = len(self.mean), self.k
        v[d * k :] += sign * (self.mean @ v[: d * k].reshape(d, k))
        return v

    def gradient_in_u(self, g):
        if self.mean is None:
            return g
        d, k = len(self.mean), self.k
        g = g.copy()
        g[: d * k] -= np.outer(self.mean, g[d * k :]).ravel()
        return g

    def hessian(self, X, w, fit_intercept):
        """The data term's curvature matrix (1/n) Z^T W Z in the solver's
        scaled coordinates (H itself without P)."""
        n = X.shape[0]
        w = np.ones(n) if w is None else w
        Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
        H = Z.T @ (w[:, None] * Z) / n
        if self.columns is None:
            return H
        if self.mean is not None:
            A = np.eye(len(H))
            A[-1, :-1] = -self.mean
            H = A.T @ H @ A
        root = np.sqrt(self.columns if fit_intercept else self.columns[:-1])
        return root[:, None] * H * root[None, :]

    def max_p(self):
        return 1.0 if self.columns is None or len(self.columns) < 2 else float(self.columns[:-1].max())


def _inverse_lipschitz(L, learning_rate="auto"):
    """1/L; 1 where L = 0 or 1/L overflows; an L that overflows is an error
    (its 1/L would be a step of zero)."""
    if np.isinf(L):
        raise ValueError(f"learning_rate='{learning_rate}' takes steps of 1/L, and L, the gradient's Lipschitz "
                         "bound, overflows for this X (its squared values are past the double range): scale X, "
                         "or pass a learning_rate number")
    return 1.0 / L if L > 0 and np.isfinite(1.0 / L) else 1.0


def l2_norm(v, weights=None):
    """sqrt(sum_j w_j v_j^2). Where the squares overflow though the norm is
    finite (a gradient near 1e300), v is divided by its largest weighted
    magnitude first, as BLAS nrm2 scales (and as the core does)."""
    v = np.asarray(v, np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, np.float64)
    used = w != 0  # a weight of zero adds zero, not 0 * inf
    v, w = v[used], w[used]
    with np.errstate(over="ignore"):
        s = np.sum(w * (v * v))
    if not np.isinf(s):
        return float(np.sqrt(s))
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.max(np.sqrt(w) * np.abs(v))
    if not np.isfinite(m) or m == 0:
        return float("inf")
    u = v / m
    return float(m * np.sqrt(np.sum(w * (u * u))))


def prox_step(y, g, lr, p, n_coef, l1):
    """x+ = prox(y - lr P g): the gradient step in the metric P, then l1's
    soft threshold lr l1 P_j on the first n_coef entries."""
    v = y - lr * p * g
    if l1 > 0:
        v[:n_coef] = soft_threshold(v[:n_coef], lr * l1 * p[:n_coef])
    return v


class Fista:
    """optimizer="nesterov", momentum="auto": FISTA's momentum with adaptive
    gradient restart, over u (y, the point the gradient is taken at)."""

    def __init__(self):
        self.t, self.x = 1.0, None

    def step(self, y, g, lr, p, n_coef, l1):
        x_new = prox_step(y, g, lr, p, n_coef, l1)
        x = np.zeros_like(y) if self.x is None else self.x
        if np.sum((y - x_new) * (x_new - x) / p) > 0:
            self.t = 1.0
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        beta = (self.t - 1.0) / t_next
        self.t, self.x = t_next, x_new
        return x_new + beta * (x_new - x)


BB_MEMORY, BB_GAMMA, BB_MAX_BACKTRACKS, BB_ROUNDING = 30, 1e-4, 60, 16.0


class BarzilaiBorwein:
    """learning_rate="bb": with s the last step and y = g - g_prev, alpha
    alternates between max(s^T P^-1 s / s^T y, alpha0) and
    max(s^T y / y^T P y, alpha0), the long step first (alpha0 when
    s^T y <= 0), a point accepted when J <= max(last 30 accepted
    J) - (1e-4 / (2 alpha)) s^T P^-1 s, or when J <= J_last + 16 m eps
    |J_last| (within the rounding of a sum of m rows) and g^T P g <
    g_prev^T P g_prev, else replaced by the step from the last accepted
    point with alpha / 2 (60 rejections in a row: accepted)."""

    def __init__(self, alpha0):
        self.alpha0 = self.alpha = alpha0
        self.prev, self.g_prev, self.recent, self.backtracks, self.quotients = None, None, [], 0, 0

    def accept(self, u, g, J, rows, p):
        if self.prev is None or self.backtracks >= BB_MAX_BACKTRACKS:
            return True
        s = u - self.prev
        if J <= max(self.recent) - BB_GAMMA / (2 * self.alpha) * np.sum(s * s / p):
            return True
        last = self.recent[-1]
        rounding = BB_ROUNDING * rows * np.finfo(np.float64).eps * abs(last)
        return J <= last + rounding and np.sum(g * g * p) < np.sum(self.g_prev * self.g_prev * p)

    def backtrack(self, p, n_coef, l1):
        self.alpha *= 0.5
        self.backtracks += 1
        return prox_step(self.prev, self.g_prev, self.alpha, p, n_coef, l1)

    def accepted(self, u, g, J, p):
        if self.prev is not None:
            s, y = u - self.prev, g - self.g_prev
            ss, sy, yy = np.sum(s * s / p), np.sum(s * y), np.sum(y * y * p)
            self.alpha = self.alpha0
            if sy > 0:
                self.quotients += 1
                quotient = ss / sy if self.quotients % 2 == 1 else sy / yy
                if np.isfinite(quotient):
                    self.alpha = max(quotient, self.alpha0)
        self.prev, self.g_prev, self.backtracks = u.copy(), g.copy(), 0
        self.recent = (self.recent + [J])[-BB_MEMORY:]


# The core's default of lbfgs's `history` (the twin's own where the core has no lbfgs yet).
LBFGS_DEFAULTS = DEFAULTS.get("lbfgs", {"history": 10})
LBFGS_C1, LBFGS_C2, LBFGS_MAX_EVALS = 1e-4, 0.9, 20
LBFGS_FAILED = ("the line search found no point that decreases the objective in 20 trials (the objective's "
                "last digits may be rounding: a looser gtol or tol stops earlier)")


class Lbfgs:
    """optimizer="lbfgs" (method="batch"): the quasi-Newton direction from
    the last `history` pairs (s_i, y_i) = (u_{i+1} - u_i, g_{i+1} - g_i),
    oldest first, in the solver's coordinates u with the metric P
    (precondition="auto"; else P = 1); g is the smooth part's gradient
    (data mean + l2/2 ||coef||^2), also under l1.

    With l1 > 0 (OWL-QN, Andrew & Gao 2007) the direction is built from the
    pseudo-gradient v of F = f + l1 ||coef||_1 (``pseudo_gradient``) and
    each coefficient of it that does not oppose v is set to 0; the line
    search keeps the trial point in the orthant of u (``orthant``,
    ``project``). The l1 weight in u is l1 itself: u's coefficient entries
    are the real coefficients (precondition only shifts the intercept and
    sets the metric), so F(u) = f(u) + l1 sum_j |u_j| over the
    coefficients, and the metric P enters through H0 = gamma P alone (the
    same l1 as prox_step's threshold lr l1 P_j, which is the proximal step
    of l1 ||.||_1 in the metric P^-1). The minimum-norm subgradient is the
    same in any diagonal metric, so v does not depend on P.
    """

    def __init__(self, history, alpha0, p, n_coef, l1):
        self.history, self.alpha0, self.p, self.n_coef, self.l1 = history, alpha0, p, n_coef, l1
        self.pairs = []  # (s, y, rho), oldest first
        self.u = None  # the accepted trial's u (the next iteration steps from it, not from to_u(from_u(u)))
        self.pending = None  # (F, g, gb) at the accepted trial: the next check's, no extra pass

    def pseudo_gradient(self, u, g):
        """v = g where l1 = 0; else, for a coefficient j:
        g_j + l1 where u_j > 0, g_j - l1 where u_j < 0, and where u_j = 0:
        g_j + l1 if that is < 0, g_j - l1 if that is > 0, else 0
        (the subgradient of F of least magnitude); intercepts: g_j."""
        if self.l1 == 0:
            return g.copy()
        n, l1 = self.n_coef, self.l1
        v = g.copy()
        c, gc = u[:n], g[:n]
        at_zero = np.where(gc + l1 < 0, gc + l1, np.where(gc - l1 > 0, gc - l1, 0.0))
        v[:n] = np.where(c > 0, gc + l1, np.where(c < 0, gc - l1, at_zero))
        return v

    def two_loop(self, q):
        """H q by the two-loop recursion over the pairs, rho_i = 1 / (y_i . s_i):
            for i = m..1: a_i = rho_i (s_i . q); q = q - a_i y_i
            r = gamma P q,  gamma = (s_m . y_m) / (y_m . P y_m)  (alpha0 without pairs)
            for i = 1..m: b = rho_i (y_i . r); r = r + (a_i - b) s_i
        (H is the BFGS inverse-Hessian estimate grown from H0 = gamma P.)"""
        q = q.copy()
        a = []
        for s, y, rho in reversed(self.pairs):
            a.append(rho * np.dot(s, q))
            q = q - a[-1] * y
        if self.pairs:
            s, y, _ = self.pairs[-1]
            gamma = np.dot(s, y) / np.dot(y, self.p * y)
        else:
            gamma = self.alpha0
        r = gamma * self.p * q
        for (s, y, rho), a_i in zip(self.pairs, reversed(a)):
            b = rho * np.dot(y, r)
            r = r + (a_i - b) * s
        return r

    def oppose(self, d, v):
        """l1: d_j = 0 for each coefficient j with d_j v_j >= 0 (d must oppose v)."""
        if self.l1 > 0:
            n = self.n_coef
            d[:n] = np.where(d[:n] * v[:n] >= 0, 0.0, d[:n])
        return d

    def direction(self, u, g):
        """(d, v, dphi0 = v . d): d = -H v, projected by ``oppose``; where
        v . d >= 0 or is not finite the pairs are cleared and
        d = -alpha0 P v (projected again) is taken, whatever its v . d."""
        v = self.pseudo_gradient(u, g)
        with np.errstate(all="ignore"):
            d = self.oppose(-self.two_loop(v), v)
            dphi0 = np.dot(v, d)
            if not (np.isfinite(dphi0) and dphi0 < 0):
                self.pairs = []
                d = self.oppose(-self.alpha0 * self.p * v, v)
                dphi0 = np.dot(v, d)
        return d, v, dphi0

    def orthant(self, u, v):
        """xi_j = sign(u_j) where u_j != 0, else sign(-v_j) (coefficients only)."""
        c = u[: self.n_coef]
        return np.where(c != 0, np.sign(c), np.sign(-v[: self.n_coef]))

    def project(self, trial, xi):
        """trial_j = 0 for each coefficient j whose sign is not xi_j (intercepts kept)."""
        trial = trial.copy()
        n = self.n_coef
        trial[:n] = np.where(np.sign(trial[:n]) != xi, 0.0, trial[:n])
        return trial

    def remember(self, s, y):
        """Keep the pair when s . y > 0 and finite; the newest `history` pairs."""
        with np.errstate(all="ignore"):
            sy = np.dot(s, y)
        if np.isfinite(sy) and sy > 0:
            self.pairs = (self.pairs + [(s, y, 1.0 / sy)])[-self.history :]


def _lbfgs_history(optimizer_params, method, loss, average, state):
    """optimizer="lbfgs"'s `history` (int >= 1), after the checks of what
    lbfgs takes: method="batch", a smooth loss, no averaging, no state."""
    unknown = set(optimizer_params) - set(LBFGS_DEFAULTS)
    if unknown:
        raise TypeError(f"optimizer 'lbfgs' takes no {sorted(unknown)}")
    history = optimizer_params.get("history", LBFGS_DEFAULTS["history"])
    if isinstance(history, bool) or not isinstance(history, (int, np.integer, float)) or not (
            history >= 1 and float(history).is_integer()):
        raise ValueError(f"history must be a whole number >= 1 (the (s, y) pairs lbfgs keeps), got {history!r}")
    history = int(history)
    if method != "batch":
        raise ValueError(f"optimizer='lbfgs' is for method='batch' only, got method={method!r}")
    if CURVATURE[loss] is None:
        raise ValueError(f"optimizer='lbfgs' needs a loss with a Lipschitz gradient, not {loss!r}")
    if average:
        raise ValueError("optimizer='lbfgs' takes no average (average is for method='sgd' and 'minibatch')")
    if state is not None:
        raise ValueError("optimizer='lbfgs' takes no state: a run cannot be continued")
    return int(history)


def _cubic_minimiser(lo, hi):
    """The trial of zoom: the minimiser of the cubic through (lo, phi_lo,
    dphi_lo) and (hi, phi_hi, dphi_hi) (Nocedal & Wright (3.59)):
        d1 = dphi_lo + dphi_hi - 3 (phi_lo - phi_hi) / (lo - hi)
        d2 = sign(hi - lo) sqrt(d1^2 - dphi_lo dphi_hi)
        a  = hi - (hi - lo) (dphi_hi + d2 - d1) / (dphi_hi - dphi_lo + 2 d2)
    the midpoint (lo + hi) / 2 where d1^2 - dphi_lo dphi_hi < 0, where
    anything is not finite, or where a is not inside [lo' + w/10,
    hi' - w/10] (lo', hi' the ends in order, w = hi' - lo').
    lo and hi are trials (a, phi, dphi, ...)."""
    (a_lo, phi_lo, dphi_lo), (a_hi, phi_hi, dphi_hi) = lo[:3], hi[:3]
    middle = (a_lo + a_hi) / 2
    with np.errstate(all="ignore"):
        d1 = dphi_lo + dphi_hi - 3 * (phi_lo - phi_hi) / (a_lo - a_hi)
        disc = d1 * d1 - dphi_lo * dphi_hi
        if not (np.isfinite(d1) and np.isfinite(disc)) or disc < 0:
            a = middle
        else:
            d2 = np.sign(a_hi - a_lo) * np.sqrt(disc)
            a = a_hi - (a_hi - a_lo) * (dphi_hi + d2 - d1) / (dphi_hi - dphi_lo + 2 * d2)
    left, right = min(a_lo, a_hi), max(a_lo, a_hi)
    width = right - left
    if not np.isfinite(a) or a < left + 0.1 * width or a > right - 0.1 * width:
        a = middle
    return a


def strong_wolfe_search(trial_at, phi0, dphi0, c1=LBFGS_C1, c2=LBFGS_C2, max_evals=LBFGS_MAX_EVALS, rounding=0.0):
    """The line search of lbfgs with l1 = 0: the first a in 1, 2, 4, ...
    (and zoom's trials) with the strong Wolfe conditions
        phi(a) <= phi0 + c1 a dphi0   and   |dphi(a)| <= -c2 dphi0,
    phi(a) = f(u + a d), dphi(a) = g(u + a d) . d (Nocedal & Wright,
    Algorithms 3.5 and 3.6):

        a_prev = 0 (phi0, dphi0), a = 1, i = 1; loop:
          phi(a) > phi0 + c1 a dphi0, or i > 1 and phi(a) >= phi(a_prev): zoom(a_prev, a)
          |dphi(a)| <= -c2 dphi0: accept a
          dphi(a) >= 0: zoom(a, a_prev)
          a_prev = a, a = 2 a, i += 1
        zoom(lo, hi): loop: a = _cubic_minimiser(lo, hi)
          phi(a) > phi0 + c1 a dphi0 or phi(a) >= phi(lo): hi = a
          else: |dphi(a)| <= -c2 dphi0: accept a;
                dphi(a) (hi - lo) >= 0: hi = lo;  lo = a

    trial_at(a) is one pass over X and returns (a, phi, dphi, ...) with a
    phi that is not finite as +inf and its dphi as NaN; comparisons with a
    NaN dphi of a finite phi are IEEE's (false). Returns the accepted
    trial, or None after max_evals trials none of which was accepted.

    Where the unit step's promised decrease -dphi0 is at most `rounding`
    (the objective's, 16 m eps |phi0|), phi(a) <= phi0 + rounding also
    counts as sufficient decrease (Hager and Zhang's approximate Wolfe
    conditions: f's differences are noise there, the gradient is not)."""
    noise = -dphi0 <= rounding

    def insufficient(a, phi):
        return phi > phi0 + c1 * a * dphi0 and not (noise and phi <= phi0 + rounding)

    prev, evals = (0.0, phi0, dphi0), 0
    a = 1.0
    lo = hi = None
    while evals < max_evals:  # bracketing
        t = trial_at(a)
        evals += 1
        if insufficient(a, t[1]) or (evals > 1 and t[1] >= prev[1]):
            lo, hi = prev, t
            break
        if abs(t[2]) <= -c2 * dphi0:
            return t
        if t[2] >= 0:
            lo, hi = t, prev
            break
        prev, a = t, 2 * a
    while evals < max_evals and lo is not None:  # zoom
        a = _cubic_minimiser(lo, hi)
        t = trial_at(a)
        evals += 1
        if insufficient(a, t[1]) or t[1] >= lo[1]:
            hi = t
        else:
            if abs(t[2]) <= -c2 * dphi0:
                return t
            if t[2] * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = t
    return None


def orthant_backtracking(trial_at, F0, max_evals=LBFGS_MAX_EVALS, c1=LBFGS_C1):
    """The line search of lbfgs with l1 > 0 (OWL-QN): a = 1, 1/2, 1/4, ...;
    trial_at(a) projects u + a d onto u's orthant (Lbfgs.project), makes
    one pass over X and returns (a, F, v . (u(a) - u), ...); the first
    trial with F(u(a)) <= F0 + c1 v . (u(a) - u) is accepted (a F that is
    not finite never is). None after max_evals trials."""
    a = 1.0
    for _ in range(max_evals):
        t = trial_at(a)
        if t[1] <= F0 + c1 * t[2]:
            return t
        a = a / 2
    return None


# ---------------------------------------------------------------- the solver


def prox_gradient(u, g, lr, p, n_coef, l1):
    """(u - prox(u - lr P g)) / lr, the proximal-gradient step, whose norm
    gtol measures under l1; at lr = 0 (a schedule ending at 0) its limit,
    P times the least subgradient: g_j + l1 sign(u_j), or
    sign(g_j) max(|g_j| - l1, 0) at u_j = 0 (coefficients; the rest P g)."""
    if lr > 0:
        return (u - prox_step(u, g, lr, p, n_coef, l1)) / lr
    least = np.array(g, dtype=np.float64)
    c = u[:n_coef]
    least[:n_coef] = np.where(c != 0, g[:n_coef] + l1 * np.sign(c), soft_threshold(g[:n_coef], l1))
    return p * least


def soft_threshold(coef, threshold):
    """sign(c) max(|c| - threshold, 0)"""
    return np.sign(coef) * np.maximum(np.abs(coef) - threshold, 0.0)


def _relative_change(previous, current):
    return abs(previous - current) / max(abs(previous), abs(current), 1.0)


# A diverging run may overflow before the check that stops it, as the
# core's does (silently): divergence is read from the values.
@np.errstate(over="ignore", invalid="ignore")
def fit(
    X,
    y,
    *,
    loss=FIT["loss"],
    method=FIT["method"],
    optimizer=FIT["optimizer"],
    learning_rate=FIT["learning_rate"],
    batch_size=FIT["batch_size"],
    max_iter=FIT["max_iter"],
    tol=FIT["tol"],
    n_iter_no_change=FIT["n_iter_no_change"],
    gtol=FIT["gtol"],
    on_divergence=FIT["on_divergence"],
    l2=FIT["l2"],
    l1=FIT["l1"],
    fit_intercept=FIT["fit_intercept"],
    coef0=None,
    intercept0=None,
    sample_weight=None,
    shuffle=FIT["shuffle"],
    seed=FIT["seed"],
    delta=FIT["delta"],
    precompute=FIT["precompute"],
    average=FIT["average"],
    precondition=FIT["precondition"],
    state=None,
    **optimizer_params,
):
    """descend.fit in plain NumPy (float64), same arguments and FitResult.

    precompute=True takes the squared loss's batch objective and gradient
    from gram_statistics; False (and "auto") from the rows. average=k
    (True: 1) returns the mean of the iterates after updates k, k+1, ...
    state: a dict a run continues from when filled ("t", the rule's "s0"
    and "s1", the shuffle's "rng", the schedule's "lrs", the running "avg"
    and, with averaging, the last "iterate" to resume from) and leaves its
    end in.

    on_divergence="retry": after a divergence the run goes back to the
    best point checked so far, the lowest objective, the latest of equal
    ones (batch: the point a check started from, checked again;
    sgd/minibatch: the end of an epoch, or the start, whose objective
    over all rows is computed for this), and runs from there as a fresh
    run (new rule state, schedule clock, ReduceOnPlateau state and
    shuffle stream from ``seed``) with every rate divided by 10; the
    history keeps the checks that led to that point and J_0 stays the
    divergence test's reference. At most MAX_RETRIES times; a start whose
    objective is not finite is not retried.

    optimizer="lbfgs" (method="batch", a smooth loss; hyper-parameter
    history, an int >= 1, default 10): in the solver's coordinates u (those
    of precondition="auto", with its metric P; else u = (coef, intercept),
    P = 1), iteration k checks u_k exactly as the other batch rules do
    (loss_history[k] = F(u_k), the divergence test, gtol on
    grad_norm(g, gb, alpha0), tol), then takes the direction d of
    Lbfgs.direction and the step of strong_wolfe_search (l1 = 0) or
    orthant_backtracking (l1 > 0). Each trial is one pass over X; the
    accepted one's objective and gradient are the next check's (no extra
    pass), and its pair (s, y) of smooth gradients is kept when s . y > 0.
    alpha0 is learning_rate="bb"'s first step; learning_rate is unused.
    Where the spec left a choice, the twin takes the simplest:
    - learning_rate and every learning_rate_history entry are alpha0 (the
      step lengths the line searches accept are not recorded);
    - the l1 weight in u is l1 itself: u's coefficient entries are the
      coefficients (precondition shifts the intercept only), so F(u) =
      f(u) + l1 sum |u_j| and P enters through H0 = gamma P only (see Lbfgs);
    - iteration 0 steps from u_0 = to_u(coef0, intercept0); every later one
      from the accepted trial's u itself, not from to_u(from_u(u));
    - a trial whose objective is not finite counts as phi = +inf, dphi = NaN;
      a finite phi with a dphi that is not finite is compared as it is
      (IEEE: comparisons with NaN are false);
    - no trial accepted in 20: status "line_search" (converged False), the
      parameters of the last check, n_iter = the checks made;
    - on_divergence="retry" as for "bb": back to the best checked point, a
      fresh Lbfgs (no pairs) with alpha0 / 10 (gamma without pairs, the
      fallback direction and gtol's step all take the new alpha0);
    - FitResult.n_evals: the passes over X, the start's and every trial's,
      over all attempts (None for the other rules);
    - state=, average= and methods other than "batch" are refused (ValueError).
    """
    if on_divergence not in ON_DIVERGENCE:
        raise ValueError(f"unknown on_divergence {on_divergence!r}; expected one of {ON_DIVERGENCE}")
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    n, d = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if loss == "softmax":
        k = np.shape(coef0)[1] if coef0 is not None else max(int(y.max()) + 1, 2)
        coef = np.zeros((d, k)) if coef0 is None else np.array(coef0, np.float64)
        b = np.zeros(k) + (0.0 if intercept0 is None else np.asarray(intercept0, np.float64))
    else:
        k = 1
        coef = np.zeros(d) if coef0 is None else np.array(coef0, np.float64)
        b = 0.0 if intercept0 is None else float(intercept0)
    size = coef.size + (k if fit_intercept else 0)
    lbfgs = optimizer == "lbfgs"
    if lbfgs:
        history_size = _lbfgs_history(optimizer_params, method, loss, average, state)
        optimizer_params = {}
    fista = isinstance(optimizer_params.get("momentum"), str)  # momentum="auto"
    if fista:
        optimizer_params = {key: v for key, v in optimizer_params.items() if key != "momentum"}
    bb = learning_rate == "bb" or lbfgs  # lbfgs: bb's first step is its alpha0, and learning_rate is unused
    scaled = precondition == "auto" and method == "batch" and (optimizer in PRECONDITIONED_RULES or lbfgs)
    scaling = Scaling(X, w, k, fit_intercept, scaled) if scaled or bb else None
    P = scaling.p() if scaled else np.ones(size)
    if bb:
        diag = scaling.diagonal if fit_intercept else scaling.diagonal[:-1]
        cols = 1.0 if not scaled else (scaling.columns if fit_intercept else scaling.columns[:-1])
        learning_rate = _inverse_lipschitz(CURVATURE[loss] * np.sum(diag * cols) + l2 * scaling.max_p(), "bb")
    elif learning_rate == "auto" and scaled:
        h = np.linalg.eigvalsh(scaling.hessian(X, w, fit_intercept)).max()
        learning_rate = _inverse_lipschitz(CURVATURE[loss] * h + l2 * scaling.max_p())
    elif isinstance(learning_rate, str):
        learning_rate = auto_learning_rate(X, loss, method, fit_intercept, l2, w)
    average_from = int(average)
    gram = gram_statistics(X, y, w) if precompute is True and loss == "squared" and method == "batch" else None

    def objective(rows):
        if gram is not None:
            J, g, gb = gram_loss_grad(gram, n, coef, b, l2=l2)
            return J + l1 * np.abs(coef).sum(), g, gb
        ww = None if w is None else w[rows]
        J, g, gb = loss_grad(X[rows], y[rows], coef, b, loss=loss, sample_weight=ww, l2=l2, delta=delta)
        return J + l1 * np.abs(coef).sum(), g, gb

    def learnt(g, gb):  # the flat vector the rule updates: coef, then intercept(s)
        return np.concatenate([np.ravel(g), np.ravel(gb)]) if fit_intercept else np.ravel(g)

    def set_theta(theta):
        nonlocal coef, b
        coef = theta[: coef.size].reshape(coef.shape)
        if fit_intercept:
            b = theta[coef.size :] if loss == "softmax" else float(theta[-1])

    def in_u(g, gb):  # (u, the gradient in u): the coordinates precondition="auto" steps in
        if scaling is None:
            return learnt(coef, b), learnt(g, gb)
        return scaling.to_u(learnt(coef, b)), scaling.gradient_in_u(learnt(g, gb))

    def from_u(u):
        set_theta(u if scaling is None else scaling.from_u(u))

    def update(g, gb, lr):
        nonlocal coef, b
        if fista or scaled:
            u, gu = in_u(g, gb)
            if fista:
                u = accelerated.step(u, gu, lr, P, coef.size, l1)
                rule.t += 1
            else:
                u = rule.step(u, P * gu, lr)
                if l1 > 0:
                    u[: coef.size] = soft_threshold(u[: coef.size], lr * l1 * P[: coef.size])
            from_u(u)
            fold_average()
            return
        theta = rule.step(learnt(coef, b), learnt(g, gb), lr)
        coef = theta[: coef.size].reshape(coef.shape)
        if fit_intercept:
            b = theta[coef.size :] if loss == "softmax" else float(theta[-1])
        if l1 > 0:
            coef = soft_threshold(coef, lr * l1)
        fold_average()

    avg = {"theta": None}

    def fold_average():  # avg += (theta - avg) / (updates averaged so far), from update `average_from` on
        if average_from > 0 and rule.t >= average_from:
            theta = learnt(coef, b)
            count = rule.t - average_from + 1
            avg["theta"] = theta.copy() if count == 1 else avg["theta"] + (theta - avg["theta"]) / count

    n_evals = 0  # passes over X at the parameters (batch)

    def evaluate():  # objective over all rows at the current parameters: one pass over X
        nonlocal n_evals
        n_evals += 1
        return objective(np.arange(n))

    def lbfgs_update(J, g, gb):  # iteration k's update from u_k; False where the line search failed
        nonlocal coef, b
        theta_k = (coef.copy(), np.copy(b))
        u, gu = in_u(g, gb)
        if quasi.u is not None:  # the accepted trial's own u, not to_u(from_u(u))
            u = quasi.u
        d, v, dphi0 = quasi.direction(u, gu)

        def trial(point):  # one pass over X at u = point: (F, g, gb, g in u)
            from_u(point)
            F, g1, gb1 = evaluate()
            return np.float64(F), g1, gb1, in_u(g1, gb1)[1]

        if l1 == 0:
            def trial_at(a):
                point = u + a * d
                F, g1, gb1, gu1 = trial(point)
                if not np.isfinite(F):
                    return (a, np.inf, np.nan, point, F, g1, gb1, gu1)
                with np.errstate(all="ignore"):
                    return (a, F, np.dot(gu1, d), point, F, g1, gb1, gu1)

            rounding = BB_ROUNDING * n * np.finfo(np.float64).eps * abs(J)
            found = strong_wolfe_search(trial_at, np.float64(J), dphi0, rounding=rounding)
        else:
            xi = quasi.orthant(u, v)

            def trial_at(a):
                point = quasi.project(u + a * d, xi)
                F, g1, gb1, gu1 = trial(point)
                with np.errstate(all="ignore"):
                    return (a, F, np.dot(v, point - u), point, F, g1, gb1, gu1)

            found = orthant_backtracking(trial_at, np.float64(J))
        if found is None:  # back to u_k, the point of the last check
            coef, b = theta_k[0], (theta_k[1] if np.ndim(theta_k[1]) else float(theta_k[1]))
            return False
        point, F, g1, gb1, gu1 = found[3:]
        from_u(point)
        with np.errstate(all="ignore"):
            quasi.remember(point - u, gu1 - gu)
        quasi.u, quasi.pending = point, (F, g1, gb1)
        return True

    def grad_norm(g, gb, step_lr):
        if scaled:  # in the scaled coordinates: sqrt(sum P g_u^2), or l1's step there
            u, gu = in_u(g, gb)
            if l1 > 0:
                step = prox_gradient(u, gu, step_lr, P, coef.size, l1)
                with np.errstate(divide="ignore"):  # P_j = 0 (underflowed) adds zero
                    return l2_norm(step, np.where(P == 0, 0.0, 1.0 / P))
            return l2_norm(gu, P)
        if l1 > 0:  # the proximal-gradient step that gtol measures
            g = prox_gradient(np.ravel(coef), np.ravel(g), step_lr, np.ones(coef.size), coef.size, l1).reshape(
                np.shape(g))
        return l2_norm(learnt(g, gb))

    history, lr_history, norm = [], [], float("nan")
    J0 = None  # the first check's objective, the divergence test's reference
    lrs, retries = ScheduleRun(learning_rate), 0
    # The restart point: parameters, the checks that lead there, its objective
    # (batch: its first check's; epochs: a pass over all rows).
    start = objective(np.arange(n))[0] if method != "batch" and on_divergence == "retry" else np.inf
    restart = (coef.copy(), np.copy(b), 0, start if np.isfinite(start) else np.inf)
    resume = state is not None and state.get("started")
    while True:  # one attempt per pass: the first run, then each restart
        rule = Rule("gd" if lbfgs else optimizer, size, **optimizer_params)  # lbfgs: rule.t stays 0
        accelerated, steps = Fista(), BarzilaiBorwein(lrs.eta0) if bb and not lbfgs else None
        quasi = Lbfgs(history_size, lrs.eta0, P, coef.size, l1) if lbfgs else None
        rng = Random(seed)
        avg["theta"] = None
        if resume:  # the first attempt continues the run the state holds
            resume = False
            rule.t, rule.s0, rule.s1 = state["t"], state["s0"].copy(), state["s1"].copy()
            rng.state, avg["theta"], lrs = state["rng"], state["avg"], state["lrs"]
            if state["avg"] is not None:  # averaging: resume from the last iterate, not the average
                coef = state["iterate"][: coef.size].reshape(coef.shape).copy()
                if fit_intercept:
                    b = state["iterate"][coef.size :].copy() if loss == "softmax" else float(state["iterate"][-1])
        status, streak, diverged = "max_iter", 0, False
        first = len(history)  # this attempt's first check: tol has nothing to compare it with
        it = first
        while it < max_iter:
            lr = lrs.at(rule.t)
            if method == "batch":
                if quasi is not None and quasi.pending is not None:  # evaluated by the line search
                    J, g, gb = quasi.pending
                else:
                    J, g, gb = evaluate()
                if steps is not None:  # a rejected point is no check
                    u, gu = in_u(g, gb)
                    if not steps.accept(u, gu, J, n, P):
                        from_u(steps.backtrack(P, coef.size, l1))
                        continue
                    steps.accepted(u, gu, J, P)
                    lr = steps.alpha
                norm = grad_norm(g, gb, lr)
            else:
                rows = 1 if method == "sgd" else batch_size
                order = shuffled_order(n, rng) if shuffle else np.arange(n)
                batch_objectives = []
                for start in range(0, n, rows):
                    Jb, g, gb = objective(order[start : start + rows])
                    batch_objectives.append(Jb)
                    update(g, gb, lrs.at(rule.t))
                J = float(np.mean(batch_objectives))
                norm = l2_norm(learnt(g, gb))
            history.append(J)
            lr_history.append(lr)
            J0 = J if J0 is None else J0
            if not np.isfinite(J) or J > 1e10 * max(J0, 1.0):
                diverged = True
                break
            lrs.check(J)
            if J <= restart[3]:  # batch checks the point an iteration starts from; an epoch where it ends
                restart = (coef.copy(), np.copy(b), it if method == "batch" else it + 1, J)
            if gtol is not None and norm <= gtol:
                status = "gtol"
                break
            if tol is not None and it > first:
                streak = streak + 1 if _relative_change(history[-2], J) <= tol else 0
                if streak >= n_iter_no_change:
                    status = "tol"
                    break
            if lbfgs:
                if not lbfgs_update(J, g, gb):
                    status = "line_search"
                    break
            elif method == "batch":
                update(g, gb, lr)
            it += 1
        if not diverged:
            break
        at = len(history) - 1
        if on_divergence != "retry" or not np.isfinite(restart[3]) or retries == MAX_RETRIES:
            raise DivergenceError(f"the objective diverged at iteration {at} (objective = {J}) "
                                  f"after {retries} retries")
        retries += 1
        keep = restart[2]
        coef = restart[0].copy()
        b = np.copy(restart[1]) if np.ndim(restart[1]) else float(restart[1])
        del history[keep:], lr_history[keep:]
        lrs = lrs.divided_by_10()
    if state is not None:
        state.update(started=True, t=rule.t, s0=rule.s0.copy(), s1=rule.s1.copy(), rng=rng.state, lrs=lrs,
                     avg=avg["theta"], iterate=learnt(coef, b).copy())
    if avg["theta"] is not None:
        coef = avg["theta"][: coef.size].reshape(coef.shape)
        if fit_intercept:
            b = avg["theta"][coef.size :] if loss == "softmax" else float(avg["theta"][-1])
    note = f" (after {retries} retr{'y' if retries == 1 else 'ies'}: learning rate divided by 1{'0' * retries})"
    return FitResult(
        coef=coef,
        intercept=b,
        n_iter=len(history),
        converged=status in ("tol", "gtol"),
        status=status,
        message=(LBFGS_FAILED if status == "line_search" else status) + (note if retries else ""),
        loss_history=np.array(history),
        grad_norm=norm,
        learning_rate=lrs.eta0,
        learning_rate_history=np.array(lr_history),
        n_evals=n_evals if lbfgs else None,
    )
