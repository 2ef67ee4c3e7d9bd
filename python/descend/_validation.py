"""Argument checks shared by every entry point.

Each check raises before any work, as TypeError (wrong kind of thing) or
ValueError (right kind, wrong value), with a message that names the
argument. X is never copied when it is float32/float64 and C- or
F-contiguous; small inputs (y, weights, coef0) are cast to X's dtype.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from ._dtypes import NATIVE as FLOAT_DTYPES
from ._dtypes import native_dtype
from ._sparse import SparseX, as_sparse, is_sparse

_MAX_SEED = 2**64 - 1
_INT64 = 2**63
_MAX_INT32 = 2**31 - 1


def _numeric_array(a: object, name: str) -> np.ndarray:
    if is_sparse(a):
        raise TypeError(f"{name} is a sparse matrix; it must be a dense array (call .toarray())")
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers (floats, integers or bool), got an array of dtype {arr.dtype}")
    return arr


def as_matrix(X: object, name: str = "X") -> np.ndarray | SparseX:
    """X as a 2-D float32/float64 array, in place when C- or F-contiguous,
    or a scipy.sparse X as the core's SparseX (see descend._sparse).

    Other dtypes follow X's one rule (descend._dtypes: float16 becomes
    float32, integers and bool float64); any other strides are copied
    once into C order.
    """
    if type(X) is np.ndarray and X.ndim == 2 and X.dtype in FLOAT_DTYPES and (X.flags.c_contiguous or X.flags.f_contiguous):
        return X  # the common case, before the general checks (a tiny fit's call costs microseconds)
    if is_sparse(X):
        return as_sparse(X, name)
    arr = _numeric_array(X, name)
    if arr.ndim != 2:
        hint = " (use X.reshape(-1, 1) for a single feature)" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {arr.shape}{hint}")
    dtype = native_dtype(arr.dtype, name)
    if arr.dtype != dtype:
        arr = arr.astype(dtype)
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        arr = np.ascontiguousarray(arr)
    return arr


def as_vector(v: object, name: str, dtype: np.dtype, size: int | None = None, size_of: str = "") -> np.ndarray:
    """A 1-D C-contiguous array of `dtype` (a cast copy when needed).

    With `size`, it must have that many entries (`size_of` says what sets
    it); without, the length is left to the core (y, sample_weight).
    """
    if (type(v) is np.ndarray and v.ndim == 1 and v.dtype == dtype and v.flags.c_contiguous
            and (size is None or v.shape[0] == size)):
        return v  # already what the core takes: the common case, before the general checks
    arr = _numeric_array(v, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}" + (" (use .ravel())" if arr.ndim == 2 and 1 in arr.shape else ""))
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name} has {arr.shape[0]} entries but {size_of} is {size}; they must match")
    return cast_to(arr, name, dtype)


def cast_to(arr: np.ndarray, name: str, dtype: np.dtype) -> np.ndarray:
    """arr as a C-contiguous array of `dtype` (X's). A finite float64 value
    beyond float32's range would become infinity there and be reported as
    "contains NaN or infinity" (or overflow the loss): a ValueError naming
    the entry instead."""
    if arr.dtype.kind != "f" or np.dtype(dtype).itemsize >= arr.dtype.itemsize:
        return np.ascontiguousarray(arr, dtype=dtype)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype)
    overflowed = np.flatnonzero(np.isinf(out) & np.isfinite(arr))
    if overflowed.size:
        i = int(overflowed[0])
        raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is beyond the range of {np.dtype(dtype).name}, X's dtype; "
                         f"scale it, or pass X as float64")
    return out


def as_float(value: object, name: str) -> float:
    if type(value) is float:  # the common case, before the slower checks (a fit makes ten of these)
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()  # a 0-d array is a number, as NumPy treats it
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def as_float_params(params: dict) -> dict:
    """Keyword hyper-parameters as floats, each named in its TypeError;
    momentum="auto" (FISTA's momentum with adaptive restart) is kept as it is."""
    return {name: value if _is_auto_momentum(name, value) else as_float(value, name) for name, value in params.items()}


def _is_auto_momentum(name: str, value: object) -> bool:
    if name != "momentum" or not isinstance(value, str):
        return False
    if value != "auto":  # a word, but not the one momentum takes: a bad value, not a bad type
        raise ValueError(f"momentum must be a number in [0, 1) or 'auto', got {value!r}")
    return True


def as_optional_float(value: object, name: str) -> float | None:
    return None if value is None else as_float(value, name)


def as_int(value: object, name: str) -> int:
    """An integer that fits the core's 64-bit counts (a ValueError naming
    `name` otherwise, not the binding's "incompatible function arguments")."""
    if type(value) is int:  # the common case (not bool: its type is bool)
        v = value
    elif isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    else:
        try:
            v = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if not -_INT64 <= v < _INT64:
        raise ValueError(f"{name} must be below 2**63 in size, got {v}")
    return v


def as_name(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value


def as_seed(seed: object) -> int:
    """An int in [0, 2**64); None draws one from the OS's entropy."""
    if seed is None:
        return int(np.random.SeedSequence().entropy) & _MAX_SEED
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    try:
        s = operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"seed must be an integer, got {seed!r}") from None
    if not 0 <= s <= _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**64), got {s}")
    return s


def as_n_threads(n_threads: object) -> int:
    """0 (all cores) for None, else an int >= 1."""
    if n_threads is None:
        return 0
    n = as_int(n_threads, "n_threads")
    if not 1 <= n <= _MAX_INT32:
        raise ValueError(f"n_threads must be between 1 and 2**31 - 1, or None (all cores), got {n}")
    return n


def check_callable(fn: object, name: str) -> None:
    if fn is not None and not callable(fn):
        raise TypeError(f"{name} must be callable or None, got {fn!r}")


def check_out(out: np.ndarray, dtype: np.dtype, shape: tuple) -> None:
    """`out` is written in place, so it must fit exactly: never a silent copy."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array, got {type(out).__name__}")
    if out.dtype != dtype or out.shape != shape or not out.flags.c_contiguous or not out.flags.writeable:
        raise TypeError(
            f"out must be a writeable C-contiguous {dtype} array of shape {shape}, "
            f"got {out.dtype} of shape {out.shape}"
            + ("" if out.flags.writeable else " (read-only)")
        )
