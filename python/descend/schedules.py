"""Learning-rate schedules: the step size eta_t of update t = 0, 1, 2, ...

Pass one as ``learning_rate=`` to :func:`descend.fit`,
:func:`descend.minimize` or an optimizer of :mod:`descend.optim`. The
schedule is evaluated by the C++ core inside its loop; calling a schedule
object, ``schedule(t)``, gives the same numbers from Python.

In ``fit`` the clock t counts updates: iterations for method="batch", and
for sgd/minibatch every mini-batch step, across epochs. In
:mod:`descend.optim` and :func:`descend.minimize` it counts ``step()`` calls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import _core
from ._validation import as_float, as_int

__all__ = ["Constant", "Cosine", "Exponential", "InverseScaling", "Schedule", "Step"]


class Schedule:
    """Base of the schedules: eta_t for update t, computed by the core."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            caster = as_int if name in ("step_size", "t_max") else as_float
            object.__setattr__(self, name, caster(value, name))
        self(0)  # the core validates the parameters, naming the bad one

    def _spec(self) -> tuple:
        """(class name, parameters): how the core receives a schedule."""
        return type(self).__name__, {k: float(v) for k, v in asdict(self).items()}

    def __call__(self, t: int) -> float:
        """The step size of update t (t >= 0)."""
        t = as_int(t, "t")
        if t < 0:
            raise ValueError(f"t must be >= 0, got {t}")
        kind, params = self._spec()
        return _core.schedule_at(kind, params, t)


@dataclass(frozen=True)
class Constant(Schedule):
    """eta_t = eta0."""

    eta0: float


@dataclass(frozen=True)
class InverseScaling(Schedule):
    """eta_t = eta0 / (t + 1) ** power_t (scikit-learn's "invscaling")."""

    eta0: float
    power_t: float = 0.25


@dataclass(frozen=True)
class Exponential(Schedule):
    """eta_t = eta0 * gamma ** t, 0 < gamma <= 1 (PyTorch's ExponentialLR)."""

    eta0: float
    gamma: float


@dataclass(frozen=True)
class Step(Schedule):
    """eta_t = eta0 * gamma ** (t // step_size) (PyTorch's StepLR)."""

    eta0: float
    step_size: int
    gamma: float = 0.1


@dataclass(frozen=True)
class Cosine(Schedule):
    """eta_t = eta_min + (eta0 - eta_min) * (1 + cos(pi * min(t, t_max) / t_max)) / 2.

    PyTorch's CosineAnnealingLR over one half period; it stays at eta_min
    after t_max updates instead of climbing again.
    """

    eta0: float
    t_max: int
    eta_min: float = 0.0
