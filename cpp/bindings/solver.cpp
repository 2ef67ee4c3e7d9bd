// descend._core.fit: converts arguments, releases the GIL for the whole
// run and re-acquires it only inside the observer.
#include <pybind11/stl.h>

#include <optional>

#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

struct PyFitArgs {
  std::string loss, method, optimizer;
  double learning_rate;
  index_t batch_size, max_iter, n_iter_no_change;
  std::optional<double> tol, gtol;
  double l2, l1;
  bool fit_intercept, shuffle, check_finite;
  std::uint64_t seed;
  int n_threads;
};

FitOptions to_options(const PyFitArgs& a) {
  FitOptions o;
  o.loss.kind = loss_from_name(a.loss);
  o.method = method_from_name(a.method);
  o.optimizer = optimizer_from_name(a.optimizer);
  o.learning_rate.eta0 = a.learning_rate;
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
      py::array_t<T> coef(p.features);
      std::copy(p.coef, p.coef + p.features, coef.mutable_data());
      const py::object stop =
          callback(p.iteration, p.objective, p.grad_norm, coef, double(p.intercept));
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      return stop.cast<bool>();
    };
  }
  return obs;
}

py::dict fit(const py::array& X, const py::object& y, const py::object& sample_weight,
             const py::array& coef, double intercept, const PyFitArgs& args,
             const py::object& callback) {
  return dispatch_dtype(X, [&](auto zero) {
    using T = decltype(zero);
    const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
    const MutableVectorView<T> c = mutable_view<T>(coef, "coef");
    if (c.size != data.features()) throw py::value_error("coef must have X.shape[1] entries");
    const FitOptions options = to_options(args);
    const Observer<T> observer = make_observer<T>(callback);
    T b = static_cast<T>(intercept);
    FitReport report;
    {
      // The whole run is C++ over buffers the caller keeps alive.
      py::gil_scoped_release release;
      report = descend::fit(data, c.data, b, options, &observer);
    }
    py::dict out;
    out["intercept"] = double(b);
    out["n_iter"] = report.n_iter;
    out["status"] = status_name(report.status);
    out["converged"] = report.converged;
    out["message"] = report.message;
    out["loss_history"] = py::array_t<double>(static_cast<py::ssize_t>(report.loss_history.size()),
                                              report.loss_history.data());
    out["grad_norm"] = report.grad_norm;
    return out;
  });
}

}  // namespace

void register_solver(py::module_& m) {
  py::register_exception<descend::DivergenceError>(m, "DivergenceError", PyExc_RuntimeError);
  m.def(
      "fit",
      [](const py::array& X, const py::object& y, const py::object& sample_weight,
         const py::array& coef, double intercept, const std::string& loss,
         const std::string& method, const std::string& optimizer, double learning_rate,
         index_t batch_size, index_t max_iter, std::optional<double> tol,
         index_t n_iter_no_change, std::optional<double> gtol, double l2, double l1,
         bool fit_intercept, bool shuffle, std::uint64_t seed, int n_threads, bool check_finite,
         const py::object& callback) {
        const PyFitArgs args{loss,  method, optimizer, learning_rate, batch_size,
                             max_iter, n_iter_no_change, tol, gtol, l2, l1,
                             fit_intercept, shuffle, check_finite, seed, n_threads};
        return fit(X, y, sample_weight, coef, intercept, args, callback);
      },
      py::kw_only(), py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("coef"),
      py::arg("intercept"), py::arg("loss"), py::arg("method"), py::arg("optimizer"),
      py::arg("learning_rate"), py::arg("batch_size"), py::arg("max_iter"), py::arg("tol"),
      py::arg("n_iter_no_change"), py::arg("gtol"), py::arg("l2"), py::arg("l1"),
      py::arg("fit_intercept"), py::arg("shuffle"), py::arg("seed"), py::arg("n_threads"),
      py::arg("check_finite"), py::arg("callback"),
      "Runs descend::fit; coef is updated in place. Returns the run's report as a dict.");
}

}  // namespace descend::bindings
