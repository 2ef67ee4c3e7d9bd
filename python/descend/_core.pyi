"""Typed stub of descend's compiled core (private: use the descend package)."""

from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]

ISA: str  # the build in use: "avx512", "avx2" or "baseline"

class DivergenceError(RuntimeError): ...

def cpu_supports() -> tuple[str, ...]: ...  # builds this CPU and OS run, fastest first
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def all_finite(a: Array) -> bool: ...
def loss_grad(
    *,
    X: Array,
    y: Array,
    coef: Array,
    intercept: Array,
    loss: str,
    delta: float,
    n_classes: int,
    sample_weight: Optional[Array],
    l2: float,
    out: Array,
    out_intercept: npt.NDArray[np.float64],
    check_finite: bool,
) -> float: ...
def fit(
    *,
    X: Array,
    y: Array,
    sample_weight: Optional[Array],
    coef: Array,
    intercept: Array,
    loss: str,
    delta: float,
    n_classes: int,
    method: str,
    optimizer: str,
    optimizer_params: dict[str, float],
    learning_rate: Union[float, str, tuple[str, dict[str, float]]],
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
    callback: Optional[Callable[[int, float, float, Array, Array], bool]],
) -> dict[str, Any]: ...
def gradient_descent(X: Array, y: Array, theta: Array, learning_rate: float, num_iterations: int) -> None: ...
def schedule_at(kind: str, params: dict[str, float], t: int) -> float: ...

class UpdateRule:
    def __init__(self, name: str, params: dict[str, float]) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def slots(self) -> int: ...
    def step(self, *, param: Array, grad: Array, state: list[Array], lr: float, t: int, n_threads: int) -> None: ...

class StoppingMonitor:
    def __init__(self, *, tol: Optional[float], n_iter_no_change: int, gtol: Optional[float]) -> None: ...
    def check(self, objective: float, grad_norm: float) -> str: ...
    @property
    def start(self) -> float: ...

# Memory-floor probes (benchmarks): a read of X; Adam's read-4/write-3 pass.
def probe_read(X: Array, n_threads: int) -> float: ...
def probe_update(param: Array, grad: Array, m: Array, v: Array, n_threads: int) -> None: ...
