"""descend: fast, deterministic gradient descent with a C++17/OpenMP core."""

from ._core import DivergenceError
from ._fit import fit, gradient_descent, loss_grad
from ._result import FitResult, IterationState
from ._threads import get_num_threads, set_num_threads
from . import reference

__version__ = "0.1.0"

__all__ = [
    "DivergenceError",
    "FitResult",
    "IterationState",
    "fit",
    "get_num_threads",
    "gradient_descent",
    "loss_grad",
    "reference",
    "set_num_threads",
]
