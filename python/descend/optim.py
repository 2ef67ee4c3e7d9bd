"""Update rules over your own NumPy arrays, in place, as in torch.optim.

>>> import numpy as np, descend
>>> w = np.zeros(3)
>>> opt = descend.optim.Adam(w, lr=1e-2)
>>> for _ in range(100):
...     opt.step(2 * (w - 1.0))      # the gradient of ||w - 1||^2
>>> opt.state_dict()["t"]
100

``params`` is one array or a list of arrays: float32 or float64, C- or
F-contiguous and writeable. They are updated in place by the C++ core
(one fused loop per array over parameter, gradient and state) and are
never copied; anything else is a TypeError, not a silent copy. ``lr`` is a
number or a :mod:`descend.schedules` object (evaluated at the step count
t = 0, 1, ...) and may be reassigned between steps. The definitions,
defaults and bias correction are PyTorch's:

===========  ===============================================================
GD           p -= lr g
Momentum     b = momentum b + g;  p -= lr b
Nesterov     b = momentum b + g;  p -= lr (g + momentum b)
Adagrad      s += g^2;  p -= lr g / (sqrt(s) + epsilon)
RMSprop      v = rho v + (1 - rho) g^2;  p -= lr g / (sqrt(v) + epsilon)
Adam         m = beta_1 m + (1 - beta_1) g;  v = beta_2 v + (1 - beta_2) g^2;
             p -= lr / (1 - beta_1^t) m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)
AdamW        p *= 1 - lr weight_decay, then the Adam step
===========  ===============================================================

State buffers (b, s, v, m) start at zero, have the parameter's dtype and
layout, and are part of :meth:`Optimizer.state_dict`.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from . import _core
from ._validation import FLOAT_DTYPES, as_float, as_int, as_n_threads
from .schedules import Schedule

__all__ = ["GD", "Adagrad", "Adam", "AdamW", "Momentum", "Nesterov", "Optimizer", "RMSprop"]

LearningRate = Union[float, Schedule]


def _check_param(p: object, i: int) -> np.ndarray:
    name = f"params[{i}]"
    if not isinstance(p, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array updated in place, got {type(p).__name__}")
    if p.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64 to be updated in place, got {p.dtype}")
    if not (p.flags.c_contiguous or p.flags.f_contiguous):
        raise TypeError(f"{name} must be C- or F-contiguous to be updated in place (a copy would not update yours)")
    if not p.flags.writeable:
        raise TypeError(f"{name} is read-only; it must be writeable to be updated in place")
    return p


def _as_list(arrays: object) -> list:
    return list(arrays) if isinstance(arrays, (list, tuple)) else [arrays]


def check_lr(lr: object, name: str = "lr") -> LearningRate:
    """A positive finite number or a descend.schedules object, named `name` in errors."""
    if isinstance(lr, Schedule):
        return lr
    value = as_float(lr, name)
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


class Optimizer:
    """An update rule over a list of arrays; subclasses name the rule."""

    name = ""
    _hyper: tuple = ()

    def __init__(self, params, lr: LearningRate, n_threads: Optional[int], hyper: dict):
        arrays = _as_list(params)
        if not arrays:
            raise ValueError("params is empty: pass an array or a list of arrays")
        self.params = [_check_param(p, i) for i, p in enumerate(arrays)]
        self.lr = lr
        self.n_threads = as_n_threads(n_threads)
        self._rule = _core.UpdateRule(self.name, {k: as_float(v, k) for k, v in hyper.items()})
        self.t = 0
        self.state = [[np.zeros_like(p) for _ in range(self._rule.slots)] for p in self.params]

    @property
    def lr(self) -> LearningRate:
        """The learning rate: a number or a schedule; may be reassigned between steps."""
        return self._lr

    @lr.setter
    def lr(self, value: LearningRate) -> None:
        self._lr = check_lr(value)

    @property
    def hyper_params(self) -> dict:
        """The rule's hyper-parameters, defaults filled in."""
        return dict(self._rule.params)

    def current_lr(self) -> float:
        """The step size the next step() uses."""
        return self._lr(self.t) if isinstance(self._lr, Schedule) else self._lr

    def _grad(self, g: object, p: np.ndarray, i: int) -> np.ndarray:
        g = np.asarray(g)
        if g.shape != p.shape:
            raise ValueError(f"grads[{i}] has shape {g.shape} but params[{i}] has shape {p.shape}")
        # Gradients are only read: match the parameter's dtype and memory order.
        return np.asarray(g, dtype=p.dtype, order="F" if not p.flags.c_contiguous else "C")

    def step(self, grads) -> None:
        """One update of every parameter in place, given its gradient(s)."""
        glist = _as_list(grads)
        if len(glist) != len(self.params):
            raise ValueError(f"step() got {len(glist)} gradient(s) for {len(self.params)} parameter array(s)")
        grads_ok = [self._grad(g, p, i) for i, (g, p) in enumerate(zip(glist, self.params))]
        lr = self.current_lr()
        for p, g, s in zip(self.params, grads_ok, self.state):
            self._rule.step(param=p, grad=g, state=s, lr=lr, t=self.t + 1, n_threads=self.n_threads)
        self.t += 1

    def state_dict(self) -> dict:
        """A copy of everything that determines the next steps (not the parameters)."""
        return {
            "optimizer": self.name,
            "lr": self._lr,
            "t": self.t,
            "hyper_params": self.hyper_params,
            "state": [[s.copy() for s in slots] for slots in self.state],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restores a state_dict() of the same rule over arrays of the same shapes."""
        if state_dict.get("optimizer") != self.name:
            raise ValueError(f"state_dict is for optimizer {state_dict.get('optimizer')!r}, not {self.name!r}")
        state = state_dict["state"]
        if len(state) != len(self.state) or any(len(a) != len(b) for a, b in zip(state, self.state)):
            raise ValueError("state_dict's state does not match this optimizer's parameters")
        for saved, mine in zip(state, self.state):
            for s, m in zip(saved, mine):
                if np.shape(s) != m.shape:
                    raise ValueError(f"state_dict has a state buffer of shape {np.shape(s)}, expected {m.shape}")
        rule = _core.UpdateRule(self.name, {k: as_float(v, k) for k, v in state_dict["hyper_params"].items()})
        t = as_int(state_dict["t"], "t")
        if t < 0:
            raise ValueError(f"state_dict's t must be >= 0, got {t}")
        self.lr = state_dict["lr"]
        self._rule, self.t = rule, t
        for saved, mine in zip(state, self.state):
            for s, m in zip(saved, mine):
                np.copyto(m, s)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self.hyper_params.items())
        return f"{type(self).__name__}(lr={self._lr!r}{', ' if params else ''}{params}, t={self.t})"


class GD(Optimizer):
    """Plain gradient descent: p -= lr g."""

    name = "gd"

    def __init__(self, params, lr: LearningRate = 1e-3, *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {})


class Momentum(Optimizer):
    """Heavy-ball momentum (torch.optim.SGD with momentum): b = momentum b + g; p -= lr b."""

    name = "momentum"

    def __init__(self, params, lr: LearningRate = 1e-3, momentum: float = 0.9, *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"momentum": momentum})


class Nesterov(Optimizer):
    """Nesterov momentum (torch.optim.SGD, nesterov=True): b = momentum b + g; p -= lr (g + momentum b)."""

    name = "nesterov"

    def __init__(self, params, lr: LearningRate = 1e-3, momentum: float = 0.9, *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"momentum": momentum})


class Adagrad(Optimizer):
    """Adagrad: s += g^2; p -= lr g / (sqrt(s) + epsilon)."""

    name = "adagrad"

    def __init__(self, params, lr: LearningRate = 1e-2, epsilon: float = 1e-10, *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"epsilon": epsilon})


class RMSprop(Optimizer):
    """RMSprop: v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + epsilon)."""

    name = "rmsprop"

    def __init__(self, params, lr: LearningRate = 1e-2, rho: float = 0.99, epsilon: float = 1e-8, *,
                 n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"rho": rho, "epsilon": epsilon})


class Adam(Optimizer):
    """Adam with bias correction (epsilon outside the square root), as torch.optim.Adam."""

    name = "adam"

    def __init__(self, params, lr: LearningRate = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon})


class AdamW(Optimizer):
    """AdamW: decoupled weight decay p *= 1 - lr weight_decay, then the Adam step."""

    name = "adamw"

    def __init__(self, params, lr: LearningRate = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 1e-2, *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads,
                         {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "weight_decay": weight_decay})


BY_NAME = {cls.name: cls for cls in (GD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW)}
