// descend._core.fit: converts arguments, releases the GIL for the whole
// run and re-acquires it only inside the observer.
#include <pybind11/stl.h>

#include <optional>

#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

struct PyFitArgs {
  std::string loss;
  double delta;
  index_t n_classes;
  std::string method, optimizer;
  py::dict optimizer_params;
  py::object learning_rate;
  index_t batch_size, max_iter, n_iter_no_change;
  std::optional<double> tol, gtol;
  double l2, l1;
  bool fit_intercept, shuffle, check_finite;
  std::uint64_t seed;
  int n_threads;
};

FitOptions to_options(const PyFitArgs& a) {
  FitOptions o;
  o.loss = {loss_from_name(a.loss), a.delta, a.n_classes};
  o.method = method_from_name(a.method);
  o.optimizer = optimizer_from_name(a.optimizer, named_params(a.optimizer_params));
  set_learning_rate(o, a.learning_rate);
  o.batch_size = a.batch_size;
  o.stopping.max_iter = a.max_iter;
  o.stopping.tol = a.tol;
  o.stopping.n_iter_no_change = a.n_iter_no_change;
  o.stopping.gtol = a.gtol;
  o.l2 = a.l2;
  o.l1 = a.l1;
  o.fit_intercept = a.fit_intercept;
  o.shuffle = a.shuffle;
  o.seed = a.seed;
  o.n_threads = a.n_threads;
  o.check_finite = a.check_finite;
  return o;
}

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

py::dict fit(const py::array& X, const py::object& y, const py::object& sample_weight,
             const py::array& coef, const py::array& intercept, const PyFitArgs& args,
             const py::object& callback) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
    const FitOptions options = to_options(args);
    const MutableVectorView<T> c = mutable_view<T>(coef, "coef");
    const MutableVectorView<T> b = mutable_view<T>(intercept, "intercept");
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
// call costs little next to a tiny problem's run (W0).
void gradient_descent(const py::array& X, const py::object& y, const py::array& theta, double learning_rate,
                      index_t num_iterations) {
  dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, py::none());
    const MutableVectorView<T> t = mutable_view<T>(theta, "theta");
    if (t.size != data.features()) throw py::value_error("theta must have X.shape[1] entries");
    const Observer<T> observer = make_observer<T>(py::none());
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
  m.def(
      "fit",
      [](const py::array& X, const py::object& y, const py::object& sample_weight,
         const py::array& coef, const py::array& intercept, const std::string& loss, double delta,
         index_t n_classes, const std::string& method, const std::string& optimizer,
         const py::dict& optimizer_params, const py::object& learning_rate, index_t batch_size,
         index_t max_iter, std::optional<double> tol, index_t n_iter_no_change,
         std::optional<double> gtol, double l2, double l1, bool fit_intercept, bool shuffle,
         std::uint64_t seed, int n_threads, bool check_finite, const py::object& callback) {
        const PyFitArgs args{loss,      delta,    n_classes, method, optimizer, optimizer_params,
                             learning_rate, batch_size, max_iter, n_iter_no_change, tol, gtol,
                             l2,        l1,       fit_intercept, shuffle, check_finite, seed,
                             n_threads};
        return fit(X, y, sample_weight, coef, intercept, args, callback);
      },
      py::kw_only(), py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("coef"),
      py::arg("intercept"), py::arg("loss"), py::arg("delta"), py::arg("n_classes"),
      py::arg("method"), py::arg("optimizer"), py::arg("optimizer_params"),
      py::arg("learning_rate"), py::arg("batch_size"), py::arg("max_iter"), py::arg("tol"),
      py::arg("n_iter_no_change"), py::arg("gtol"), py::arg("l2"), py::arg("l1"),
      py::arg("fit_intercept"), py::arg("shuffle"), py::arg("seed"), py::arg("n_threads"),
      py::arg("check_finite"), py::arg("callback"),
      "Runs descend::fit; coef (flat, d*k) and intercept (k) are updated in place. "
      "Returns the run's report as a dict.");
  m.def("gradient_descent", &gradient_descent, py::arg("X"), py::arg("y"), py::arg("theta"),
        py::arg("learning_rate"), py::arg("num_iterations"),
        "Runs descend::gradient_descent; theta (d) is updated in place.");
}

}  // namespace descend::bindings
