"""The one rule for X's dtype, for dense, scipy.sparse and Dask X alike.

float32 and float64 are native and used as they are. float16 is widened
to float32, which holds every float16 value exactly (the core has no
half-precision kernels); integer and bool X become float64, as NumPy
does; any other real float (longdouble) becomes float64, the widest
native one. Complex, object and string dtypes are a TypeError that says
which dtypes are accepted.
"""

from __future__ import annotations

import numpy as np

NATIVE = (np.dtype(np.float32), np.dtype(np.float64))
ACCEPTED = "floats, integers or bool; float16 is widened to float32"


def native_dtype(dtype: object, name: str = "X", what: str = "an array") -> np.dtype:
    """The native float dtype X of `dtype` is computed in (see module doc)."""
    dtype = np.dtype(dtype)  # type: ignore[arg-type]
    if dtype in NATIVE:
        return dtype
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype.kind in "biuf":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must hold real numbers ({ACCEPTED}), got {what} of dtype {dtype}")
