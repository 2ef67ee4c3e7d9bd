"""scikit-learn estimators backed by descend.fit: GDRegressor and GDClassifier.

Both fit the linear model p = X coef + intercept by minimising

    J = (1 / sum_i w_i) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2 + l1 ||coef||_1

with the C++ solver of :func:`descend.fit` (same methods, update rules,
learning rates and stopping rules). Sample weights (times class weights)
are rescaled to mean 1 before the fit, so a weight of 2 is the same
objective as a repeated row and a weight of 0 as a removed one.

Importing this module needs scikit-learn (``pip install "descend[sklearn]"``).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.class_weight import compute_class_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError(
        "descend.GDRegressor and descend.GDClassifier need scikit-learn >= 1.6: "
        "pip install 'descend[sklearn]'"
    ) from error

from ._defaults import DEFAULT_L2, FIT, HYPER_PARAMS
from ._dtypes import native_dtype
from ._fit import fit as _descend_fit
from ._sparse import check_structure, is_sparse
from ._state import FitState
from ._validation import cast_to

__all__ = ["GDClassifier", "GDRegressor"]

_DTYPES = [np.float64, np.float32]

# The estimators' defaults, chosen so that a first fit converges on real
# data (README, "Which method converges fastest"): scikit-learn's SGD
# alpha as l2 (LogisticRegression(C) is l2 = 1 / (C n)), Barzilai-Borwein
# steps with centred Jacobi preconditioning, and for batch a stop on the
# preconditioned gradient norm instead of the objective's change (the l2,
# DEFAULT_L2, is in _defaults.py, where descend.bench reads it without
# scikit-learn).
# gtol="auto" (batch): coefficients within 1e-4 relative of the optimum on
# kappa ~1e6 problems (~5e-5 measured; ~1e-6 on scikit-learn's bundled
# datasets) in float64; float32 parameters hold ~7 digits, so their
# gradient settles higher.
AUTO_GTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-5}
# max_iter="auto" (batch): room for an ill-conditioned problem (kappa ~1e6
# took up to ~14,000); a well-conditioned one meets gtol in a few hundred.
AUTO_MAX_ITER = 20_000
# scipy.sparse formats used in place; any other is converted by validate_data.
_SPARSE = ("csr", "csc")


def _seed(random_state) -> int | None:
    """descend.fit's seed from a scikit-learn random_state (int, RandomState or None)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _validate_data(estimator, X, *args, **kwargs):
    """scikit-learn's validate_data under descend's rules for X, for fit and
    predict alike: a scipy.sparse X's structure is checked first (the one
    check descend.fit makes: scikit-learn's conversions and products index
    memory by its arrays unchecked), and X's dtype follows descend's one
    rule (float16 becomes float32, not scikit-learn's float64)."""
    if is_sparse(X):
        X = check_structure(X)
    dtype = getattr(X, "dtype", None)
    wanted = np.float32 if isinstance(dtype, np.dtype) and dtype == np.float16 else _DTYPES
    return validate_data(estimator, X, *args, dtype=wanted, accept_sparse=_SPARSE, **kwargs)


def _is_dask(X) -> bool:
    """Whether X is a dask array (dask is not imported to ask)."""
    return type(X).__module__.startswith("dask.array")


def _blockwise(f, X, out_cols):
    """f over a dask X's row blocks, lazily (dask-ml's way): a dask array of
    f's rows, 1-D when out_cols is None, else (n, out_cols)."""
    if out_cols is None:
        return X.map_blocks(f, drop_axis=1, dtype=np.float64)
    return X.map_blocks(f, chunks=(X.chunks[0], (out_cols,)), dtype=np.float64)


def _contiguous(X):
    """A row subset of X as descend.fit reads it in place: C order for dense, sparse as it is."""
    return X if hasattr(X, "tocsr") else np.ascontiguousarray(X)


def _unit_mean(weights: np.ndarray) -> np.ndarray:
    """Weights rescaled to mean 1 (a fit's objective then divides by their sum)."""
    total = float(np.sum(weights, dtype=np.float64))
    if not total > 0.0:
        raise ValueError("sample_weight must have a positive sum (after class_weight)")
    return (weights * (len(weights) / total)).astype(weights.dtype, copy=False)


class _GDBase(BaseEstimator):
    """What both estimators share: parameters, the call to descend.fit, early stopping."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC X are fitted without densifying
        return tags

    def _fit_options(self) -> dict:
        options = dict(
            method=self.method,
            optimizer=self.optimizer,
            learning_rate=self._learning_rate(),
            batch_size=self.batch_size,
            on_divergence=self.on_divergence,
            l2=self.l2,
            l1=self.l1,
            fit_intercept=self.fit_intercept,
            shuffle=self.shuffle,
            n_threads=self.n_threads,
            progress=bool(self.verbose),  # the progress bar on stderr
            average=self.average,
            precondition=self.precondition,
            check_finite=False,  # validate_data has checked X and y
        )
        for name in HYPER_PARAMS:
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        return options

    def _learning_rate(self):
        """learning_rate=None: "bb" for batch gd (the fastest to converge), else "auto" (1/L)."""
        if self.learning_rate is None:
            return "bb" if self.method == "batch" and self.optimizer == "gd" else "auto"
        return self.learning_rate

    def _max_iter(self):
        """max_iter="auto": AUTO_MAX_ITER iterations for batch, descend.fit's 1000 epochs otherwise."""
        if isinstance(self.max_iter, str) and self.max_iter == "auto":
            return AUTO_MAX_ITER if self.method == "batch" else FIT["max_iter"]
        return self.max_iter

    def _gtol_decides(self) -> bool:
        """Whether the "auto" stop is gtol's: batch with a smooth loss and tol="auto"."""
        return self.method == "batch" and self.loss != "hinge" and isinstance(self.tol, str) and self.tol == "auto"

    def _tol(self):
        """tol="auto": none when gtol decides, else descend.fit's."""
        if isinstance(self.tol, str) and self.tol == "auto":
            return None if self._gtol_decides() else FIT["tol"]
        return self.tol

    def _gtol(self, dtype):
        """gtol="auto": AUTO_GTOL (by X's dtype) when it decides, else none
        (an explicit tol=None runs max_iter, with no warning)."""
        if isinstance(self.gtol, str) and self.gtol == "auto":
            return AUTO_GTOL.get(np.dtype(dtype), AUTO_GTOL[np.dtype(np.float64)]) if self._gtol_decides() else None
        return self.gtol

    def _validate_dask(self, X, y, reset: bool):
        """A dask X as it is (descend.dask checks its blocks on the workers);
        y computed (labels and targets are small), as a NumPy array."""
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
        if reset:
            self.n_features_in_ = int(X.shape[1])
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        dtype = native_dtype(X.dtype, "X", "a dask array")  # X's one rule, as descend.dask.fit's
        if X.dtype != dtype:
            X = X.astype(dtype)
        y = np.asarray(y.compute() if _is_dask(y) else y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be 1-D with one entry per row of X, got shape {y.shape}")
        return X, y

    def _check_early_stopping(self) -> None:
        if self.early_stopping:
            fraction = self.validation_fraction
            if not (isinstance(fraction, numbers.Real) and 0.0 < fraction < 1.0):
                raise ValueError(f"validation_fraction must be in (0, 1), got {fraction!r}")

    def _run(self, X, y, w, *, loss, coef0, intercept0, seed, max_iter, tol, validation, state):
        """descend.fit on (X, y, w), with early stopping on `validation` when given.

        Returns (FitResult, coef, intercept, stopped_early); with early
        stopping, coef and intercept are the best ones seen on the
        validation rows.
        """
        options = dict(self._fit_options(), gtol=self._gtol(X.dtype))
        tol = self._tol() if isinstance(tol, str) else tol
        callback = None
        monitor = None
        if validation is not None:
            early_tol = FIT["tol"] if isinstance(self.tol, str) else self.tol
            monitor = _EarlyStopping(validation, self._validation_score, early_tol, self.n_iter_no_change)
            callback = monitor
            tol = None  # the validation score decides, as in scikit-learn's SGD
        fit = _descend_fit
        if _is_dask(X):
            if validation is not None:
                raise ValueError("early_stopping is not available for dask arrays (it needs a validation split)")
            from .dask import fit

            options.pop("check_finite")  # descend.dask checks the blocks on the workers
            if options.pop("average"):
                raise ValueError("average is not available for dask arrays (parameter mixing averages the blocks)")
        else:
            options["state"] = state  # the update count, rule state and shuffle continue
        result = fit(
            X, y, loss=loss, delta=self._delta(), max_iter=max_iter, tol=tol,
            n_iter_no_change=self.n_iter_no_change, coef0=coef0, intercept0=intercept0,
            sample_weight=w, seed=seed, callback=callback, **options,
        )
        if monitor is not None and monitor.best is not None:
            coef, intercept = monitor.best
            return result, coef, intercept, result.status == "callback"
        return result, result.coef, result.intercept, False

    def _delta(self) -> float:
        return 1.0

    def _record(self, result, stopped_early: bool) -> None:
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = np.asarray(result.loss_history, dtype=np.float64)
        self.converged_ = bool(result.converged or stopped_early)

    def _history_so_far(self, first: bool):
        """(n_iter_, loss_curve_) before a partial_fit call."""
        return (0, np.empty(0)) if first else (self.n_iter_, self.loss_curve_)

    def _extend_history(self, before) -> None:
        """After a partial_fit call: its epoch appended to the earlier ones."""
        n_iter, curve = before
        self.n_iter_ += n_iter
        self.loss_curve_ = np.concatenate([curve, self.loss_curve_])

    def _warn_max_iter(self) -> None:
        # No stopping rule asked for (tol and gtol None): max_iter is the plan,
        # not a failure (scikit-learn's SGD warns only with a tol, too).
        if not self.converged_ and (self._tol() is not None or self._gtol(np.float64) is not None):
            warnings.warn(
                f"{type(self).__name__} stopped at max_iter={self._max_iter()} before tol was met; "
                "raise max_iter or tol, or scale the data",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _split(self, X, y, w, stratify):
        """(train X, y, w), and the validation rows for early stopping (or None)."""
        if not self.early_stopping:
            return X, y, w, None
        X_tr, X_va, y_tr, y_va, w_tr, w_va = train_test_split(
            X, y, w, test_size=self.validation_fraction, random_state=_seed(self.random_state),
            stratify=stratify,
        )
        return _contiguous(X_tr), y_tr, w_tr, (_contiguous(X_va), y_va, w_va)


class _EarlyStopping:
    """A descend.fit callback: stops when the validation score has not
    improved by tol for n_iter_no_change iterations/epochs in a row, and
    keeps the best parameters seen."""

    def __init__(self, validation, score, tol, patience):
        self.X, self.y, self.w = validation
        self.score = score
        self.tol = 0.0 if tol is None else float(tol)
        self.patience = int(patience)
        self.best_score = -np.inf
        self.best = None
        self.stale = 0

    def __call__(self, state) -> bool:
        score = self.score(self.X, self.y, self.w, state.coef, state.intercept)
        if score > self.best_score:
            self.best = (state.coef, state.intercept)
        if score > self.best_score + self.tol:
            self.stale = 0
        else:
            self.stale += 1
        self.best_score = max(self.best_score, score)
        return self.stale >= self.patience


class GDRegressor(RegressorMixin, _GDBase):
    r"""Linear regression by gradient descent (descend's C++ solver).

    Minimises (1/sum w) sum_i w_i loss(x_i . coef + b, y_i) + (l2/2)||coef||^2
    + l1 ||coef||_1 with loss "squared" ((p - y)^2) or "huber" (r^2/2 for
    |r| <= delta, delta (|r| - delta/2) beyond; r = p - y).

    Parameters
    ----------
    loss : {"squared", "huber"}
    delta : float, the huber threshold (> 0).
    method : {"batch", "sgd", "minibatch"}, rows per update: all, one, or
        ``batch_size``.
    optimizer : {"gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    learning_rate : None, float, "bb" (Barzilai-Borwein steps with a
        nonmonotone safeguard; batch, gd), "auto" (1/L, the gradient's
        Lipschitz bound; gd/momentum/nesterov) or a descend.schedules object.
        None (the default): "bb" for method="batch" with optimizer="gd",
        "auto" otherwise
        (``schedules.ReduceOnPlateau(eta0)`` is scikit-learn's "adaptive").
        ``optimizer="nesterov", momentum="auto"`` with "auto" is FISTA with
        adaptive restart (see descend.fit).
    batch_size : int, rows per update for method="minibatch".
    max_iter : int or "auto", most iterations (batch) or epochs (sgd,
        minibatch); "auto": 20,000 iterations for batch, 1,000 epochs otherwise.
    tol : float, None or "auto", stop when the relative change of the
        objective (or, with early_stopping, the gain of the validation R^2)
        is <= tol for ``n_iter_no_change`` iterations/epochs in a row.
        "auto": None for batch with a smooth loss (gtol decides), else 1e-6
        (and 1e-6 for early stopping).
    n_iter_no_change : int
    gtol : float, None or "auto", method="batch": stop when the gradient
        norm (preconditioned, ||D^-1 g||, with precondition="auto") is <=
        gtol. "auto": 1e-9 for float64 X, 1e-5 for float32 when tol="auto",
        the method is batch and the loss smooth (None otherwise: an
        explicit tol=None runs max_iter); on scikit-learn's bundled
        datasets it gives coefficients within ~1e-6 relative of the
        optimum, within 1e-4 on kappa ~1e6 problems.
    on_divergence : {"raise", "retry"}, what a diverging objective does:
        raise DivergenceError, or go back to the best point so far and run
        on with the learning rate divided by 10 (at most 5 times); see
        :func:`descend.fit`.
    l2, l1 : float, ridge and lasso strengths (the intercept is never penalised).
        l2 defaults to 1e-4, scikit-learn's SGD ``alpha``; for squared loss
        it is ``Ridge(alpha=l2 n / 2)``, for logistic
        ``LogisticRegression(C=1 / (l2 n))``.
    fit_intercept : bool
    shuffle : bool, reshuffle the rows every epoch (sgd, minibatch).
    random_state : int, RandomState or None; seeds the shuffle and the
        validation split. None: a fresh seed each fit.
    n_threads : int or None, threads of the kernels (results do not depend on it).
    verbose : bool, show descend.fit's progress bar on stderr (``progress=True``):
        the iterations/epochs done out of max_iter, the objective and the
        rate, with tqdm when it is installed; one bar per descend.fit call
        (per class for one-vs-rest hinge, per partial_fit call).
    warm_start : bool, start fit from the previous coef_ and intercept_.
    early_stopping : bool, hold out ``validation_fraction`` of the rows and
        stop when their R^2 stops improving; the best parameters are kept.
    validation_fraction : float in (0, 1)
    momentum, rho, beta_1, beta_2, epsilon, weight_decay : float or None
        The update rule's hyper-parameters (None: the rule's default; one
        the rule does not take is a TypeError at fit).
    history : int or None, optimizer="lbfgs": the pairs of steps and
        gradient changes its direction is shaped from (None: 10).
    average : bool or int, method="sgd"/"minibatch": return the mean of the
        iterates from update ``average`` on (True: all), as scikit-learn's
        SGD ``average`` (see descend.fit).
    precompute : "auto", True or False, loss="squared" with method="batch":
        iterate on the (d+2)^2 Gram matrix of (X, 1, y) formed in one pass
        (see descend.fit); "auto" when it pays.
    precondition : "auto" or None, method="batch" with gd/momentum/nesterov:
        step in centred, unit-variance coordinates (X itself is never
        scaled or copied), so raw features converge as standardised ones
        do (see descend.fit).

    Attributes
    ----------
    coef_ : ndarray (n_features,), in X's float dtype.
    intercept_ : ndarray (1,)
    n_iter_ : int, iterations/epochs of the last fit (summed over partial_fit calls).
    loss_curve_ : ndarray, the training objective per iteration/epoch.
    converged_ : bool, whether a stopping rule (not max_iter) ended the fit.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    """

    def __init__(
        self,
        loss="squared",
        *,
        delta=FIT["delta"],
        method="batch",
        optimizer="gd",
        learning_rate=None,
        batch_size=FIT["batch_size"],
        max_iter="auto",
        tol="auto",
        n_iter_no_change=FIT["n_iter_no_change"],
        gtol="auto",
        on_divergence=FIT["on_divergence"],
        l2=DEFAULT_L2,
        l1=FIT["l1"],
        fit_intercept=True,
        shuffle=FIT["shuffle"],
        random_state=None,
        n_threads=None,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        momentum=None,
        rho=None,
        beta_1=None,
        beta_2=None,
        epsilon=None,
        weight_decay=None,
        history=None,
        average=FIT["average"],
        precompute=FIT["precompute"],
        precondition="auto",
    ):
        self.loss = loss
        self.delta = delta
        self.method = method
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.gtol = gtol
        self.on_divergence = on_divergence
        self.l2 = l2
        self.l1 = l1
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.momentum = momentum
        self.rho = rho
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.history = history
        self.average = average
        self.precondition = precondition
        self.precompute = precompute

    def _fit_options(self) -> dict:
        return dict(super()._fit_options(), precompute=self.precompute)

    def _delta(self) -> float:
        return self.delta

    def _check_loss(self) -> str:
        if self.loss not in ("squared", "huber"):
            raise ValueError(f"loss must be 'squared' or 'huber' for GDRegressor, got {self.loss!r}")
        return self.loss

    def _validate(self, X, y, sample_weight, reset: bool):
        if _is_dask(X):
            X, y = self._validate_dask(X, y, reset)
        else:
            X, y = _validate_data(self, X, y, y_numeric=True, reset=reset)
        y = cast_to(y, "y", X.dtype)  # a ValueError for a y beyond float32's range (X's dtype)
        w = _unit_mean(_check_sample_weight(sample_weight, X, dtype=X.dtype))
        return X, y, w

    def _start(self, reset: bool):
        if not reset and hasattr(self, "coef_"):
            return self.coef_, float(self.intercept_[0])
        return None, None

    def _set_params(self, coef, intercept, dtype) -> None:
        self.coef_ = np.asarray(coef, dtype=dtype)
        self.intercept_ = np.array([intercept], dtype=dtype)

    @staticmethod
    def _validation_score(X, y, w, coef, intercept) -> float:
        p = X @ coef + intercept
        residual = np.sum(w * (y - p) ** 2, dtype=np.float64)
        mean = np.average(y, weights=w)
        total = np.sum(w * (y - mean) ** 2, dtype=np.float64)
        return 1.0 - residual / total if total > 0 else -residual

    def fit(self, X, y, sample_weight=None):
        """Fit from the start (or from coef_ with warm_start); returns self."""
        loss = self._check_loss()
        self._check_early_stopping()
        warm = self.warm_start and hasattr(self, "coef_")
        X, y, w = self._validate(X, y, sample_weight, reset=not warm)
        coef0, intercept0 = self._start(reset=not warm)
        X, y, w, validation = self._split(X, y, w, stratify=None)
        if not warm or not hasattr(self, "_fit_state"):
            self._fit_state = FitState()
        result, coef, intercept, early = self._run(
            X, y, w, loss=loss, coef0=coef0, intercept0=intercept0, seed=_seed(self.random_state),
            max_iter=self._max_iter(), tol=self.tol, validation=validation, state=self._fit_state,
        )
        self._set_params(coef, intercept, X.dtype)
        self._record(result, early)
        self._warn_max_iter()
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch (one iteration for method="batch") from the current
        coef_ (zeros on the first call); returns self. Each call continues
        the last: the update rule's state (momentum, Adam's moments), the
        schedule's clock and the shuffle's stream (a fresh permutation each
        call) carry over, as scikit-learn's t_ does, so k calls on the same
        data are fit with max_iter=k and tol=None, bit for bit."""
        loss = self._check_loss()
        first = not hasattr(self, "coef_")
        X, y, w = self._validate(X, y, sample_weight, reset=first)
        coef0, intercept0 = self._start(reset=first)
        if first:
            self._fit_state = FitState()
        result, coef, intercept, _ = self._run(
            X, y, w, loss=loss, coef0=coef0, intercept0=intercept0, seed=_seed(self.random_state),
            max_iter=1, tol=None, validation=None, state=self._fit_state,
        )
        self._set_params(coef, intercept, X.dtype)
        before = self._history_so_far(first)
        self._record(result, False)
        self._extend_history(before)
        return self

    def predict(self, X):
        """X coef_ + intercept_ (for a dask X, a lazy dask array)."""
        check_is_fitted(self)
        if _is_dask(X):
            X, _ = self._validate_dask(X, np.zeros(X.shape[0]), reset=False)
            return _blockwise(self.predict, X, None)
        X = _validate_data(self, X, reset=False)
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_.astype(X.dtype)[0]


class GDClassifier(ClassifierMixin, _GDBase):
    r"""Linear classification by gradient descent (descend's C++ solver).

    Labels may be of any type (classes_ holds them, sorted). Two classes:
    one decision function p = x . coef + b with loss "logistic"
    (log(1 + exp(p)) - y p), "hinge" (max(0, 1 - s p), s = +-1) or
    "softmax" (two-class softmax, reported as one function: coef_ is the
    difference of the two classes' coefficients). More classes: "logistic"
    and "softmax" fit the multinomial model (softmax cross-entropy over k
    decision functions); "hinge" fits k one-vs-rest binary models.

    Parameters
    ----------
    loss : {"logistic", "hinge", "softmax"}
    class_weight : dict, "balanced" or None; multiplies the sample weights
        of each class ("balanced": n_samples / (n_classes * count)).
    All other parameters are those of :class:`GDRegressor` (early stopping
    scores the validation rows' accuracy). "auto" learning rates need a
    smooth loss: pass a number or a schedule with loss="hinge".

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray (1,) or (n_classes,)
    n_iter_, loss_curve_, converged_, n_features_in_, feature_names_in_ : as
        in GDRegressor; for one-vs-rest, n_iter_ is the most any class ran
        and loss_curve_ the mean of the classes' objectives (a finished
        class holding its last value).
    """

    def __init__(
        self,
        loss="logistic",
        *,
        method="batch",
        optimizer="gd",
        learning_rate=None,
        batch_size=FIT["batch_size"],
        max_iter="auto",
        tol="auto",
        n_iter_no_change=FIT["n_iter_no_change"],
        gtol="auto",
        on_divergence=FIT["on_divergence"],
        l2=DEFAULT_L2,
        l1=FIT["l1"],
        fit_intercept=True,
        shuffle=FIT["shuffle"],
        random_state=None,
        n_threads=None,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        momentum=None,
        rho=None,
        beta_1=None,
        beta_2=None,
        epsilon=None,
        weight_decay=None,
        history=None,
        average=FIT["average"],
        precondition="auto",
    ):
        self.loss = loss
        self.method = method
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.gtol = gtol
        self.on_divergence = on_divergence
        self.l2 = l2
        self.l1 = l1
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.momentum = momentum
        self.rho = rho
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.history = history
        self.average = average
        self.precondition = precondition

    # -- problem set-up -------------------------------------------------

    def _check_loss(self) -> str:
        if self.loss not in ("logistic", "hinge", "softmax"):
            raise ValueError(
                f"loss must be 'logistic', 'hinge' or 'softmax' for GDClassifier, got {self.loss!r}"
            )
        return self.loss

    def _encode(self, y) -> np.ndarray:
        """y as indices into classes_ (every label must be one of them)."""
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[index], y):
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(f"y has labels {unknown!r} not in classes {self.classes_!r}")
        return index

    def _weights(self, X, y_index, sample_weight) -> np.ndarray:
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=self.classes_[y_index])
            w = w * per_class[y_index].astype(X.dtype)
        return _unit_mean(w)

    def _validate(self, X, y, reset: bool):
        if _is_dask(X):
            X, y = self._validate_dask(X, y, reset)
        else:
            X, y = _validate_data(self, X, y, reset=reset)
        check_classification_targets(y)
        return X, y

    # -- fitting ----------------------------------------------------------

    def _problems(self, y_index):
        """The descend.fit problems: [(loss, targets)] (k of them for one-vs-rest)."""
        k = len(self.classes_)
        if k == 2:
            return [(self.loss, y_index)]
        if self.loss == "hinge":
            return [("hinge", (y_index == c).astype(np.int64)) for c in range(k)]
        return [("softmax", y_index)]  # multinomial for logistic and softmax

    def _starts(self, problems, dtype):
        """The start point of each problem from the current coef_/intercept_."""
        coef, intercept = self.coef_.astype(dtype), self.intercept_.astype(dtype)
        k = len(self.classes_)
        if k == 2 and self.loss == "softmax":  # one difference -> two symmetric classes
            half = coef[0] / 2
            return [(np.stack([-half, half], axis=1), np.array([-intercept[0] / 2, intercept[0] / 2], dtype))]
        if len(problems) > 1 or k == 2:
            return [(coef[c], float(intercept[c])) for c in range(len(problems))]
        return [(coef.T.copy(), intercept)]

    def _store(self, fitted, dtype) -> None:
        """coef_ and intercept_ from the fitted (coef, intercept) of each problem."""
        k = len(self.classes_)
        if k == 2 and self.loss == "softmax":
            coef, intercept = fitted[0]
            self.coef_ = np.asarray((coef[:, 1] - coef[:, 0])[None, :], dtype=dtype)
            self.intercept_ = np.array([intercept[1] - intercept[0]], dtype=dtype)
        elif len(fitted) == 1 and k > 2:
            coef, intercept = fitted[0]
            self.coef_ = np.ascontiguousarray(np.asarray(coef, dtype=dtype).T)
            self.intercept_ = np.asarray(intercept, dtype=dtype).copy()
        else:
            self.coef_ = np.stack([np.asarray(c, dtype=dtype) for c, _ in fitted])
            self.intercept_ = np.array([float(b) for _, b in fitted], dtype=dtype)

    def _fresh_start(self, loss: str, X):
        """(coef0, intercept0) of a fresh fit: the defaults, but zeros of shape
        (d, k) for softmax over k > 2 classes, whose k descend.fit would
        otherwise take from the largest label in y: a partial_fit batch need
        not hold every class."""
        k = len(self.classes_)
        if loss == "softmax" and k > 2:
            return np.zeros((X.shape[1], k), X.dtype), None
        return None, None

    def _fit_all(self, X, y_index, w, *, starts, max_iter, tol, validation):
        problems = self._problems(y_index)
        fitted, results, early_all = [], [], True
        seed = _seed(self.random_state)
        if starts is None or not hasattr(self, "_fit_states"):  # a fresh fit: fresh states, one a problem
            self._fit_states = [FitState() for _ in problems]
        for p, (loss, target) in enumerate(problems):
            coef0, intercept0 = starts[p] if starts is not None else self._fresh_start(loss, X)
            val = None
            if validation is not None:
                Xv, yv, wv = validation
                val = (Xv, self._problems(yv)[p][1], wv)
            result, coef, intercept, early = self._run(
                X, target, w, loss=loss, coef0=coef0, intercept0=intercept0, seed=seed,
                max_iter=max_iter, tol=tol, validation=val, state=self._fit_states[p],
            )
            fitted.append((coef, intercept))
            results.append(result)
            early_all = early_all and early
        return fitted, results, early_all and validation is not None

    def _record_all(self, results, early: bool) -> None:
        self.n_iter_ = max(int(r.n_iter) for r in results)
        curves = [np.asarray(r.loss_history, dtype=np.float64) for r in results]
        if len(curves) == 1:
            self.loss_curve_ = curves[0]
        else:
            padded = [np.pad(c, (0, self.n_iter_ - len(c)), mode="edge") if len(c) else np.zeros(self.n_iter_)
                      for c in curves]
            self.loss_curve_ = np.mean(padded, axis=0)
        self.converged_ = all(bool(r.converged) for r in results) or early

    @staticmethod
    def _validation_score(X, y, w, coef, intercept) -> float:
        """Weighted accuracy of the raw descend.fit parameters on (X, y)."""
        scores = X @ coef + intercept
        if scores.ndim == 2:
            predicted = np.argmax(scores, axis=1)
        else:
            predicted = (scores > 0).astype(np.int64)
        return float(np.average(predicted == y, weights=w))

    def fit(self, X, y, sample_weight=None):
        """Fit from the start (or from coef_ with warm_start); returns self."""
        self._check_loss()
        self._check_early_stopping()
        warm = self.warm_start and hasattr(self, "coef_")
        X, y = self._validate(X, y, reset=not warm)
        classes = np.unique(y)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start: y has classes {classes!r}, the fitted model {self.classes_!r}")
        if len(classes) < 2:
            raise ValueError(
                f"GDClassifier needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        self.classes_ = classes
        y_index = self._encode(y)
        w = self._weights(X, y_index, sample_weight)
        starts = self._starts(self._problems(y_index), X.dtype) if warm else None
        X, y_index, w, validation = self._split(X, y_index, w, stratify=y_index)
        fitted, results, early = self._fit_all(X, y_index, w, starts=starts, max_iter=self._max_iter(),
                                               tol=self.tol, validation=validation)
        self._store(fitted, X.dtype)
        self._record_all(results, early)
        self._warn_max_iter()
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch (one iteration for method="batch") from the current
        coef_; ``classes`` (every label that will ever be seen) is needed
        on the first call. Each call continues the last (the update rule's
        state, the schedule's clock, the shuffle's stream), as
        GDRegressor.partial_fit does. Returns self."""
        self._check_loss()
        first = not hasattr(self, "coef_")
        X, y = self._validate(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(f"classes must hold at least 2 classes, got {classes!r}")
            self.classes_ = classes
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes {classes!r} differ from those of the first call {self.classes_!r}")
        y_index = self._encode(y)
        w = self._weights(X, y_index, sample_weight)
        starts = None if first else self._starts(self._problems(y_index), X.dtype)
        fitted, results, _ = self._fit_all(X, y_index, w, starts=starts, max_iter=1, tol=None, validation=None)
        self._store(fitted, X.dtype)
        before = self._history_so_far(first)
        self._record_all(results, False)
        self._extend_history(before)
        return self

    # -- prediction -------------------------------------------------------

    def decision_function(self, X):
        """X coef_.T + intercept_: shape (n,) for two classes (> 0 means
        classes_[1]), else (n, n_classes)."""
        check_is_fitted(self)
        if _is_dask(X):
            X, _ = self._validate_dask(X, np.zeros(X.shape[0]), reset=False)
            return _blockwise(self.decision_function, X, None if len(self.classes_) == 2 else len(self.classes_))
        X = _validate_data(self, X, reset=False)
        scores = X @ self.coef_.T.astype(X.dtype, copy=False) + self.intercept_.astype(X.dtype)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class with the largest decision function (for a dask X, a lazy dask array)."""
        if _is_dask(X):
            return X.map_blocks(self.predict, drop_axis=1, dtype=self.classes_.dtype)
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.int64) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]

    def _has_proba(self) -> bool:
        return self.loss in ("logistic", "softmax")

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (loss "logistic" or "softmax"): the sigmoid of
        the decision function for two classes, its softmax otherwise; rows
        sum to 1 (for a dask X, a lazy dask array)."""
        if _is_dask(X):
            return _blockwise(self.predict_proba, X, len(self.classes_))
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            p1 = np.exp(-np.logaddexp(0.0, -scores))
            proba = np.column_stack([1.0 - p1, p1])
        else:
            shifted = scores - scores.max(axis=1, keepdims=True)
            proba = np.exp(shifted)
            proba /= proba.sum(axis=1, keepdims=True)
        return proba

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """log of predict_proba, computed stably (for a dask X, a lazy dask array)."""
        if _is_dask(X):
            return _blockwise(self.predict_log_proba, X, len(self.classes_))
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, scores), -np.logaddexp(0.0, -scores)])
        shifted = scores - scores.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
