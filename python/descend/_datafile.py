"""Data files for the command line: X, y and weights from CSV/TSV, Parquet,
.npy/.npz and LIBSVM text.

Each reader gives a table (column name -> 1-D array) or, for LIBSVM, CSR
arrays; `read_data` then picks the target, weight and feature columns by
name and checks them: a missing column, a non-numeric feature and empty or
NaN cells are a DataError whose one-line message says what and where.
pandas reads CSV (through pyarrow when installed) and Parquet; without it,
plain numeric CSV is read with NumPy. LIBSVM text is parsed by the core.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

FORMATS = ("csv", "parquet", "npy", "npz", "libsvm")
_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".npy": "npy", ".npz": "npz",
    ".svm": "libsvm", ".libsvm": "libsvm", ".svmlight": "libsvm",
}
_DELIMITERS = ",\t;| "
_CLI_EXTRA = "pip install 'descend[cli]'"
# The widest X a LIBSVM file may make unless --max-features says more: 2**24
# features (hashed features rarely use more), a model file of ~0.5 GB.
MAX_FEATURES = 2**24


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class Data:
    """What a command fits or predicts on.

    X : float64 ndarray (n, d), or a scipy.sparse CSR matrix for LIBSVM files
        (a dense array when SciPy is missing).
    y : the target column as read (numbers, or strings for class labels), or
        None when the file has none.
    weight : float64 (n,) or None.
    feature_names : the d column names (LIBSVM: the indices as written).
    target : the target column's name (None for LIBSVM: each line's label).
    format : one of FORMATS.
    """

    X: Any
    y: Optional[np.ndarray]
    weight: Optional[np.ndarray]
    feature_names: Tuple[str, ...]
    target: Optional[str]
    format: str
    path: str

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


def data_format(path: str, fmt: Optional[str] = None) -> str:
    """The format of `path`: `fmt` when given, else from the suffix, else
    LIBSVM when the first data line looks like ``label index:value``, else CSV."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise DataError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    suffix = os.path.splitext(path)[1].lower()
    known = _SUFFIXES.get(suffix)
    if known is not None and suffix != ".txt":
        return known
    return "libsvm" if _looks_like_libsvm(_head(path)) else "csv"


def read_data(path: str, *, target: Optional[str] = None, features: Optional[Sequence[str]] = None,
              weight: Optional[str] = None, sep: Optional[str] = None, fmt: Optional[str] = None,
              need_target: bool = True, features_from: str = "--features",
              libsvm_base: Optional[int] = None, max_features: int = MAX_FEATURES) -> Data:
    """The file at `path` as a Data, every column checked.

    need_target: the target column must be named and present (fitting);
    otherwise it is read when named and present (predicting on a file that
    may hold it too). features_from: what named the features, for messages.
    libsvm_base: 0 or 1, the first index of a LIBSVM file's features (None:
    0 when the file has an index 0, else 1, as LIBSVM's own files).
    max_features: the most features a LIBSVM file may make (its largest
    index sets the width: one hostile line must not take the memory).
    """
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a data file")
    fmt = data_format(path, fmt)
    if fmt == "libsvm":
        if target is not None or features is not None or weight is not None:
            raise DataError(f"{path}: a LIBSVM file's target is each line's label and its features are the "
                            "indices: --target, --features and --weight do not apply")
        return _libsvm_data(path, libsvm_base, max_features, need_target)
    if need_target and target is None:
        raise DataError(f"{path}: --target is required: the name of the column to predict")
    table, offset = _read_table(path, fmt, sep)
    return _select(table, path, fmt, offset, target, features, weight, need_target, features_from)


# ------------------------------------------------------------------ tables


class _Table:
    """Columns by name, in file order; `row_line` turns a row into a line number."""

    def __init__(self, names: List[str], columns: Dict[str, np.ndarray], numeric: Dict[str, bool]):
        self.names = names
        self.columns = columns
        self.numeric = numeric

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def _read_table(path: str, fmt: str, sep: Optional[str]) -> Tuple[_Table, Optional[int]]:
    """The table and the line of its first data row (None: not a text file)."""
    if fmt == "csv":
        return _read_csv(path, sep)
    if fmt == "parquet":
        return _read_parquet(path), None
    if fmt == "npy":
        return _read_npy(path), None
    return _read_npz(path), None


def _head(path: str, size: int = 65536) -> str:
    # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first column's name.
    with open(path, "rb") as f:
        return f.read(size).decode("utf-8-sig", errors="replace")


def _looks_like_libsvm(head: str) -> bool:
    """Whether the first data line is ``number index:value ...``."""
    for line in head.splitlines():
        tokens = line.split("#", 1)[0].split()
        if tokens:
            return _is_number(tokens[0]) and all(":" in t for t in tokens[1:])
    return False


def _sniff(head: str, path: str, sep: Optional[str]) -> str:
    if sep is not None:
        if sep in ("\\t", "tab"):
            return "\t"
        if len(sep) != 1:
            raise DataError(f"--sep must be one character (or 'tab'), got {sep!r}")
        return sep
    sample = "\n".join(head.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return "\t" if path.lower().endswith((".tsv", ".tab")) else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _read_csv(path: str, sep: Optional[str]) -> Tuple[_Table, int]:
    head = _head(path)
    lines = [line for line in head.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path} is empty")
    delimiter = _sniff(head, path, sep)
    first = next(csv.reader([lines[0]], delimiter=delimiter))
    header = not all(_is_number(cell) for cell in first if cell.strip())
    names = [c.strip() for c in first] if header else [str(i) for i in range(len(first))]
    if header and len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"{path}: the header names column(s) {', '.join(map(repr, twice))} more than once")
    try:
        import pandas  # noqa: F401
    except ImportError:
        return _csv_with_numpy(path, delimiter, header, names), 2 if header else 1
    return _csv_with_pandas(path, delimiter, header, names), 2 if header else 1


def _csv_with_pandas(path: str, delimiter: str, header: bool, names: List[str]) -> _Table:
    import pandas as pd

    kwargs: Dict[str, Any] = dict(sep=delimiter, header=0 if header else None, names=names, encoding="utf-8-sig")
    try:
        import pyarrow  # noqa: F401

        kwargs["engine"] = "pyarrow"
    except ImportError:
        pass
    try:
        frame = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except Exception as e:  # pandas' and pyarrow's parser errors have no common base
        raise DataError(f"{path} is not readable as CSV with delimiter {delimiter!r}: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return _frame_table(frame)


def _frame_table(frame: Any) -> _Table:
    import pandas as pd

    names = [str(c) for c in frame.columns]
    columns = {name: frame[col].to_numpy() for name, col in zip(names, frame.columns)}
    numeric = {name: bool(pd.api.types.is_numeric_dtype(frame[col].dtype)) for name, col in zip(names, frame.columns)}
    return _Table(names, columns, numeric)


def _csv_with_numpy(path: str, delimiter: str, header: bool, names: List[str]) -> _Table:
    """Plain numeric CSV without pandas: every cell read as text by NumPy's
    C reader, then each column converted (non-numeric columns stay text)."""
    try:
        cells = np.loadtxt(path, dtype=str, delimiter=delimiter, skiprows=1 if header else 0, ndmin=2,
                           comments=None, encoding="utf-8-sig")
    except ValueError as e:
        raise DataError(f"{path} is not readable as CSV with delimiter {delimiter!r}: {e}") from None
    if cells.shape[1] != len(names) and cells.size:
        raise DataError(f"{path}: the header has {len(names)} columns, the rows {cells.shape[1]}")
    columns: Dict[str, np.ndarray] = {}
    numeric: Dict[str, bool] = {}
    for j, name in enumerate(names):
        text = np.char.strip(cells[:, j]) if cells.size else np.empty(0, str)
        blank = text == ""
        try:
            values = np.where(blank, "nan", text).astype(np.float64)
            columns[name], numeric[name] = values, True
        except ValueError:
            columns[name], numeric[name] = text, False
    return _Table(names, columns, numeric)


def _read_parquet(path: str) -> _Table:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"reading Parquet needs pandas and pyarrow: {_CLI_EXTRA} pyarrow") from None
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise ImportError("reading Parquet needs pyarrow: pip install pyarrow") from None
    except Exception as e:
        raise DataError(f"{path} is not readable as Parquet: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return _frame_table(frame)


# The first bytes of a .npy array file and of an .npz archive (a zip file).
_NPY_MAGIC, _NPZ_MAGIC = b"\x93NUMPY", b"PK"


def _load_numpy(path: str, fmt: str) -> Any:
    """np.load with allow_pickle=False. A file that is not an array file
    (np.load then takes it for a pickle) or holds object arrays would get
    NumPy's advice to load it with allow_pickle, which the command line must
    never do with a file it was handed: say what the file is not, instead."""
    with open(path, "rb") as f:
        magic = f.read(len(_NPY_MAGIC))
    if not magic.startswith(_NPY_MAGIC if fmt == "npy" else _NPZ_MAGIC):
        kind = "a valid .npy array file" if fmt == "npy" else "a valid .npz archive (a zip of .npy files)"
        raise DataError(f"{path} is not {kind}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        if "pickle" in str(e):
            raise DataError(f"{path} holds Python objects (an object array), not numbers; descend reads numeric "
                            "arrays only") from None
        raise DataError(f"{path} is not readable as a NumPy file: {e}") from None


def _matrix_table(arr: np.ndarray, path: str, names: Optional[Sequence[str]] = None) -> _Table:
    """A 2-D array's columns, named by `names` or by position ("0", "1", ...)."""
    if arr.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (rows x columns), got shape {arr.shape}")
    names = [str(i) for i in range(arr.shape[1])] if names is None else [str(n) for n in names]
    if len(names) != arr.shape[1]:
        raise DataError(f"{path}: {len(names)} feature names for {arr.shape[1]} columns")
    numeric = arr.dtype.kind in "biuf"
    return _Table(names, {n: arr[:, j] for j, n in enumerate(names)}, {n: numeric for n in names})


def _read_npy(path: str) -> _Table:
    arr = _load_numpy(path, "npy")
    if arr.dtype.names:  # a structured array: its fields are named columns
        names = list(arr.dtype.names)
        return _Table(names, {n: arr[n] for n in names}, {n: arr[n].dtype.kind in "biuf" for n in names})
    return _matrix_table(arr, path)


def _read_npz(path: str) -> _Table:
    """An archive holding a 2-D "X" (with optional "feature_names") and 1-D
    arrays (the target, weights), or only 1-D arrays, one a column."""
    with _load_numpy(path, "npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    if not arrays:
        raise DataError(f"{path} is empty")
    names = arrays.pop("feature_names", None)
    X = arrays.pop("X", None)
    table = _matrix_table(X, f"{path} (X)", names) if X is not None else _Table([], {}, {})
    for key, arr in arrays.items():
        if arr.ndim != 1:
            raise DataError(f"{path}: array {key!r} has shape {arr.shape}; beside X, each array is one column")
        if key in table.columns:
            raise DataError(f"{path}: column {key!r} is both a feature name of X and an array")
        table.names.append(key)
        table.columns[key] = arr
        table.numeric[key] = arr.dtype.kind in "biuf"
    return table


# ----------------------------------------------------------- column checks


def _column_list(text: Optional[Sequence[str]]) -> Optional[List[str]]:
    if text is None:
        return None
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text)]
    return [n for n in names if n]


def _row_place(row: int, offset: Optional[int]) -> str:
    return f"row {row + 1}" + (f" (line {row + offset})" if offset is not None else "")


def _resolve(table: _Table, name: str, path: str, what: str) -> str:
    """A column by name (or, for files without names, by position; -1 the last)."""
    if name in table.columns:
        return name
    if table.names and table.names[0] == "0" and name.lstrip("-").isdigit():
        i = int(name)
        if -len(table.names) <= i < len(table.names):
            return table.names[i]
    shown = ", ".join(table.names[:20]) + (", ..." if len(table.names) > 20 else "")
    raise DataError(f"{path} has no column {name!r} for {what} (its columns: {shown})")


def _select(table: _Table, path: str, fmt: str, offset: Optional[int], target: Optional[str],
            features: Optional[Sequence[str]], weight: Optional[str], need_target: bool,
            features_from: str) -> Data:
    if table.n_rows == 0:
        raise DataError(f"{path} has no data rows")
    target_name = None
    if target is not None and (need_target or target in table.columns):
        target_name = _resolve(table, target, path, "--target")
    weight_name = None if weight is None else _resolve(table, weight, path, "--weight")
    wanted = _column_list(features)
    if wanted is None:
        names = [n for n in table.names if n not in (target_name, weight_name)]
    else:
        names = [_resolve(table, n, path, features_from) for n in wanted]
    if not names:
        raise DataError(f"{path}: no feature columns are left beside the target")
    for name in names + ([weight_name] if weight_name else []):
        _check_numeric(table, name, path, offset)
    used = names + [n for n in (target_name, weight_name) if n is not None]
    _check_complete(table, used, path, offset)
    X = np.empty((table.n_rows, len(names)), np.float64, order="F")
    for j, name in enumerate(names):
        X[:, j] = table.columns[name]
    y = None if target_name is None else table.columns[target_name]
    w = None if weight_name is None else np.asarray(table.columns[weight_name], np.float64)
    return Data(X, y, w, tuple(names), target_name, fmt, path)


def _check_numeric(table: _Table, name: str, path: str, offset: Optional[int]) -> None:
    if table.numeric[name]:
        return
    column = table.columns[name]
    for row, value in enumerate(column):  # the error path only: finds the first cell that is not a number
        if not _is_cell_number(value):
            raise DataError(f"{path}: column {name!r} is not numeric ({_row_place(row, offset)} holds {value!r})")
    raise DataError(f"{path}: column {name!r} is not numeric")


def _is_cell_number(value: Any) -> bool:
    if value is None:
        return True  # a missing cell: reported as such
    if isinstance(value, (int, float, np.number, bool, np.bool_)):
        return True
    text = str(value).strip()
    return text == "" or _is_number(text)


def _missing(column: np.ndarray) -> np.ndarray:
    """Cells that are empty, NaN or infinite (text cells: empty or None)."""
    if column.dtype.kind in "biu":
        return np.zeros(len(column), bool)
    if column.dtype.kind == "f":
        return ~np.isfinite(column)
    text = column.astype(str)
    return (np.char.strip(text) == "") | (text == "None") | (text == "nan")


def _check_complete(table: _Table, names: List[str], path: str, offset: Optional[int]) -> None:
    masks = {name: _missing(np.asarray(table.columns[name])) for name in names}
    count = int(sum(int(m.sum()) for m in masks.values()))
    if count == 0:
        return
    first = min(int(np.argmax(m)) for m in masks.values() if m.any())
    column = next(name for name in names if masks[name][first])
    raise DataError(f"{path}: {count} empty, NaN or infinite cell{'s' if count > 1 else ''} in the columns used; "
                    f"the first in {_row_place(first, offset)}, column {column!r}")


# ----------------------------------------------------------------- LIBSVM


def libsvm_arrays(path: str) -> Dict[str, Any]:
    """The core's parse of a LIBSVM file, its errors as DataErrors."""
    from . import _core

    try:
        return _core.read_libsvm(path)
    except ValueError as e:
        raise DataError(f"{path}: {e}") from None
    except RuntimeError as e:
        raise DataError(f"{path}: {e}") from None


def _libsvm_data(path: str, base: Optional[int], max_features: int, need_features: bool) -> Data:
    arrays = libsvm_arrays(path)
    labels, indptr, indices, values = arrays["labels"], arrays["indptr"], arrays["indices"], arrays["values"]
    if len(labels) == 0:
        raise DataError(f"{path} has no data rows")
    bad = ~np.isfinite(values)
    if bad.any() or not np.isfinite(labels).all():
        rows = np.searchsorted(indptr, np.flatnonzero(bad), side="right") - 1
        rows = np.concatenate([rows, np.flatnonzero(~np.isfinite(labels))])
        raise DataError(f"{path}: {len(rows)} NaN or infinite value{'s' if len(rows) > 1 else ''}; "
                        f"the first in row {int(rows.min()) + 1}")
    if base is None:
        base = 0 if arrays["min_index"] == 0 else 1  # LIBSVM's own files count from 1
    elif arrays["min_index"] < base:
        raise DataError(f"{path}: feature index {arrays['min_index']} is below the first index, {base}")
    width = max(int(arrays["max_index"]) + 1 - base, 0) if len(values) else 0
    if width > max_features:
        # Checked before one name per feature is made: index 99,999,999,999 would
        # otherwise take minutes and end in a MemoryError.
        raise DataError(f"{path}: feature index {int(arrays['max_index'])} makes {width:,} features, more than the "
                        f"limit of {max_features:,} (--max-features raises it)")
    if width == 0 and need_features:
        raise DataError(f"{path}: no line has a feature (index:value); X needs at least one feature column")
    names = tuple(str(i + base) for i in range(width))
    X = csr_from_arrays(values, indices - base if base else indices, indptr, (len(labels), width))
    return Data(X, labels, None, names, None, "libsvm", path)


def csr_from_arrays(values: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: Tuple[int, int]) -> Any:
    """A scipy.sparse CSR matrix of the arrays (no copy), or the dense
    matrix when SciPy is not installed."""
    try:
        import scipy.sparse as sp
    except ImportError:
        dense = np.zeros(shape, np.float64)
        rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
        dense[rows, indices] = values
        return dense
    return sp.csr_matrix((values, indices, indptr), shape=shape)
