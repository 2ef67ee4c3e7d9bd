"""The names and defaults the C++ core owns, read once at import.

Each list and default is written in one place, the core (names.hpp, the
update rules' structs, FitOptions); the signatures of descend.fit,
descend.optim, descend.minimize and the estimators take theirs from here.
"""

from __future__ import annotations

from . import _core

LOSSES: tuple = tuple(_core.LOSSES)
METHODS: tuple = tuple(_core.METHODS)
OPTIMIZERS: tuple = tuple(_core.OPTIMIZERS)
SCHEDULES: tuple = tuple(_core.SCHEDULES)
ON_DIVERGENCE: tuple = tuple(_core.ON_DIVERGENCE)

# descend.fit's options: {name: default}, from descend::FitOptions{}.
FIT: dict = _core.fit_defaults()

# The schedules' parameters: {name: default}, from descend::Schedule{}.
SCHEDULE: dict = _core.schedule_defaults()

# {rule: {"lr": default learning rate, hyper-parameter: default}}.
RULES: dict = _core.optimizer_defaults()

# Every rule's hyper-parameters, in a stable order (the estimators' keywords).
HYPER_PARAMS: tuple = tuple(dict.fromkeys(k for d in RULES.values() for k in d if k != "lr"))


def rule_default(rule: str, name: str) -> float:
    """The core's default of `rule`'s hyper-parameter `name` ("lr": its learning rate)."""
    return RULES[rule][name]


# GDClassifier/GDRegressor's l2 (not the core's: descend.fit's is 0):
# scikit-learn's SGD alpha, so that a first fit converges (issue 18).
DEFAULT_L2: float = 1e-4
