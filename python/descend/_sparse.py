"""scipy.sparse X as the core takes it, without importing scipy.

CSR and CSC matrices (and arrays) are passed as their own ``data``,
``indices`` and ``indptr`` arrays, never copied when the values are
float32/float64 and the indices int32/int64 (both of one dtype, as scipy
keeps them). Any other format (COO, LIL, DOK, BSR, DIA) is converted to
CSR once; integer or bool values become float64 (a copy of ``data``
only). Unsorted indices and explicit zeros are used as they are, and
duplicate entries add up, as scipy defines the matrix; nothing is ever
written to the caller's matrix (no ``sum_duplicates``, no sorting).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INDICES = (np.dtype(np.int32), np.dtype(np.int64))


class SparseX(NamedTuple):
    """A sparse X for the core: ("csr" | "csc", data, indices, indptr, rows, cols)."""

    format: str
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    rows: int
    cols: int

    @property
    def shape(self) -> tuple:
        return (self.rows, self.cols)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype


def is_sparse(a: object) -> bool:
    """Whether `a` is a scipy.sparse matrix or array (scipy is not imported to ask)."""
    return type(a).__module__.startswith("scipy.sparse")


def _contiguous(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def as_sparse(X: object, name: str = "X") -> SparseX:
    """A scipy.sparse X as SparseX, in place where its dtypes fit (see module doc)."""
    if getattr(X, "ndim", 2) != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    data = X.data
    if data.dtype not in _FLOATS:
        if data.dtype.kind not in "biu":
            raise TypeError(f"{name} must hold real numbers, got a sparse matrix of dtype {data.dtype}")
        data = data.astype(np.float64)
    indices, indptr = X.indices, X.indptr
    if indices.dtype != indptr.dtype or indices.dtype not in _INDICES:
        # Both are index arrays of one matrix: one dtype for the core.
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    rows, cols = X.shape
    return SparseX(X.format, _contiguous(data), _contiguous(indices), _contiguous(indptr), int(rows), int(cols))
