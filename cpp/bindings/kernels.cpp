// Single-call kernels: descend.loss_grad and the finiteness check.
#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

py::tuple loss_grad(const py::array& X, const py::object& y, const py::array& coef,
                    double intercept, const std::string& loss, const py::object& sample_weight,
                    double l2, const py::array& out, bool check_finite) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
    const VectorView<T> c = vector_view<T>(coef, "coef");
    const MutableVectorView<T> g = mutable_view<T>(out, "out");
    if (c.size != data.features() || g.size != data.features())
      throw py::value_error("coef and out must have X.shape[1] entries");
    const LossSpec spec{loss_from_name(loss)};
    LossGradValue v;
    {
      // Pure C++ over buffers the caller keeps alive: let other threads run.
      py::gil_scoped_release release;
      v = descend::loss_grad(data, c.data, intercept, spec, l2, g.data, 0, check_finite);
    }
    return py::make_tuple(v.loss, v.grad_intercept);
  });
}

bool all_finite(const py::array& a) {
  const auto ac = py::reinterpret_borrow<py::array>(a);
  if (!(ac.flags() & (py::array::c_style | py::array::f_style)))
    throw py::value_error("all_finite needs a contiguous array");
  return dispatch_dtype(ac, [&](auto zero) {
    using T = decltype(zero);
    const T* data = static_cast<const T*>(ac.data());
    const index_t n = static_cast<index_t>(ac.size());
    // A pure read pass: no reason to hold the GIL.
    py::gil_scoped_release release;
    return descend::all_finite(data, n);
  });
}

}  // namespace

void register_kernels(py::module_& m) {
  m.def("loss_grad", &loss_grad, py::arg("X"), py::arg("y"), py::arg("coef"),
        py::arg("intercept"), py::arg("loss"), py::arg("sample_weight"), py::arg("l2"),
        py::arg("out"), py::arg("check_finite"),
        "Writes dJ/dcoef to out; returns (J, dJ/dintercept).");
  m.def("all_finite", &all_finite, py::arg("a"), "True when no entry is NaN or infinite.");
}

}  // namespace descend::bindings
