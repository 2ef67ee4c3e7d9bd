// Data files read by the core: LIBSVM text into CSR arrays. The arrays the
// parser filled are handed to NumPy as they are (each vector is moved into
// a capsule that owns it), not copied.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>
#include <vector>

#include <descend/libsvm.hpp>

#include "register.hpp"

namespace descend::bindings {

namespace py = pybind11;

namespace {

/// A 1-D NumPy array owning `values` (moved, not copied).
template <class T>
py::array_t<T> owned_array(std::vector<T>&& values) {
  auto* owner = new std::vector<T>(std::move(values));
  py::capsule free_owner(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(owner->size()), owner->data(), free_owner);
}

py::dict read_libsvm(const std::string& path) {
  LibsvmData data;
  {
    py::gil_scoped_release released;
    data = descend::read_libsvm(path);
  }
  py::dict out;
  out["labels"] = owned_array(std::move(data.labels));
  out["indptr"] = owned_array(std::move(data.indptr));
  out["indices"] = owned_array(std::move(data.indices));
  out["values"] = owned_array(std::move(data.values));
  out["min_index"] = data.min_index;
  out["max_index"] = data.max_index;
  return out;
}

}  // namespace

void register_files(py::module_& m) {
  m.def("read_libsvm", &read_libsvm, py::arg("path"),
        "The LIBSVM file at path as {labels, indptr, indices, values, min_index, max_index} "
        "(indices as written; ValueError naming the line for malformed text).");
}

}  // namespace descend::bindings
