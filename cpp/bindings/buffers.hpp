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

/// A schedule as the Python layer passes one: a number (a constant rate)
/// or a (descend.schedules class name, {parameter: value}) pair.
inline Schedule schedule_from_py(const py::handle& lr) {
  if (py::isinstance<py::tuple>(lr)) {
    const auto spec = lr.cast<py::tuple>();
    return schedule_from_name(spec[0].cast<std::string>(), named_params(spec[1].cast<py::dict>()));
  }
  return Schedule::constant(lr.cast<double>());
}

/// Calls f(T{}) for X's dtype, float32 or float64.
template <class F>
decltype(auto) dispatch_dtype(const py::array& X, F&& f) {
  if (has_dtype<float>(X)) return f(float{});
  if (has_dtype<double>(X)) return f(double{});
  throw py::type_error("X must have dtype float32 or float64, got " + std::string(py::str(X.dtype())));
}

/// The dataset over X, y and sample_weight, all of X's dtype.
template <class T>
Dataset<T> dataset_view(const py::array& X, const py::object& y, const py::object& sample_weight) {
  return {matrix_view<T>(X), vector_view<T>(y, "y"), vector_view<T>(sample_weight, "sample_weight")};
}

}  // namespace descend::bindings
