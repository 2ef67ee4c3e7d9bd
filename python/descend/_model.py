r"""The saved-model file: descend.save_model, descend.load_model and descend.Model.

A model file is a small JSON document that holds a fitted linear model,
p = x . coef + intercept (k decision functions for a multi-class model),
with its feature names, class labels and the fit's options and outcome,
so that a later process (``descend predict``) can predict without the
training data. Every float is written with Python's shortest round-trip
repr, so a loaded model predicts bit for bit as the saved one.

The file (format version 1), keys in this order::

    {
     "format": "descend-model",
     "format_version": 1,
     "descend_version": "0.1.0",
     "loss": "logistic",
     "features": ["age", "income"],
     "coef": {"age": 0.25, "income": -1.5},      # softmax: {"age": [k values], ...}
     "intercept": 0.125,                          # softmax: [k values]
     "classes": ["ham", "spam"],                  # null for regression
     "scaling": null,                             # or {"mean": [...], "scale": [...]}
     "options": {...},
     "outcome": {"n_iter": 12, "converged": true, ...}
    }
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import numpy as np

from . import _core
from ._atomic import replace_atomically
from ._result import FitResult
from ._sparse import check_structure, is_sparse

__all__ = ["FORMAT", "FORMAT_VERSION", "Model", "load_model", "save_model"]

FORMAT = "descend-model"
FORMAT_VERSION = 1

# The keys of a model file, in the order they are written.
_KEYS = ("format", "format_version", "descend_version", "loss", "features", "coef", "intercept", "classes",
         "scaling", "options", "outcome")
# The losses whose prediction is the decision function itself.
_REGRESSION = ("squared", "huber")
# The losses with class probabilities.
_PROBA = ("logistic", "softmax")

_PathType = Union[str, "PathLike[str]"]


def _plain(value: Any) -> Any:
    """value as JSON takes it: numpy scalars and arrays as Python numbers and
    lists, tuples as lists, dict keys as strings; an object JSON has no type
    for (a descend.schedules object, say) as its repr."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _label(value: Any) -> Any:
    """A class label as JSON keeps it: an int, float, bool or str."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"classes must hold ints, floats or strings, got {value!r} ({type(value).__name__})")


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _sigmoid(p: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-p)), computed as exp(-log(1 + exp(-p))) (no overflow)."""
    out: np.ndarray = np.exp(-np.logaddexp(0.0, -p))
    return out


def _softmax(p: np.ndarray) -> np.ndarray:
    """Row-wise exp(p_c) / sum_j exp(p_j), with the row maximum subtracted first."""
    shifted = p - p.max(axis=1, keepdims=True)
    out: np.ndarray = np.exp(shifted)
    out /= out.sum(axis=1, keepdims=True)
    return out


def _real_array(value: Any, name: str) -> np.ndarray:
    """value as a float64 array: TypeError unless it holds real numbers (a
    complex value would lose its imaginary part), ValueError for a number
    beyond float64 (an int of 400 digits, from a JSON file)."""
    try:
        is_complex = np.iscomplexobj(value)
    except (TypeError, ValueError):  # ragged: np.array says so below
        is_complex = False
    if is_complex:
        raise TypeError(f"{name} must hold real numbers, got complex values")
    if value is None:  # np.array(None, dtype=float) would be NaN
        raise TypeError(f"{name} must be a number or an array of numbers, got None")
    # One type per field: np.array(..., float64) would also take "1.5" and True.
    if _holds_non_number(value):
        raise TypeError(f"{name} must hold numbers (not strings or booleans), got {value!r}")
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{name} must be finite (no NaN or infinity), got a number beyond float64's range") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None


def _holds_non_number(value: Any) -> bool:
    """Whether value (a number, an array or nested lists) holds a string, a
    bool or anything else that is not a real number."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iuf":
            return False
        if value.dtype.kind != "O":
            return True
        return any(_holds_non_number(v) for v in value.ravel().tolist())
    if isinstance(value, (list, tuple)):
        return any(_holds_non_number(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return True
    return not isinstance(value, (int, float, np.integer, np.floating))


def _check_format_version(version: Any, name: str = "format_version") -> int:
    """An int from 1 to FORMAT_VERSION: the versions that exist (newer ones are refused by _parse first)."""
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {version!r}")
    if not 1 <= int(version) <= FORMAT_VERSION:
        raise ValueError(f"{name} must be between 1 and {FORMAT_VERSION}, got {int(version)}")
    return int(version)


def _generated_names(names: tuple) -> bool:
    """Whether names are save_model's stand-ins x0, x1, ... (the model was fit without names)."""
    return names == tuple(f"x{j}" for j in range(len(names)))


def _native(values: np.ndarray) -> np.dtype:
    return values.dtype if values.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _check_finite(values: np.ndarray) -> None:
    """NaN or infinity in X is a ValueError, as for fit and the command line
    (a prediction of NaN would pass silently into whatever reads it)."""
    # ravel(order="K"): a view of a C- or F-ordered X, no copy; float16/longdouble as float64.
    if values.dtype.kind == "f" and not _core.all_finite(np.asarray(values.ravel(order="K"), _native(values))):
        raise ValueError("X contains NaN or infinity; remove or impute those values")


def _check_loss(loss: object) -> None:
    if loss not in _core.LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, _core.LOSSES))}, got {loss!r}")


@dataclass(frozen=True, eq=False)
class Model:
    r"""A fitted linear model, as :func:`descend.save_model` writes it and
    :func:`descend.load_model` reads it.

    The decision function of row x is p = x . coef + intercept: one number
    when coef has shape (d,), k numbers (one per class) when coef has shape
    (d, k). Predictions:

    ====================  ================================================
    model                 predict(X)
    ====================  ================================================
    squared, huber        p
    (d,) classifier       classes[1] where p > 0, else classes[0]
    (d, k) classifier     classes[argmax_c p_c] (the first on a tie)
    ====================  ================================================

    A classifier is (d,) for loss "logistic" or "hinge" with two classes
    (and a two-class descend.GDClassifier with loss "softmax", which keeps
    the difference of the two classes' functions), (d, k) for loss
    "softmax" and for a descend.GDClassifier with k > 2 classes (multinomial
    for "logistic", one-vs-rest for "hinge").

    Class probabilities (loss "logistic" or "softmax" only): for (d,),
    [1 - s, s] with s = sigma(p) = 1 / (1 + exp(-p)), computed as
    exp(-log(1 + exp(-p))); for (d, k), softmax(p)_c = exp(p_c - m) /
    sum_j exp(p_j - m) with m = max_j p_j. Both never overflow.

    Attributes
    ----------
    loss : str, one of "squared", "huber", "logistic", "hinge", "softmax".
    coef : float64 ndarray of shape (d,), or (d, k); read-only.
    intercept : float, or float64 ndarray of shape (k,) (read-only) with a (d, k) coef.
    feature_names : tuple of d str, the columns the model was fit on, in order.
    classes : ndarray of the class labels (ints, floats or strings, as fit)
        for a classifier, None for regression; read-only.
    scaling : dict or None, {"mean": [...], "scale": [...]} of a
        standardisation done before the fit, for information only: coef
        and intercept already apply to the original, unscaled columns.
    options : dict, the fit's options (JSON values).
    outcome : dict, how the fit ended: n_iter, converged, status, message,
        objective, grad_norm, learning_rate (those that are known).
    descend_version : str, the descend that wrote the model.
    format_version : int, the model file format's version.

    Constructing a Model checks its fields (ValueError or TypeError naming
    the field) and converts coef, intercept and classes to arrays.
    """

    loss: str
    coef: np.ndarray
    intercept: Union[float, np.ndarray]
    feature_names: tuple[str, ...]
    classes: Optional[np.ndarray] = None
    scaling: Optional[dict[str, Any]] = None
    options: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] = field(default_factory=dict)
    descend_version: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _check_loss(self.loss)
        coef = _real_array(self.coef, "coef")
        if coef.ndim not in (1, 2) or coef.shape[0] == 0 or (coef.ndim == 2 and coef.shape[1] < 2):
            raise ValueError(f"coef must have shape (n_features,) or (n_features, n_classes >= 2), got {coef.shape}")
        if coef.ndim == 2 and self.loss in _REGRESSION:
            raise ValueError(f"coef must have shape (n_features,) for loss={self.loss!r}, got {coef.shape}")
        if not np.all(np.isfinite(coef)):
            raise ValueError("coef must be finite (no NaN or infinity)")
        set_(self, "coef", _readonly(coef))

        b = _real_array(self.intercept, "intercept")
        if coef.ndim == 1:
            if b.ndim != 0:
                raise ValueError(f"intercept must be a number for a coef of shape {coef.shape}, got shape {b.shape}")
            intercept: Union[float, np.ndarray] = float(b)
            finite = math.isfinite(intercept)
        else:
            k = coef.shape[1]
            if b.shape != (k,):
                raise ValueError(f"intercept must have shape ({k},) for a coef of shape {coef.shape}, got {b.shape}")
            intercept, finite = _readonly(b), bool(np.all(np.isfinite(b)))
        if not finite:
            raise ValueError("intercept must be finite (no NaN or infinity)")
        set_(self, "intercept", intercept)

        names = self.feature_names
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"feature_names must be a sequence of str, got {names!r}")
        names = tuple(names)
        if len(names) != coef.shape[0]:
            raise ValueError(f"feature_names must have {coef.shape[0]} names (one per coefficient row), "
                             f"got {len(names)}")
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"feature_names must be distinct, got {', '.join(map(repr, twice))} more than once")
        set_(self, "feature_names", names)

        if self.loss in _REGRESSION:
            if self.classes is not None:
                raise ValueError(f"classes must be None for loss={self.loss!r} (a regression)")
        else:
            if self.classes is None:
                raise ValueError(f"classes must be given for loss={self.loss!r} (a classifier)")
            labels = [_label(c) for c in np.asarray(self.classes, dtype=object).reshape(-1)]
            expected = 2 if coef.ndim == 1 else coef.shape[1]
            if len(labels) != expected:
                raise ValueError(f"classes must have {expected} labels for a coef of shape {coef.shape}, "
                                 f"got {len(labels)}")
            if len(set(labels)) != len(labels):
                raise ValueError(f"classes must be distinct, got {labels!r}")
            set_(self, "classes", _readonly(np.array(labels)))

        if self.scaling is not None and not isinstance(self.scaling, dict):
            raise TypeError(f"scaling must be a dict or None, got {type(self.scaling).__name__}")
        for name in ("options", "outcome"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name} must be a dict, got {type(getattr(self, name)).__name__}")
        set_(self, "scaling", None if self.scaling is None else _plain(self.scaling))
        set_(self, "options", _plain(self.options))
        set_(self, "outcome", _plain(self.outcome))
        set_(self, "descend_version", str(self.descend_version))
        set_(self, "format_version", _check_format_version(self.format_version))

    def __repr__(self) -> str:
        classes = None if self.classes is None else self.classes.tolist()
        return (f"Model(loss={self.loss!r}, n_features={self.coef.shape[0]}, classes={classes!r}, "
                f"coef={self.coef!r}, intercept={self.intercept!r})")

    # -- prediction -------------------------------------------------------

    def decision_function(self, X: Any) -> np.ndarray:
        """p = X coef + intercept, in float64.

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or scipy.sparse matrix
            Columns in the model's feature order (see :meth:`feature_index`);
            any int, bool or float dtype, C or F order.

        Returns
        -------
        float64 ndarray of shape (n_samples,), or (n_samples, k) for a (d, k) coef.
        """
        d = self.coef.shape[0]
        if is_sparse(X):
            X = check_structure(X)  # the one structure check fit makes too
            if X.ndim != 2 or X.shape[1] != d:
                raise ValueError(f"X must have shape (n_samples, {d}) (the model's features), got {X.shape}")
            if X.dtype.kind not in "biuf":
                raise TypeError(f"X must hold numbers, got dtype {X.dtype}")
            _check_finite(X.data)
            X = X.astype(np.float64, copy=False)
            dense: np.ndarray = np.asarray(X @ self.coef, dtype=np.float64) + self.intercept
            return dense
        columns = getattr(X, "columns", None)
        if columns is not None and getattr(X, "ndim", 0) == 2 and not _generated_names(self.feature_names):
            # A DataFrame: its columns by name, in the model's order (as scikit-learn
            # checks feature_names_in_), never by position; extra columns are left out.
            X = X.iloc[:, self.feature_index(columns)]
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have shape (n_samples, {d}) (the model's features), got {X.shape}")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must hold numbers, got dtype {X.dtype}")
        _check_finite(X)
        p: np.ndarray = X.astype(np.float64, copy=False) @ self.coef + self.intercept
        return p

    def predict(self, X: Any) -> np.ndarray:
        """The prediction for each row of X: the decision function for
        regression, else a class label (see the class docstring)."""
        p = self.decision_function(X)
        if self.classes is None:
            return p
        index = (p > 0).astype(np.intp) if p.ndim == 1 else np.argmax(p, axis=1)
        labels: np.ndarray = self.classes[index]
        return labels

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), rows summing to 1:
        [1 - sigma(p), sigma(p)] for a (d,) coef, softmax(p) for a (d, k) coef.

        Raises ValueError for losses other than "logistic" and "softmax".
        """
        if self.loss not in _PROBA:
            raise ValueError(f"predict_proba needs loss 'logistic' or 'softmax'; this model has loss={self.loss!r}")
        p = self.decision_function(X)
        if p.ndim == 1:
            s = _sigmoid(p)
            return np.column_stack([1.0 - s, s])
        return _softmax(p)

    def feature_index(self, names: Iterable[str]) -> np.ndarray:
        """Where the model's features are in ``names`` (the data's columns).

        ``X[:, model.feature_index(columns)]`` puts the data's columns in the
        model's order (extra columns are left out).

        Returns
        -------
        intp ndarray of shape (n_features,): position in ``names`` of each
        of the model's features, in model order.

        Raises ValueError naming every feature ``names`` lacks, or a
        feature it holds more than once.
        """
        names = [str(n) for n in names]
        position: dict[str, int] = {}
        twice = set()
        for i, name in enumerate(names):
            if name in position:
                twice.add(name)
            else:
                position[name] = i
        missing = [n for n in self.feature_names if n not in position]
        if missing:
            raise ValueError(f"the data lacks feature(s) {', '.join(map(repr, missing))} that the model was fit on")
        ambiguous = [n for n in self.feature_names if n in twice]
        if ambiguous:
            raise ValueError(f"the data has feature(s) {', '.join(map(repr, ambiguous))} more than once")
        return np.array([position[n] for n in self.feature_names], dtype=np.intp)

    # -- the file's dict ----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The model as the file holds it (JSON values, keys in file order)."""
        coef = self.coef.tolist()
        intercept = self.intercept.tolist() if isinstance(self.intercept, np.ndarray) else float(self.intercept)
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "descend_version": self.descend_version,
            "loss": self.loss,
            "features": list(self.feature_names),
            "coef": dict(zip(self.feature_names, coef)),
            "intercept": intercept,
            "classes": None if self.classes is None else [_label(c) for c in self.classes],
            "scaling": self.scaling,
            "options": self.options,
            "outcome": self.outcome,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Model":
        """The model of a dict as :meth:`to_dict` makes it (ValueError if it is not one)."""
        return _parse(d, "the dict")


def _parse(d: Any, where: str) -> Model:
    """The Model of a file's dict; errors name `where` (the file)."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"{where} is not a descend model file")
    version = d.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{where} has no valid \"format_version\" (an integer from 1), got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{where} was written by a newer descend (format version {version}; this descend reads "
                         f"up to {FORMAT_VERSION}): upgrade descend")
    for key in _KEYS:
        if key not in d:
            raise ValueError(f"{where} is not a valid descend model file: it has no key {key!r}")
    features, coef_map = d["features"], d["coef"]
    if not isinstance(features, list) or not all(isinstance(n, str) for n in features):
        raise ValueError(f"{where}: \"features\" must be a list of names (strings), got {features!r}")
    if not isinstance(coef_map, dict):
        raise ValueError(f"{where}: \"coef\" must map each feature to its coefficient(s)")
    missing = [n for n in features if n not in coef_map]
    if missing:
        raise ValueError(f"{where}: \"coef\" has no entry for feature(s) {', '.join(map(repr, missing))}")
    extra = [n for n in coef_map if n not in set(features)]
    if extra:
        raise ValueError(f"{where}: \"coef\" has entries for {', '.join(map(repr, extra))} not in \"features\"")
    strings = [n for n in features if _holds_non_number(coef_map[n])]
    if strings:
        raise ValueError(f"{where}: \"coef\" must map every feature to a number (or a list of numbers), got "
                         f"{coef_map[strings[0]]!r} for {strings[0]!r}")
    try:
        coef = np.array([coef_map[n] for n in features], dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{where}: \"coef\" holds a number beyond float64's range") from None
    except (TypeError, ValueError):
        raise ValueError(f"{where}: \"coef\" must map every feature to a number, or every feature to a list of "
                         "as many numbers (one per class)") from None
    try:
        return Model(
            loss=d["loss"], coef=coef,
            intercept=d["intercept"], feature_names=tuple(features), classes=d["classes"],
            scaling=d["scaling"], options=d["options"], outcome=d["outcome"],
            descend_version=d["descend_version"], format_version=version,
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from error


# -- save_model -------------------------------------------------------------


def _estimator_kind(model: object) -> Optional[str]:
    """"regressor" or "classifier" for a descend estimator, else None (the
    estimators module, and scikit-learn, are not imported to ask)."""
    estimators = sys.modules.get("descend.estimators")
    if estimators is None:
        return None
    if isinstance(model, estimators.GDRegressor):
        return "regressor"
    if isinstance(model, estimators.GDClassifier):
        return "classifier"
    return None


def _from_fit_result(result: FitResult, loss: Optional[str]) -> dict[str, Any]:
    if loss is None:
        raise ValueError("loss must be given when model is a descend.FitResult (the result does not record it)")
    _check_loss(loss)
    coef = np.asarray(result.coef)
    if coef.ndim not in (1, 2):
        raise ValueError(f"model.coef must have shape (n_features,) or (n_features, n_classes), got {coef.shape}")
    if (coef.ndim == 2) != (loss == "softmax"):
        expected = "(n_features, n_classes)" if loss == "softmax" else "(n_features,)"
        raise ValueError(f"model.coef has shape {coef.shape}, but loss={loss!r} gives coefficients of shape "
                         f"{expected}: pass the loss the model was fit with")
    classes: Any = None
    if loss not in _REGRESSION:
        classes = list(range(coef.shape[1])) if coef.ndim == 2 else [0, 1]
    history = np.asarray(result.loss_history)
    outcome = {
        "n_iter": int(result.n_iter), "converged": bool(result.converged), "status": result.status,
        "message": result.message, "objective": float(history[-1]) if history.size else None,
        "grad_norm": float(result.grad_norm), "learning_rate": float(result.learning_rate),
    }
    return dict(loss=loss, coef=coef, intercept=result.intercept, classes=classes, options={}, outcome=outcome,
                feature_names=None)


def _from_estimator(est: Any, kind: str, loss: Optional[str]) -> dict[str, Any]:
    name = type(est).__name__
    if not hasattr(est, "coef_"):
        raise ValueError(f"model is an unfitted {name}: call its fit method before saving it")
    if loss is not None and loss != est.loss:
        raise ValueError(f"loss={loss!r} differs from the {name}'s loss {est.loss!r}")
    coef_ = np.asarray(est.coef_)
    intercept_ = np.asarray(est.intercept_)
    classes: Any = None
    intercept: Any
    if kind == "regressor":
        coef, intercept = coef_, float(intercept_[0])
    else:
        classes = est.classes_
        if coef_.shape[0] == 1:  # two classes: one decision function, (1, d) -> (d,)
            coef, intercept = coef_[0], float(intercept_[0])
        else:  # k classes: (k, d) -> (d, k)
            coef, intercept = coef_.T, intercept_
    names = getattr(est, "feature_names_in_", None)
    curve = np.asarray(getattr(est, "loss_curve_", np.empty(0)))
    outcome = {"n_iter": int(est.n_iter_), "converged": bool(est.converged_),
               "objective": float(curve[-1]) if curve.size else None}
    return dict(loss=est.loss, coef=coef, intercept=intercept, classes=classes, options=est.get_params(deep=False),
                outcome=outcome, feature_names=None if names is None else [str(n) for n in names])


def save_model(path: _PathType, model: Any, *, loss: Optional[str] = None,
               feature_names: Optional[Iterable[str]] = None, classes: Any = None,
               scaling: Optional[dict[str, Any]] = None, options: Optional[dict[str, Any]] = None,
               outcome: Optional[dict[str, Any]] = None) -> None:
    """Write a fitted model to a JSON model file (see :class:`Model`).

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it exists).
    model : descend.FitResult, or a fitted descend.GDRegressor or descend.GDClassifier
        The fitted coefficients. An estimator supplies its loss, classes_
        (coef_ of shape (1, d) is written as (d,), (k, d) as (d, k)),
        feature_names_in_ (when fit on a DataFrame), get_params() as the
        options and n_iter_, converged_ and the last loss_curve_ entry as
        the outcome.
    loss : str, required for a FitResult
        The loss it was fit with; for an estimator, must match its loss.
    feature_names : sequence of d str, optional
        Column names; default those of the estimator, else "x0", ..., "x{d-1}".
    classes : sequence of labels, optional
        For a classifier FitResult, the label of class index i (2 for
        "logistic"/"hinge", k for "softmax"); default 0, 1, ..., k-1.
        Overrides an estimator's classes_.
    scaling : dict, optional
        {"mean": [...], "scale": [...]} of a standardisation done before the
        fit (information only: coef must already be in original units).
    options : dict, optional
        The fit options to record (default: none for a FitResult, the
        estimator's parameters for an estimator).
    outcome : dict, optional
        Entries added to (or replacing) the outcome taken from the model.

    Raises
    ------
    TypeError if model is neither a FitResult nor a descend estimator;
    ValueError for an unfitted estimator, a FitResult without loss, or
    feature_names or classes of the wrong length.
    """
    from . import __version__

    kind = _estimator_kind(model)
    if isinstance(model, FitResult):
        parts = _from_fit_result(model, loss)
    elif kind is not None:
        parts = _from_estimator(model, kind, loss)
    else:
        raise TypeError("model must be a descend.FitResult or a fitted descend.GDRegressor or "
                        f"descend.GDClassifier, got {type(model).__name__}")
    d = np.shape(parts["coef"])[0]
    if feature_names is not None:
        if isinstance(feature_names, str):
            raise TypeError("feature_names must be a sequence of str, got a str")
        names = list(feature_names)
        if len(names) != d:
            raise ValueError(f"feature_names must have {d} names (one per feature of the model), got {len(names)}")
        parts["feature_names"] = names
    elif parts["feature_names"] is None:
        parts["feature_names"] = [f"x{j}" for j in range(d)]
    if classes is not None:
        if parts["classes"] is None:
            raise ValueError(f"classes must be None for loss={parts['loss']!r} (a regression)")
        labels = list(np.asarray(classes, dtype=object).reshape(-1))
        if len(labels) != len(parts["classes"]):
            raise ValueError(f"classes must have {len(parts['classes'])} labels (one per class of the model), "
                             f"got {len(labels)}")
        parts["classes"] = labels
    if options is not None:
        parts["options"] = options
    if outcome is not None:
        parts["outcome"] = {**parts["outcome"], **outcome}
    fitted = Model(
        loss=parts["loss"], coef=parts["coef"], intercept=parts["intercept"],
        feature_names=tuple(parts["feature_names"]), classes=parts["classes"], scaling=scaling,
        options=parts["options"], outcome=parts["outcome"], descend_version=__version__,
        format_version=FORMAT_VERSION,
    )
    text = json.dumps(fitted.to_dict(), indent=1) + "\n"
    # Written whole or not at all: a failed write (a full disk) keeps the old model.
    with replace_atomically(path) as f:
        f.write(text)


def load_model(path: _PathType) -> Model:
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    FileNotFoundError if there is no such file; ValueError naming the file
    if it is not valid JSON, not a descend model file, written by a newer
    descend (a higher format version) or lacks a key or a valid value.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a descend model file (not UTF-8 text: {error})") from error
    try:
        d = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a descend model file (invalid JSON: {error})") from error
    except RecursionError:  # the json module's answer to arrays or objects nested thousands deep
        raise ValueError(f"{path} is not a descend model file (JSON nested too deeply to read)") from None
    return _parse(d, str(path))
