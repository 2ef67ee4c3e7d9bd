"""Scaffolding shared by the test modules: seeds, the thread-count fixture,
the names of the methods, update rules and losses, and the loss_grad
problems and comparisons that test_kernels.py and test_losses.py share.

Modules import the helpers with ``from conftest import ...`` (pytest puts
this directory on sys.path: rootdir-less "prepend" import mode, no
__init__.py here), which also works when the suite runs from outside the
source tree (``python -m pytest /path/to/repo/tests``).
"""

from __future__ import annotations

import os
import zlib

import pytest

# scikit-learn's estimator checks skip their array-API check (NumPy
# inputs with array-API dispatch on) unless SciPy's array API support is
# switched on before SciPy is first imported; switch it on so that check
# runs for descend's estimators too.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The three kinds of gradient descent, the update rules and the losses
# (DESIGN.md §2). Plain tuples for now.
METHODS = ("batch", "sgd", "minibatch")
OPTIMIZERS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
LOSSES = ("squared", "logistic", "hinge", "huber", "softmax")


def seed_of(*parts) -> int:
    """A fixed seed per test case (hash() of a str changes between runs)."""
    return zlib.crc32(repr(parts).encode())


@pytest.fixture
def restore_threads():
    """For tests that call descend.set_num_threads: afterwards the process
    default is back (set_num_threads(None): all cores), the state every
    test starts in. Restoring a saved get_num_threads() instead would pin
    the count to a number, which is not the default state."""
    import descend

    yield
    descend.set_num_threads(None)
