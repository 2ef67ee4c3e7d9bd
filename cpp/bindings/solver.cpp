// descend._core.fit: converts arguments, releases the GIL for the whole
// run and re-acquires it only inside the observer.
#include <pybind11/stl.h>

#include <optional>

#include "buffers.hpp"
#include "fit_options.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

template <class T>
py::array_t<T> copy_array(const T* data, index_t n) {
  return py::array_t<T>(static_cast<py::ssize_t>(n), data);
}

// The observer: a Python callback (if any) once per iteration/epoch, and a
// signal check every ~50 ms so Ctrl-C raises KeyboardInterrupt promptly.
// Both run with the GIL re-acquired; a Python exception is rethrown as
// error_already_set and unwinds the C++ run.
template <class T>
Observer<T> make_observer(const py::object& callback) {
  Observer<T> obs;
  obs.poll = [] {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };
  if (!callback.is_none()) {
    obs.on_iteration = [callback](const Progress<T>& p) {
      py::gil_scoped_acquire gil;
      const py::object stop =
          callback(p.iteration, p.objective, p.grad_norm, copy_array(p.coef, p.layout.coef_size()),
                   copy_array(p.intercept, p.layout.outputs));
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      return stop.cast<bool>();
    };
  }
  return obs;
}

py::dict fit(const py::object& X, const py::object& y, const py::array& coef, const py::array& intercept,
             const py::object& sample_weight, const py::object& callback, const py::kwargs& kwargs) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
    const FitOptions options = fit_options_from(kwargs);
    const Span<T> c = mutable_view<T>(coef, "coef");
    const Span<T> b = mutable_view<T>(intercept, "intercept");
    const index_t k = options.loss.outputs();
    if (c.size != data.features() * k || b.size != k)
      throw py::value_error("coef must have X.shape[1] * k entries and intercept k");
    const Observer<T> observer = make_observer<T>(callback);
    FitReport report;
    {
      // The whole run is C++ over buffers the caller keeps alive.
      py::gil_scoped_release release;
      report = descend::fit(data, c.data, b.data, options, &observer);
    }
    py::dict out;
    out["n_iter"] = report.n_iter;
    out["status"] = status_name(report.status);
    out["converged"] = report.converged;
    out["message"] = report.message;
    out["loss_history"] = copy_array(report.loss_history.data(), index_t(report.loss_history.size()));
    out["grad_norm"] = report.grad_norm;
    out["learning_rate"] = report.learning_rate;
    return out;
  });
}

// descend.gradient_descent: positional arguments and no report, so the
// call costs little next to a tiny problem's run.
void gradient_descent(const py::object& X, const py::object& y, const py::array& theta, double learning_rate,
                      index_t num_iterations) {
  dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, py::none());
    const Span<T> t = mutable_view<T>(theta, "theta");
    if (t.size != data.features()) throw py::value_error("theta must have X.shape[1] entries");
    const Observer<T> observer = make_observer<T>(py::none());
    // The whole run is C++ over buffers the caller keeps alive; the
    // observer re-acquires the GIL only to check for Ctrl-C.
    py::gil_scoped_release release;
    descend::gradient_descent(data, t.data, learning_rate, num_iterations, &observer);
    return 0;
  });
}

}  // namespace

void register_solver(py::module_& m) {
  // Local: each instruction-set build of the module has its own, and
  // descend/_core.py re-exports the one it loads.
  py::register_local_exception<descend::DivergenceError>(m, "DivergenceError", PyExc_RuntimeError);
  m.def("fit", &fit, py::arg("X"), py::arg("y"), py::arg("coef"), py::arg("intercept"), py::kw_only(),
        py::arg("sample_weight") = py::none(), py::arg("callback") = py::none(),
        "Runs descend::fit with the FitOptions named by the keyword arguments (fit_defaults() lists "
        "them); coef (flat, d*k) and intercept (k) are updated in place. Returns the report as a dict.");
  m.def("fit_defaults", &fit_defaults, "{option: default} of descend::FitOptions, by descend.fit's names.");
  m.def("gradient_descent", &gradient_descent, py::arg("X"), py::arg("y"), py::arg("theta"),
        py::arg("learning_rate"), py::arg("num_iterations"),
        "Runs descend::gradient_descent; theta (d) is updated in place.");
}

}  // namespace descend::bindings
