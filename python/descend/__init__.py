"""descend: fast, deterministic gradient descent with a C++17/OpenMP core."""

from importlib.util import find_spec as _find_spec

from ._core import DivergenceError
from ._fit import fit, gradient_descent, loss_grad
from ._minimize import MinimizeResult, minimize
from ._model import Model, load_model, save_model
from ._paths import cmake_dir, get_include
from ._plot import plot_loss_curve, save_loss_curve
from ._result import FitResult, IterationState
from ._state import FitState
from ._threads import get_num_threads, set_num_threads
from . import optim, reference, schedules

__version__ = "0.1.0"

_ESTIMATORS = ("GDClassifier", "GDRegressor")


def __getattr__(name: str):
    # The scikit-learn estimators load (and import scikit-learn) on first use.
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'descend' has no attribute {name!r}")

__all__ = [
    "DivergenceError",
    "FitResult",
    "FitState",
    "IterationState",
    "MinimizeResult",
    "Model",
    "cmake_dir",
    "fit",
    "get_include",
    "get_num_threads",
    "gradient_descent",
    "load_model",
    "loss_grad",
    "minimize",
    "optim",
    "plot_loss_curve",
    "reference",
    "save_loss_curve",
    "save_model",
    "schedules",
    "set_num_threads",
]
# `from descend import *` must work without scikit-learn: the estimators
# are exported only where it is installed (found, not imported).
if _find_spec("sklearn") is not None:
    __all__ += list(_ESTIMATORS)
