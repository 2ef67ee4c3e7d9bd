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
LOSSES: tuple[str, ...]
METHODS: tuple[str, ...]
OPTIMIZERS: tuple[str, ...]
SCHEDULES: tuple[str, ...]

def optimizer_defaults() -> dict[str, dict[str, float]]: ...
def fit_defaults() -> dict[str, Any]: ...
def fit(
    X: Array,
    y: Array,
    coef: Array,
    intercept: Array,
    *,
    sample_weight: Optional[Array] = None,
    callback: Optional[Callable[[int, float, float, Array, Array], bool]] = None,
    **options: Any,
) -> dict[str, Any]: ...
def gradient_descent(X: Array, y: Array, theta: Array, learning_rate: float, num_iterations: int) -> None: ...
def schedule_at(kind: str, params: dict[str, float], t: int) -> float: ...

def check_learning_rate(lr: Union[float, tuple[str, dict[str, float]]], name: str) -> None: ...

class Optimizer:
    def __init__(
        self,
        rule: str,
        params: dict[str, float],
        param: Array,
        param_name: str,
        lr: Union[None, float, tuple[str, dict[str, float]]],
        n_threads: int,
    ) -> None: ...
    def step(self, grad: Array) -> None: ...
    def state(self, slot: int) -> Array: ...
    def set_lr(self, lr: Union[float, tuple[str, dict[str, float]]]) -> None: ...
    def reset(self) -> None: ...
    steps: int
    n_threads: int
    @property
    def current_lr(self) -> float: ...
    @property
    def name(self) -> str: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def slots(self) -> int: ...

class StoppingMonitor:
    def __init__(self, *, max_iter: int, tol: Optional[float], n_iter_no_change: int, gtol: Optional[float]) -> None: ...
    def check(self, objective: float, grad_norm: float) -> str: ...
    def message(self, status: str, n_iter: int, unit: str) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def max_iter(self) -> int: ...

def divergence_message(
    unit: str, at: int, objective: float, start: float, learning_rate: float, rule_arg: str, rule_name: str
) -> str: ...

# Memory-floor probes (benchmarks): a read of X; Adam's read-4/write-3 pass.
def probe_read(X: Array, n_threads: int) -> float: ...
def probe_update(param: Array, grad: Array, m: Array, v: Array, n_threads: int) -> None: ...
