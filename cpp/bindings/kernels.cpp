// Single-call kernels: descend.loss_grad and the finiteness check.
#include <descend/probe.hpp>

#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

double loss_grad(const py::object& X, const py::object& y, const py::array& coef,
                 const py::array& intercept, const std::string& loss, double delta,
                 index_t n_classes, const py::object& sample_weight, double l2,
                 const py::array& out, const py::array& out_intercept, bool check_finite) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
    const LossSpec spec{loss_from_name(loss), delta, n_classes};
    const index_t k = spec.outputs();
    const Span<const T> c = vector_view<T>(coef, "coef");
    const Span<const T> b = vector_view<T>(intercept, "intercept");
    const Span<T> g = mutable_view<T>(out, "out");
    const Span<double> gb = mutable_view<double>(out_intercept, "out_intercept");
    const index_t n_coef = data.features() * k;
    if (c.size != n_coef || g.size != n_coef || b.size != k || gb.size != k)
      throw py::value_error("coef and out must have X.shape[1] * k entries, intercept k");
    // Pure C++ over buffers the caller keeps alive: let other threads run.
    py::gil_scoped_release release;
    return descend::loss_grad(data, c.data, b.data, spec, l2, g.data, gb.data, 0, check_finite);
  });
}

// The unnormalised sums of one block of rows (a Dask block, on its
// worker): sum_i w_i loss_i and the gradient's sums at theta, or with
// `curvature` sum_i w_i (z_i . theta) z_i. The block was checked once
// (descend.loss_grad) when its worker took it; this runs every iteration.
py::tuple block_sums(const py::object& X, const py::object& y, const py::object& sample_weight,
                     const py::array& theta, const std::string& loss, double delta, index_t n_classes,
                     bool curvature) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
    const LossSpec spec{loss_from_name(loss), delta, n_classes};
    const index_t k = curvature ? 1 : spec.outputs();
    const Span<const T> t = vector_view<T>(theta, "theta");
    const index_t n_theta = (data.features() + 1) * k;
    if (t.size != n_theta) throw py::value_error("theta must have (X.shape[1] + 1) * k entries");
    py::array_t<double> grad(static_cast<py::ssize_t>(n_theta));
    double* g = grad.mutable_data();
    double value;
    {
      // Pure C++ over the block's buffers, which the caller keeps alive.
      py::gil_scoped_release release;
      detail::GradientWorkspace ws;
      const detail::RowRange all{0, data.rows()};
      value = curvature ? detail::sum_loss_grad(data, all, t.data, detail::CurvatureLoss{}, g, 0, ws)
                        : visit_loss(spec, [&](const auto& l) {
                            return detail::sum_loss_grad(data, all, t.data, l, g, 0, ws);
                          });
    }
    return py::make_tuple(value, grad);
  });
}

// One block's column sums of Z = [X, 1] (precondition.hpp's ColumnSums):
// (sum_i w_i z_ij, sum_i w_i z_ij^2), d + 1 float64 each.
py::tuple block_column_sums(const py::object& X, const py::object& sample_weight) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, py::none(), sample_weight);
    detail::ColumnSums c;
    {
      py::gil_scoped_release release;
      c = detail::column_sums(data);
    }
    return py::make_tuple(py::array_t<double>(py::ssize_t(c.sums.size()), c.sums.data()),
                          py::array_t<double>(py::ssize_t(c.squares.size()), c.squares.data()));
  });
}

bool all_finite(const py::array& a) {
  if (!(a.flags() & (py::array::c_style | py::array::f_style)))
    throw py::value_error("all_finite needs a contiguous array");
  return dispatch_dtype(a, [&](auto zero) {
    using T = decltype(zero);
    const T* data = static_cast<const T*>(a.data());
    const index_t n = static_cast<index_t>(a.size());
    // A pure read pass: no reason to hold the GIL.
    py::gil_scoped_release release;
    return descend::all_finite(data, n);
  });
}

double probe_read(const py::array& X, int n_threads) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const MatrixView<T> view = matrix_view<T>(X);
    // A timed read of X: other Python threads may run meanwhile.
    py::gil_scoped_release release;
    return detail::probe_read(view, n_threads);
  });
}

void probe_update(const py::array& param, const py::array& grad, const py::array& m,
                  const py::array& v, int n_threads) {
  dispatch_dtype(param, [&](auto zero) {
    using T = decltype(zero);
    const Span<T> p = flat_buffer<T>(param, "param"), a = flat_buffer<T>(m, "m"), b = flat_buffer<T>(v, "v");
    require_dtype<T>(grad, "grad");
    if (grad.size() != p.size || a.size != p.size || b.size != p.size)
      throw py::value_error("probe_update needs four buffers of one size");
    // Pure C++ over buffers the caller keeps alive, as the kernels it times.
    py::gil_scoped_release release;
    detail::probe_update(p.data, static_cast<const T*>(grad.data()), a.data, b.data, p.size, n_threads);
  });
}

}  // namespace

void register_kernels(py::module_& m) {
  m.def("loss_grad", &loss_grad, py::kw_only(), py::arg("X"), py::arg("y"), py::arg("coef"),
        py::arg("intercept"), py::arg("loss"), py::arg("delta"), py::arg("n_classes"),
        py::arg("sample_weight"), py::arg("l2"), py::arg("out"), py::arg("out_intercept"),
        py::arg("check_finite"),
        "Writes dJ/dcoef to out (flat, d*k) and dJ/dintercept to out_intercept (k); returns J.");
  m.def("probe_read", &probe_read, py::arg("X"), py::arg("n_threads"),
        "Memory floor probe: reads X once (the batch gradient's pattern); returns its sum.");
  m.def("probe_update", &probe_update, py::arg("param"), py::arg("grad"), py::arg("m"), py::arg("v"),
        py::arg("n_threads"), "Memory floor probe: Adam's read-4/write-3 pass.");
  m.def("block_sums", &block_sums, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("theta"),
        py::kw_only(), py::arg("loss"), py::arg("delta"), py::arg("n_classes"), py::arg("curvature"),
        "(sum of w_i loss_i, gradient sums) of one block at theta (with curvature: H theta's sums).");
  m.def("block_column_sums", &block_column_sums, py::arg("X"), py::arg("sample_weight"),
        "(sum_i w_i z_ij, sum_i w_i z_ij^2) over the columns of [X, 1] of one block.");
  m.def("all_finite", &all_finite, py::arg("a"), "True when no entry is NaN or infinite.");
}

}  // namespace descend::bindings
