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
layout, and are part of :meth:`Optimizer.state_dict`. They and the step
count live in the C++ core (``descend::Optimizer``); ``opt.state`` shows
them as NumPy views.

The hyper-parameters are named as in scikit-learn's MLP (``beta_1``,
``beta_2``, ``epsilon``); since the classes are shaped like
``torch.optim``, PyTorch's names are accepted as aliases: ``betas=(b1,
b2)`` for ``beta_1, beta_2`` and ``eps`` for ``epsilon``. Defaults are
the core's (PyTorch's).
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from . import _core
from ._defaults import rule_default
from ._validation import as_float, as_float_params, as_int, as_n_threads
from .schedules import Schedule

__all__ = ["GD", "Adagrad", "Adam", "AdamW", "Momentum", "Nesterov", "Optimizer", "RMSprop"]

LearningRate = Union[float, Schedule]


def _as_list(arrays: object) -> list:
    return list(arrays) if isinstance(arrays, (list, tuple)) else [arrays]


def _lr_spec(lr: object, name: str = "lr") -> object:
    """A learning rate as the core takes it: a float, or a schedule's (kind, params)."""
    return lr._spec() if isinstance(lr, Schedule) else as_float(lr, name)


def _check_lr(lr: object, name: str = "lr") -> LearningRate:
    """A learning rate the core accepts (a finite number > 0 or a schedule), named `name` in errors."""
    _core.check_learning_rate(_lr_spec(lr, name), name)
    return lr


def _check_lr_fits(spec: object, params: list) -> None:
    """A float32 parameter's step is taken in float32: a learning rate beyond
    that range (a schedule's: its eta0, the largest) would be infinity there,
    and a step of infinity times a zero gradient NaN. A ValueError instead."""
    peak = spec if isinstance(spec, float) else spec[1]["eta0"]  # type: ignore[index]
    with np.errstate(over="ignore"):
        beyond = bool(np.isinf(np.float32(peak)))
    for i, p in enumerate(params):
        if beyond and p.dtype == np.float32:
            raise ValueError(f"the learning rate {peak!r} is beyond the range of float32, the dtype of "
                             f"params[{i}]; use a smaller one, or float64 parameters")


def _check_not_aliased(params: list) -> None:
    """Each parameter's memory is its own. The same array twice (GD([w, w]))
    or overlapping views of one buffer would be updated once per appearance
    each step, silently: a ValueError naming the two, as torch.optim refuses
    a tensor in two parameter groups. The arrays are contiguous (the core
    has checked), so sharing memory is their byte ranges overlapping: one
    sort and a sweep, not a comparison of every pair."""
    spans = sorted((p.__array_interface__["data"][0], i, p.nbytes) for i, p in enumerate(params) if p.nbytes)
    reach, owner = -1, -1
    for start, i, size in spans:
        if start < reach:
            first, second = sorted((owner, i))
            same = params[first] is params[second]
            raise ValueError(f"params[{first}] and params[{second}] "
                             + ("are the same array" if same else "share memory (views of one buffer)")
                             + ": each step would update it twice; pass each parameter once")
        if start + size > reach:
            reach, owner = start + size, i


def _aliases(hyper: dict, betas: object = None, eps: object = None) -> dict:
    """PyTorch's names folded into descend's: betas=(b1, b2) -> beta_1, beta_2; eps -> epsilon."""
    if betas is not None:
        try:
            hyper["beta_1"], hyper["beta_2"] = betas
        except (TypeError, ValueError):
            raise TypeError(f"betas must be a pair (beta_1, beta_2), got {betas!r}") from None
    if eps is not None:
        hyper["epsilon"] = eps
    return hyper


class Optimizer:
    """An update rule over a list of arrays; subclasses name the rule.

    Each array has its own ``descend::Optimizer`` in the core, which keeps
    the rule's state buffers and step count and updates the array in place.
    """

    name = ""

    def __init__(self, params, lr: Optional[LearningRate], n_threads: Optional[int], hyper: dict):
        arrays = _as_list(params)
        if not arrays:
            raise ValueError("params is empty: pass an array or a list of arrays")
        for i, p in enumerate(arrays):
            if not isinstance(p, np.ndarray):
                raise TypeError(f"params[{i}] must be a NumPy array updated in place, got {type(p).__name__}")
        self.params = arrays
        self._lr = rule_default(self.name, "lr") if lr is None else lr
        self._cores = self._make_cores(as_float_params(hyper), self._lr, as_n_threads(n_threads))
        _check_not_aliased(arrays)  # after the cores' checks: every array is contiguous here

    def _make_cores(self, hyper: dict, lr: LearningRate, n_threads: int) -> list:
        spec = _lr_spec(lr)
        cores = [_core.Optimizer(self.name, hyper, p, f"params[{i}]", spec, n_threads)
                 for i, p in enumerate(self.params)]
        _check_lr_fits(spec, self.params)
        return cores

    @property
    def lr(self) -> LearningRate:
        """The learning rate: a number or a schedule; may be reassigned between steps."""
        return self._lr

    @lr.setter
    def lr(self, value: LearningRate) -> None:
        spec = _lr_spec(value)
        _core.check_learning_rate(spec, "lr")
        _check_lr_fits(spec, self.params)
        for core in self._cores:
            core.set_lr(spec)
        self._lr = value

    @property
    def t(self) -> int:
        """Steps taken so far (the schedule's clock; Adam's bias correction uses t + 1)."""
        return self._cores[0].steps

    @property
    def n_threads(self) -> int:
        """Threads of a step (0: all cores); never changes a result."""
        return self._cores[0].n_threads

    @property
    def state(self) -> list:
        """Each parameter's state buffers, as views of the core's (shaped and ordered like it)."""
        return [[self._state_view(core, p, k) for k in range(core.slots)] for core, p in zip(self._cores, self.params)]

    @staticmethod
    def _state_view(core, p: np.ndarray, slot: int) -> np.ndarray:
        return core.state(slot).reshape(p.shape, order="C" if p.flags.c_contiguous else "F")

    @property
    def hyper_params(self) -> dict:
        """The rule's hyper-parameters, defaults filled in."""
        return dict(self._cores[0].params)

    def current_lr(self) -> float:
        """The step size the next step() uses."""
        return self._cores[0].current_lr

    def _grad(self, g: object, p: np.ndarray, i: int) -> np.ndarray:
        g = np.asarray(g)
        if g.dtype.kind not in "biuf":  # a complex gradient would lose its imaginary part unseen
            raise TypeError(f"grads[{i}] must hold real numbers, got an array of dtype {g.dtype}")
        if g.shape != p.shape:
            raise ValueError(f"grads[{i}] has shape {g.shape} but params[{i}] has shape {p.shape}")
        # Gradients are only read: match the parameter's dtype and memory order
        # (a value beyond float32's range becomes infinity: check_finite names it).
        with np.errstate(over="ignore"):
            return np.asarray(g, dtype=p.dtype, order="F" if not p.flags.c_contiguous else "C")

    def step(self, grads, *, check_finite: bool = True) -> None:
        """One update of every parameter in place, given its gradient(s).

        check_finite: a gradient holding NaN or infinity raises ValueError
        before any parameter changes (one read of each gradient, about a
        seventh of Adam's memory traffic: W4 in the benchmarks measures it);
        False skips the check, and a non-finite gradient then makes those
        parameters non-finite.
        """
        glist = _as_list(grads)
        if len(glist) != len(self.params):
            raise ValueError(f"step() got {len(glist)} gradient(s) for {len(self.params)} parameter array(s)")
        grads_ok = [self._grad(g, p, i) for i, (g, p) in enumerate(zip(glist, self.params))]
        if check_finite:
            for i, g in enumerate(grads_ok):
                if not _core.all_finite(g):
                    beyond = bool(np.isfinite(np.asarray(glist[i], dtype=np.float64)).all())
                    cast = f" once cast to params[{i}]'s dtype, {g.dtype} (a value is beyond its range)" \
                        if beyond else ""
                    raise ValueError(f"grads[{i}] contains NaN or infinity{cast}; no parameter was changed "
                                     "(pass check_finite=False to skip this check)")
        for core, g in zip(self._cores, grads_ok):
            core.step(g)

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
        mine = self.state
        if len(state) != len(mine) or any(len(a) != len(b) for a, b in zip(state, mine)):
            raise ValueError("state_dict's state does not match this optimizer's parameters")
        for saved, slots in zip(state, mine):
            for s, m in zip(saved, slots):
                if np.shape(s) != m.shape:
                    raise ValueError(f"state_dict has a state buffer of shape {np.shape(s)}, expected {m.shape}")
        t = as_int(state_dict["t"], "t")
        # New cores hold the saved rule and rate; the current ones stay
        # until every check has passed.
        cores = self._make_cores(as_float_params(state_dict["hyper_params"]), state_dict["lr"], self.n_threads)
        for core in cores:
            core.steps = t
        for core, p, saved in zip(cores, self.params, state):
            for k, s in enumerate(saved):
                np.copyto(self._state_view(core, p, k), s)
        self._cores, self._lr = cores, state_dict["lr"]

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self.hyper_params.items())
        return f"{type(self).__name__}(lr={self._lr!r}{', ' if params else ''}{params}, t={self.t})"


class GD(Optimizer):
    """Plain gradient descent: p -= lr g."""

    name = "gd"

    def __init__(self, params, lr: LearningRate = rule_default("gd", "lr"), *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {})


class Momentum(Optimizer):
    """Heavy-ball momentum (torch.optim.SGD with momentum): b = momentum b + g; p -= lr b."""

    name = "momentum"

    def __init__(self, params, lr: LearningRate = rule_default("momentum", "lr"),
                 momentum: float = rule_default("momentum", "momentum"), *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"momentum": momentum})


class Nesterov(Optimizer):
    """Nesterov momentum (torch.optim.SGD, nesterov=True): b = momentum b + g; p -= lr (g + momentum b)."""

    name = "nesterov"

    def __init__(self, params, lr: LearningRate = rule_default("nesterov", "lr"),
                 momentum: float = rule_default("nesterov", "momentum"), *, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, {"momentum": momentum})


class Adagrad(Optimizer):
    """Adagrad: s += g^2; p -= lr g / (sqrt(s) + epsilon). ``eps`` is an alias of epsilon."""

    name = "adagrad"

    def __init__(self, params, lr: LearningRate = rule_default("adagrad", "lr"),
                 epsilon: float = rule_default("adagrad", "epsilon"), *, eps: Optional[float] = None,
                 n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, _aliases({"epsilon": epsilon}, eps=eps))


class RMSprop(Optimizer):
    """RMSprop: v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + epsilon). ``eps`` is an alias of epsilon."""

    name = "rmsprop"

    def __init__(self, params, lr: LearningRate = rule_default("rmsprop", "lr"),
                 rho: float = rule_default("rmsprop", "rho"), epsilon: float = rule_default("rmsprop", "epsilon"),
                 *, eps: Optional[float] = None, n_threads: Optional[int] = None):
        super().__init__(params, lr, n_threads, _aliases({"rho": rho, "epsilon": epsilon}, eps=eps))


class Adam(Optimizer):
    """Adam with bias correction (epsilon outside the square root), as torch.optim.Adam.

    ``betas=(beta_1, beta_2)`` and ``eps`` are PyTorch's names for beta_1, beta_2 and epsilon.
    """

    name = "adam"

    def __init__(self, params, lr: LearningRate = rule_default("adam", "lr"),
                 beta_1: float = rule_default("adam", "beta_1"), beta_2: float = rule_default("adam", "beta_2"),
                 epsilon: float = rule_default("adam", "epsilon"), *, betas: Optional[tuple] = None,
                 eps: Optional[float] = None, n_threads: Optional[int] = None):
        hyper = _aliases({"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon}, betas, eps)
        super().__init__(params, lr, n_threads, hyper)


class AdamW(Optimizer):
    """AdamW: decoupled weight decay p *= 1 - lr weight_decay, then the Adam step.

    ``betas=(beta_1, beta_2)`` and ``eps`` are PyTorch's names for beta_1, beta_2 and epsilon.
    """

    name = "adamw"

    def __init__(self, params, lr: LearningRate = rule_default("adamw", "lr"),
                 beta_1: float = rule_default("adamw", "beta_1"), beta_2: float = rule_default("adamw", "beta_2"),
                 epsilon: float = rule_default("adamw", "epsilon"),
                 weight_decay: float = rule_default("adamw", "weight_decay"), *, betas: Optional[tuple] = None,
                 eps: Optional[float] = None, n_threads: Optional[int] = None):
        hyper = _aliases({"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "weight_decay": weight_decay},
                         betas, eps)
        super().__init__(params, lr, n_threads, hyper)


# The classes by rule name (descend.minimize's method=).
_BY_NAME = {cls.name: cls for cls in (GD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW)}
