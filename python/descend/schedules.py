"""Learning-rate schedules: the step size eta_t of update t = 0, 1, 2, ...

Pass one as ``learning_rate=`` to :func:`descend.fit`,
:func:`descend.minimize` or an optimizer of :mod:`descend.optim`. The
schedule is evaluated by the C++ core inside its loop; calling a schedule
object, ``schedule(t)``, gives the same numbers from Python.

In ``fit`` the clock t counts updates: iterations for method="batch", and
for sgd/minibatch every mini-batch step, across epochs. In
:mod:`descend.optim` and :func:`descend.minimize` it counts ``step()`` calls.

:class:`ReduceOnPlateau` is the exception: its step size follows the
objective of a fit's checks, not t, so it works in :func:`descend.fit`
(and the estimators) only, and cannot be called with t.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import _core
from ._defaults import SCHEDULE
from ._validation import as_float, as_int

__all__ = ["Constant", "Cosine", "Exponential", "InverseScaling", "ReduceOnPlateau", "Schedule", "Step"]

# The parameters that are counts.
_INTEGERS = ("step_size", "t_max", "patience")


class Schedule:
    """Base of the schedules: eta_t for update t, computed by the core."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            caster = as_int if name in _INTEGERS else as_float
            object.__setattr__(self, name, caster(value, name))
        _core.check_learning_rate(self._spec(), "eta0")  # the core names a bad parameter

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
    power_t: float = SCHEDULE["power_t"]


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
    gamma: float = SCHEDULE["gamma"]


@dataclass(frozen=True)
class Cosine(Schedule):
    """eta_t = eta_min + (eta0 - eta_min) * (1 + cos(pi * min(t, t_max) / t_max)) / 2.

    PyTorch's CosineAnnealingLR over one half period; it stays at eta_min
    after t_max updates instead of climbing again.
    """

    eta0: float
    t_max: int
    eta_min: float = SCHEDULE["eta_min"]


@dataclass(frozen=True)
class ReduceOnPlateau(Schedule):
    """eta = eta0, times ``factor`` each time the objective stops improving.

    The objective is the one a fit checks and records in ``loss_history``
    (every iteration for method="batch", every epoch for sgd/minibatch).
    The first check sets the best objective; a later check J improves on
    it when ``J < best * (1 - threshold)`` (then best = J); after
    ``patience`` checks in a row without improvement the step size becomes
    ``max(eta * factor, min_lr)`` and the count starts again. A reduction
    takes effect from the next update. This is PyTorch's
    ``ReduceLROnPlateau(mode="min", threshold_mode="rel")`` stepped with
    the loss after each epoch, except that it reduces after ``patience``
    bad checks (PyTorch: after ``patience + 1``) and has no ``cooldown``
    or ``eps``. scikit-learn's ``learning_rate="adaptive"`` (SGD) is this
    with ``factor=0.2``, the default: divide by 5 after ``n_iter_no_change``
    epochs without improvement (``patience``; its ``tol`` is an absolute
    threshold where this one is relative).

    The rates a fit used are in ``FitResult.learning_rate_history``. The
    schedule needs a fit's objective: :mod:`descend.optim`,
    :func:`descend.minimize` and ``schedule(t)`` refuse it.

    Parameters: ``eta0`` > 0; ``factor`` in (0, 1); ``patience`` >= 1;
    ``threshold`` >= 0 (relative); ``min_lr`` in [0, eta0].
    """

    eta0: float
    factor: float = SCHEDULE["factor"]
    patience: int = int(SCHEDULE["patience"])
    threshold: float = SCHEDULE["threshold"]
    min_lr: float = SCHEDULE["min_lr"]

    def __call__(self, t: int) -> float:
        raise TypeError("ReduceOnPlateau's step size follows the objectives a fit checks, not the update "
                        "count t; FitResult.learning_rate_history holds the rates a fit used")
