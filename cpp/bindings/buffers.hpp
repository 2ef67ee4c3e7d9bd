// Buffer policies of the bindings, named once:
//  - X: a plain py::array used in place when C- or F-contiguous, never
//    force-cast (that would silently copy F-order X);
//  - small read-only inputs (y, weights, coef): exact dtype, C-contiguous;
//  - in-place parameters and outputs: exact dtype, C-contiguous, writeable,
//    else a TypeError naming the argument, never a silent copy.
// The Python layer prepares arrays so these checks only catch misuse of
// the private module.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include <descend/descend.hpp>

namespace descend::bindings {

namespace py = pybind11;

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

/// Whether a's elements are native T (an equal dtype, not only the same
/// object: a memory-mapped or unpickled array carries its own descriptor).
template <class T>
bool has_dtype(const py::array& a) {
  return py::isinstance<py::array_t<T>>(a);
}

template <class T>
void require_dtype(const py::array& a, const char* name) {
  if (!has_dtype<T>(a))
    throw py::type_error(std::string(name) + " must have dtype " + dtype_name<T>() + ", got " +
                         std::string(py::str(a.dtype())));
}

/// X as a view: C- or F-contiguous, 2-D, dtype T.
template <class T>
MatrixView<T> matrix_view(const py::array& X) {
  require_dtype<T>(X, "X");
  if (X.ndim() != 2) throw py::value_error("X must be 2-D, got " + std::to_string(X.ndim()) + "-D");
  const bool c = X.flags() & py::array::c_style;
  const bool f = X.flags() & py::array::f_style;
  if (!c && !f) throw py::value_error("X must be C- or F-contiguous");
  return {static_cast<const T*>(X.data()), static_cast<index_t>(X.shape(0)),
          static_cast<index_t>(X.shape(1)), c ? Layout::RowMajor : Layout::ColMajor};
}

/// A read-only 1-D C-contiguous vector of dtype T; None gives a Span with
/// no data (the core's "absent", e.g. unit sample weights).
template <class T>
Span<const T> vector_view(const py::object& obj, const char* name) {
  if (obj.is_none()) return {};
  const auto a = py::reinterpret_borrow<py::array>(obj);
  require_dtype<T>(a, name);
  if (a.ndim() != 1 || !(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be a 1-D contiguous array");
  return {static_cast<const T*>(a.data()), static_cast<index_t>(a.shape(0))};
}

/// An in-place 1-D buffer of dtype T.
template <class T>
Span<T> mutable_view(const py::array& a, const char* name) {
  require_dtype<T>(a, name);
  if (a.ndim() != 1 || !(a.flags() & py::array::c_style))
    throw py::type_error(std::string(name) + " must be a 1-D C-contiguous array");
  if (!a.writeable()) throw py::type_error(std::string(name) + " must be writeable");
  return {static_cast<T*>(const_cast<void*>(a.data())), static_cast<index_t>(a.shape(0))};
}

/// A buffer of dtype T (any shape) updated in place, used flat: the
/// parameters handed to descend.optim. A TypeError names it unless it is
/// C- or F-contiguous and writeable: a copy would not update the caller's.
template <class T>
Span<T> flat_buffer(const py::array& a, const std::string& name) {
  require_dtype<T>(a, name.c_str());
  if (!(a.flags() & (py::array::c_style | py::array::f_style)))
    throw py::type_error(name + " must be C- or F-contiguous to be updated in place (a copy would not update yours)");
  if (!a.writeable()) throw py::type_error(name + " is read-only; it must be writeable to be updated in place");
  return {static_cast<T*>(const_cast<void*>(a.data())), static_cast<index_t>(a.size())};
}

/// Python's keyword arguments {name: number} as the core's NamedParams.
inline NamedParams named_params(const py::dict& d) {
  NamedParams out;
  for (const auto& [key, value] : d) out[py::str(key)] = value.cast<double>();
  return out;
}

/// The rule called `name` with hyper-parameters from a Python dict of
/// numbers, where momentum may be "auto" (with_auto_momentum).
inline UpdateRule rule_from_py(const std::string& name, const py::dict& params) {
  py::dict numbers;
  bool auto_momentum = false;
  for (const auto& [key, value] : params) {
    if (std::string(py::str(key)) == "momentum" && py::isinstance<py::str>(value)) {
      if (value.cast<std::string>() != "auto")
        throw py::value_error("momentum must be a number in [0, 1) or 'auto', got " + std::string(py::repr(value)));
      auto_momentum = true;
    } else {
      numbers[key] = value;
    }
  }
  const UpdateRule rule = optimizer_from_name(name, named_params(numbers));
  return auto_momentum ? with_auto_momentum(rule) : rule;
}

/// A schedule as the Python layer passes one: a number (a constant rate)
/// or a (descend.schedules class name, {parameter: value}) pair.
inline Schedule schedule_from_py(const py::handle& lr) {
  if (py::isinstance<py::tuple>(lr)) {
    const auto spec = lr.cast<py::tuple>();
    return schedule_from_name(spec[0].cast<std::string>(), named_params(spec[1].cast<py::dict>()));
  }
  return Schedule::constant(lr.cast<double>());
}

/// The array whose dtype is X's: X itself, or a sparse X's values.
inline py::array x_values(const py::object& X) {
  if (py::isinstance<py::tuple>(X)) return X.cast<py::tuple>()[1].cast<py::array>();
  return X.cast<py::array>();
}

/// Calls f(T{}) for X's dtype, float32 or float64 (a sparse X's values').
template <class F>
decltype(auto) dispatch_dtype(const py::object& X, F&& f) {
  const py::array values = x_values(X);
  if (has_dtype<float>(values)) return f(float{});
  if (has_dtype<double>(values)) return f(double{});
  throw py::type_error("X must have dtype float32 or float64, got " + std::string(py::str(values.dtype())));
}

/// A 1-D contiguous index array of X (int32 or int64), with its length.
template <class I>
const I* index_array(const py::array& a, const char* name) {
  if (a.ndim() != 1 || !(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be a 1-D contiguous array");
  return static_cast<const I*>(a.data());
}

/// A sparse X as the Python layer passes it, ("csr" | "csc", data,
/// indices, indptr, rows, cols): scipy's own arrays, used in place. The
/// arrays' lengths are checked here (the core sees pointers only); what
/// they hold (indptr's order, the indices' range) is the core's check.
template <class T>
SparseView<T> sparse_view(const py::tuple& spec) {
  const std::string format = spec[0].cast<std::string>();
  const py::array data = spec[1].cast<py::array>(), indices = spec[2].cast<py::array>(),
                  indptr = spec[3].cast<py::array>();
  const index_t rows = spec[4].cast<index_t>(), cols = spec[5].cast<index_t>();
  require_dtype<T>(data, "X.data");
  if (data.ndim() != 1 || !(data.flags() & py::array::c_style))
    throw py::value_error("X.data must be a 1-D contiguous array");
  const SparseFormat f = format == "csc" ? SparseFormat::CSC : SparseFormat::CSR;
  const index_t major = f == SparseFormat::CSR ? rows : cols;
  if (indptr.size() != major + 1)
    throw py::value_error("X.indptr has " + std::to_string(indptr.size()) + " entries; a " + format + " matrix of " +
                          std::to_string(major) + (f == SparseFormat::CSR ? " rows" : " columns") + " needs " +
                          std::to_string(major + 1));
  auto make = [&](auto zero) {
    using I = decltype(zero);
    if (!py::isinstance<py::array_t<I>>(indices) || !py::isinstance<py::array_t<I>>(indptr))
      throw py::type_error("X.indices and X.indptr must have one integer dtype, int32 or int64");
    const I* ptr = index_array<I>(indptr, "X.indptr");
    const I* idx = index_array<I>(indices, "X.indices");
    const index_t nnz = major >= 0 && ptr[major] > 0 ? index_t(ptr[major]) : 0;
    if (indices.size() < nnz || data.size() < nnz)
      throw py::value_error("X.indptr ends at " + std::to_string(nnz) + " but X.indices has " +
                            std::to_string(indices.size()) + " entries and X.data " + std::to_string(data.size()));
    return SparseView<T>::make(f, rows, cols, static_cast<const T*>(data.data()), idx, ptr);
  };
  if (py::isinstance<py::array_t<std::int64_t>>(indptr)) return make(std::int64_t{});
  if (py::isinstance<py::array_t<std::int32_t>>(indptr)) return make(std::int32_t{});
  throw py::type_error("X.indptr must have dtype int32 or int64, got " + std::string(py::str(indptr.dtype())));
}

/// The dataset over X (dense or sparse), y and sample_weight, all of X's dtype.
template <class T>
Dataset<T> dataset_view(const py::object& X, const py::object& y, const py::object& sample_weight) {
  Dataset<T> data{{}, vector_view<T>(y, "y"), vector_view<T>(sample_weight, "sample_weight"), {}};
  if (py::isinstance<py::tuple>(X)) {
    data.sparse = sparse_view<T>(X.cast<py::tuple>());
  } else {
    data.X = matrix_view<T>(X.cast<py::array>());
  }
  return data;
}

}  // namespace descend::bindings
