"""The default number of threads of descend's kernels."""

from __future__ import annotations

from . import _core
from ._validation import as_int


def set_num_threads(n: int | None) -> None:
    """Sets the threads every call uses when it passes n_threads=None.

    n=None restores the default: all cores. Results do not depend on it:
    they are bitwise identical for any thread count.
    """
    if n is None:
        _core.set_num_threads(0)
        return
    n = as_int(n, "n")
    if not 1 <= n <= 2**31 - 1:
        raise ValueError(f"n must be between 1 and 2**31 - 1, or None (all cores), got {n}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The threads a call with n_threads=None uses."""
    return int(_core.get_num_threads())
