"""scipy.sparse X as the core takes it, without importing scipy.

CSR and CSC matrices (and arrays) are passed as their own ``data``,
``indices`` and ``indptr`` arrays, never copied when the values are
float32/float64 and the indices int32/int64 (both of one dtype, as scipy
keeps them). Any other format (COO, LIL, DOK, BSR, DIA) is converted to
CSR once; other value dtypes follow X's one rule (``_dtypes``: float16
becomes float32, integers and bool float64; a copy of ``data`` only).
Unsorted indices and explicit zeros are used as they are, and duplicate
entries add up, as scipy defines the matrix; nothing is ever written to
the caller's matrix (no ``sum_duplicates``, no sorting).

Every sparse X is checked here (``check_structure``) before anything
reads it by its indices: scipy's arrays are public and writable, and
scipy's own conversions (COO's ``tocsr``) and products index memory by
them unchecked, so a row index of 100 in a 4-row COO matrix corrupts the
heap. fit, loss_grad, descend.dask's blocks and every predict call this
one function (the core checks CSR/CSC again for its C++ callers).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._dtypes import native_dtype

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


def _index_array(a: object, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be a 1-D array of integers, got {a.dtype} of shape {a.shape}")
    return a


def _check_range(a: np.ndarray, size: int, what: str, limit: str) -> None:
    """Every entry of the index array `a` in [0, size); a ValueError naming
    the first one outside, with its value as given (a uint64 2**63 + 1 is
    not reported as the negative int64 the core would see)."""
    if a.size == 0:
        return
    # One pass, no temporary: a negative signed index is a huge unsigned one.
    as_unsigned = a if a.dtype.kind == "u" else a.view(a.dtype.str.replace("i", "u"))
    if int(as_unsigned.max()) < size:
        return
    e = int(np.flatnonzero((a < 0) | (a >= size))[0])
    raise ValueError(f"{what}[{e}] = {int(a[e])} is out of range: {limit}")


def _check_compressed(X: object, major: int, minor: int, major_name: str, minor_name: str, name: str) -> None:
    """CSR/CSC (and BSR, over its blocks) as scipy's check_format(full_check=True) checks them."""
    indptr = _index_array(X.indptr, f"{name}.indptr")
    indices = _index_array(X.indices, f"{name}.indices")
    if indptr.shape[0] != major + 1:
        raise ValueError(f"{name}.indptr has {indptr.shape[0]} entries; {name} has {major} {major_name}, "
                         f"so it needs {major + 1}")
    if int(indptr[0]) != 0:
        raise ValueError(f"{name}.indptr must start at 0, got {int(indptr[0])}")
    fall = np.flatnonzero(indptr[1:] < indptr[:-1])
    if fall.size:
        i = int(fall[0])
        raise ValueError(f"{name}.indptr must not decrease: indptr[{i + 1}] = {int(indptr[i + 1])} "
                         f"< indptr[{i}] = {int(indptr[i])}")
    nnz = int(indptr[-1])
    stored = min(indices.shape[0], np.shape(X.data)[0])
    if nnz > stored:
        raise ValueError(f"{name}.indptr ends at {nnz} entries but {name}.indices and {name}.data hold "
                         f"{indices.shape[0]} and {np.shape(X.data)[0]}")
    _check_range(indices[:nnz], minor, f"{name}.indices",
                 f"{name} has {minor} {minor_name} (indptr runs over its {major_name})")


def _check_coo(X: object, name: str) -> None:
    rows, cols = X.shape
    row = _index_array(X.row, f"{name}.row")
    col = _index_array(X.col, f"{name}.col")
    n = np.shape(X.data)[0]
    if row.shape[0] != n or col.shape[0] != n:
        raise ValueError(f"{name}.row, {name}.col and {name}.data must have one length, "
                         f"got {row.shape[0]}, {col.shape[0]} and {n}")
    _check_range(row, rows, f"{name}.row", f"{name} has {rows} rows")
    _check_range(col, cols, f"{name}.col", f"{name} has {cols} columns")


def check_structure(X: object, name: str = "X") -> object:
    """X as CSR or CSC after checking that its arrays describe a matrix of
    its shape (see module doc): a ValueError (TypeError for index arrays
    that are not integers) naming the first bad entry, before any
    conversion or product reads them. CSR and CSC are returned as they
    are; COO and BSR are checked, then converted to CSR; LIL, DOK and DIA
    convert to COO by their own bounds-safe code, which is then checked."""
    if getattr(X, "ndim", 2) != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
    rows, cols = (int(v) for v in X.shape)
    fmt = X.format
    if fmt == "csr":
        _check_compressed(X, rows, cols, "rows", "columns", name)
        return X
    if fmt == "csc":
        _check_compressed(X, cols, rows, "columns", "rows", name)
        return X
    if fmt == "bsr":
        r, c = X.blocksize
        _check_compressed(X, rows // r, cols // c, f"block rows ({r} x {c} blocks)", "block columns", name)
        return X.tocsr()
    coo = X if fmt == "coo" else X.tocoo()
    _check_coo(coo, name)
    return coo.tocsr()


def as_sparse(X: object, name: str = "X") -> SparseX:
    """A scipy.sparse X as SparseX, in place where its dtypes fit (see module doc)."""
    X = check_structure(X, name)
    data = X.data
    dtype = native_dtype(data.dtype, name, "a sparse matrix")
    if data.dtype != dtype:
        data = data.astype(dtype)
    indices, indptr = X.indices, X.indptr
    if indices.dtype != indptr.dtype or indices.dtype not in _INDICES:
        # Both are index arrays of one matrix: one dtype for the core
        # (check_structure has put every value in range of int64).
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    rows, cols = X.shape
    return SparseX(X.format, _contiguous(data), _contiguous(indices), _contiguous(indptr), int(rows), int(cols))
