"""Typed stub of descend's compiled core (private: use the descend package)."""

from typing import Any, Callable, Optional

import numpy as np
import numpy.typing as npt

class DivergenceError(RuntimeError): ...

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def all_finite(a: npt.NDArray[np.floating[Any]]) -> bool: ...
def loss_grad(
    X: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: float,
    loss: str,
    sample_weight: Optional[npt.NDArray[np.floating[Any]]],
    l2: float,
    out: npt.NDArray[np.floating[Any]],
    check_finite: bool,
) -> tuple[float, float]: ...
def fit(
    *,
    X: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    sample_weight: Optional[npt.NDArray[np.floating[Any]]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: float,
    loss: str,
    method: str,
    optimizer: str,
    learning_rate: float,
    batch_size: int,
    max_iter: int,
    tol: Optional[float],
    n_iter_no_change: int,
    gtol: Optional[float],
    l2: float,
    l1: float,
    fit_intercept: bool,
    shuffle: bool,
    seed: int,
    n_threads: int,
    check_finite: bool,
    callback: Optional[Callable[[int, float, float, npt.NDArray[np.floating[Any]], float], bool]],
) -> dict[str, Any]: ...
