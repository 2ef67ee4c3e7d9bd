// descend._core.fit: converts arguments, releases the GIL for the whole
// run and re-acquires it only inside the observer.
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <variant>

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

// The run's report as descend.fit's Python layer reads it.
py::dict report_dict(const FitReport& report) {
  py::dict out;
  out["n_iter"] = report.n_iter;
  out["status"] = status_name(report.status);
  out["converged"] = report.converged;
  out["message"] = report.message;
  out["loss_history"] = copy_array(report.loss_history.data(), index_t(report.loss_history.size()));
  out["learning_rate_history"] =
      copy_array(report.learning_rate_history.data(), index_t(report.learning_rate_history.size()));
  out["grad_norm"] = report.grad_norm;
  out["learning_rate"] = report.learning_rate;
  out["n_evals"] = report.n_evals;
  return out;
}

// A descend.FitState (Python: started, steps, random, schedule, state0,
// state1, average, iterate) to the core's and back: copies of a few O(d) buffers per call.
FitState state_from(const py::object& s) {
  FitState out;
  out.started = s.attr("started").cast<bool>();
  out.steps = s.attr("steps").cast<long long>();
  out.random = s.attr("random").cast<std::uint64_t>();
  const auto plateau = s.attr("schedule").cast<py::tuple>();
  out.schedule = {plateau[0].cast<bool>(), plateau[1].cast<double>(), plateau[2].cast<double>(),
                  plateau[3].cast<long long>(), plateau[4].cast<bool>()};
  out.state0 = s.attr("state0").cast<std::vector<double>>();
  out.state1 = s.attr("state1").cast<std::vector<double>>();
  out.average = s.attr("average").cast<std::vector<double>>();
  out.iterate = s.attr("iterate").cast<std::vector<double>>();
  return out;
}

void state_to(const FitState& in, const py::object& s) {
  s.attr("started") = in.started;
  s.attr("steps") = in.steps;
  s.attr("random") = in.random;
  s.attr("schedule") =
      py::make_tuple(in.schedule.set, in.schedule.eta, in.schedule.best, in.schedule.bad, in.schedule.first);
  s.attr("state0") = copy_array(in.state0.data(), index_t(in.state0.size()));
  s.attr("state1") = copy_array(in.state1.data(), index_t(in.state1.size()));
  s.attr("average") = copy_array(in.average.data(), index_t(in.average.size()));
  s.attr("iterate") = copy_array(in.iterate.data(), index_t(in.iterate.size()));
}

py::dict fit(const py::object& X, const py::object& y, const py::array& coef, const py::array& intercept,
             const py::object& sample_weight, const py::object& callback, const py::object& state,
             const py::kwargs& kwargs) {
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
    std::optional<FitState> carried;
    if (!state.is_none()) carried = state_from(state);
    FitReport report;
    {
      // The whole run is C++ over buffers the caller keeps alive.
      py::gil_scoped_release release;
      report = descend::fit(data, c.data, b.data, options, &observer, carried ? &*carried : nullptr);
    }
    if (carried) state_to(*carried, state);
    return report_dict(report);
  });
}

// descend::fit over RemoteSums whose sums come from Python functions (the
// blocks of a Dask array): loss_grad(theta) -> (sum, grad_sums) and
// curvature(v) -> sums, float64 arrays; called with the GIL re-acquired,
// once per iteration (or Lanczos step), like the observer.
py::dict fit_remote(index_t rows, index_t features, const py::array& coef, const py::array& intercept,
                    const py::object& loss_grad, const py::object& curvature, const py::object& column_sums,
                    const py::object& callback, const py::kwargs& kwargs) {
  return dispatch_dtype(coef, [&](auto zero) {
    using T = decltype(zero);
    const FitOptions options = fit_options_from(kwargs);
    const Span<T> c = mutable_view<T>(coef, "coef");
    const Span<T> b = mutable_view<T>(intercept, "intercept");
    const index_t k = options.loss.outputs();
    if (c.size != features * k || b.size != k)
      throw py::value_error("coef must have features * k entries and intercept k");
    const index_t n_theta = (features + 1) * k;
    // Copies the Python function's float64 sums into the core's buffer.
    auto take = [](const py::handle& result, double* out, index_t n) {
      const auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(result);
      if (!a || a.size() != n) throw py::value_error("remote sums must be " + std::to_string(n) + " float64 values");
      std::copy(a.data(), a.data() + n, out);
    };
    RemoteSums<T> remote;
    remote.rows = rows;
    remote.features = features;
    remote.loss_grad = [&](const T* theta, double* grad) {
      py::gil_scoped_acquire gil;
      const py::tuple r = loss_grad(copy_array(theta, n_theta)).template cast<py::tuple>();
      take(r[1], grad, n_theta);
      return r[0].template cast<double>();
    };
    if (!curvature.is_none()) {
      remote.curvature = [&](const T* v, double* sums) {
        py::gil_scoped_acquire gil;
        take(curvature(copy_array(v, features + 1)), sums, features + 1);
      };
    }
    if (!column_sums.is_none()) {
      remote.column_sums = [&](double* sums, double* squares) {
        py::gil_scoped_acquire gil;
        const py::tuple r = column_sums().template cast<py::tuple>();
        take(r[0], sums, features + 1);
        take(r[1], squares, features + 1);
      };
    }
    const Observer<T> observer = make_observer<T>(callback);
    FitReport report;
    {
      // The loop runs in C++; the sums re-acquire the GIL to ask Python.
      py::gil_scoped_release release;
      report = descend::fit(remote, c.data, b.data, options, &observer);
    }
    return report_dict(report);
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

// descend::EpochRunner over one block of rows (a Dask block, on its
// worker), keeping the arrays it reads alive.
class PyEpochRunner {
 public:
  PyEpochRunner(const py::object& X, const py::object& y, const py::object& sample_weight, const py::kwargs& kwargs)
      : keep_(py::make_tuple(X, y, sample_weight)),
        runner_(dispatch_dtype(X, [&](auto zero) -> Any {
          using T = decltype(zero);
          const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
          const FitOptions options = fit_options_from(kwargs);
          py::gil_scoped_release release;  // validation passes over the block: pure C++
          return std::make_unique<EpochRunner<T>>(data, options);
        })) {}

  // One epoch from coef (flat, d k) and intercept (k), in place; returns
  // (objective, grad_norm).
  py::tuple epoch(const py::array& coef, const py::array& intercept) {
    return std::visit(
        [&](auto& runner) {
          using T = typename std::decay_t<decltype(runner)>::value_type;
          const Span<T> c = mutable_view<T>(coef, "coef");
          const Span<T> b = mutable_view<T>(intercept, "intercept");
          check_sizes(*runner, c.size, b.size);
          double objective, grad_norm;
          {
            // The epoch is C++ over buffers this object and the caller keep alive.
            py::gil_scoped_release release;
            objective = runner->epoch(c.data, b.data, &grad_norm);
          }
          return py::make_tuple(objective, grad_norm);
        },
        runner_);
  }

  // The objective over the block at coef and intercept.
  double objective(const py::array& coef, const py::array& intercept) {
    return std::visit(
        [&](auto& runner) {
          using T = typename std::decay_t<decltype(runner)>::value_type;
          const Span<const T> c = vector_view<T>(coef, "coef");
          const Span<const T> b = vector_view<T>(intercept, "intercept");
          check_sizes(*runner, c.size, b.size);
          py::gil_scoped_release release;  // a pass over the block: pure C++
          return runner->objective(c.data, b.data);
        },
        runner_);
  }

  double learning_rate() const {
    return std::visit([](const auto& r) { return r->options().learning_rate.eta0; }, runner_);
  }

  template <class Runner>
  static void check_sizes(const Runner& runner, index_t coef_size, index_t intercept_size) {
    if (coef_size != runner.coef_size() || intercept_size != runner.options().loss.outputs())
      throw py::value_error("coef and intercept must have d k and k entries");
  }

  double learning_rate_now() const {
    return std::visit([](const auto& r) { return r->learning_rate_now(); }, runner_);
  }

 private:
  template <class T>
  struct Typed : std::unique_ptr<EpochRunner<T>> {
    using value_type = T;
    using std::unique_ptr<EpochRunner<T>>::unique_ptr;
    Typed(std::unique_ptr<EpochRunner<T>> p) : std::unique_ptr<EpochRunner<T>>(std::move(p)) {}
  };
  using Any = std::variant<Typed<float>, Typed<double>>;
  py::tuple keep_;
  Any runner_;
};

}  // namespace

void register_solver(py::module_& m) {
  // Local: each instruction-set build of the module has its own, and
  // descend/_core.py re-exports the one it loads.
  py::register_local_exception<descend::DivergenceError>(m, "DivergenceError", PyExc_RuntimeError);
  m.def("fit", &fit, py::arg("X"), py::arg("y"), py::arg("coef"), py::arg("intercept"), py::kw_only(),
        py::arg("sample_weight") = py::none(), py::arg("callback") = py::none(), py::arg("state") = py::none(),
        "Runs descend::fit with the FitOptions named by the keyword arguments (fit_defaults() lists "
        "them); coef (flat, d*k) and intercept (k) are updated in place; a descend.FitState `state` is "
        "continued from and updated. Returns the report as a dict.");
  m.def("fit_remote", &fit_remote, py::arg("rows"), py::arg("features"), py::arg("coef"), py::arg("intercept"),
        py::kw_only(), py::arg("loss_grad"), py::arg("curvature") = py::none(), py::arg("column_sums") = py::none(),
        py::arg("callback") = py::none(),
        "descend::fit over remote sums (method='batch'): loss_grad(theta) -> (sum, grad_sums), "
        "curvature(v) -> sums; options as fit's. Returns the report as a dict.");
  py::class_<PyEpochRunner>(m, "EpochRunner", py::module_local())
      .def(py::init<const py::object&, const py::object&, const py::object&, const py::kwargs&>(), py::arg("X"),
           py::arg("y"), py::arg("sample_weight"),
           "descend::EpochRunner over (X, y, sample_weight) with fit's options (method sgd or minibatch).")
      .def("objective", &PyEpochRunner::objective, py::arg("coef"), py::arg("intercept"),
           "The objective over the block at (coef, intercept): one pass.")
      .def("epoch", &PyEpochRunner::epoch, py::arg("coef"), py::arg("intercept"),
           "One epoch from coef (flat) and intercept, in place; returns (objective, grad_norm).")
      .def_property_readonly("learning_rate", &PyEpochRunner::learning_rate)
      .def_property_readonly("learning_rate_now", &PyEpochRunner::learning_rate_now,
                             "The step size of the next epoch's first update.");
  m.def(
      "validate_options", [](const py::kwargs& kwargs) { validate_options(fit_options_from(kwargs)); },
      "ValueError/TypeError unless fit's options are valid: every check fit makes on them, before any work.");
  m.def(
      "validate_epoch_runner", [](const py::kwargs& kwargs) { validate_epoch_runner(fit_options_from(kwargs)); },
      "ValueError unless EpochRunner runs fit's options (checked before any work on a cluster).");
  m.def(
      "lipschitz_bound",
      [](const py::object& X, const py::object& y, const py::object& sample_weight, const py::kwargs& kwargs) {
        return dispatch_dtype(X, [&](auto zero) {
          using T = decltype(zero);
          const Dataset<T> data = dataset_view<T>(X, y, sample_weight);
          const FitOptions o = fit_options_from(kwargs);
          py::gil_scoped_release release;  // passes over X: pure C++
          return detail::lipschitz_bound(data, o.loss, o.method == Method::Batch, o.fit_intercept, o.l2,
                                         o.n_threads);
        });
      },
      py::arg("X"), py::arg("y"), py::arg("sample_weight"),
      "L, the 'auto' learning rate's Lipschitz bound (1/L), of this data under fit's options.");
  m.def(
      "inverse_lipschitz", [](double L, const std::string& learning_rate) {
        return detail::inverse_lipschitz(L, learning_rate.c_str());
      },
      py::arg("L"), py::arg("learning_rate") = "auto",
      "The step 1/L of learning_rate='auto' (1 where L = 0); ValueError where L overflows.");
  m.def("fit_defaults", &fit_defaults, "{option: default} of descend::FitOptions, by descend.fit's names.");
  m.def("gradient_descent", &gradient_descent, py::arg("X"), py::arg("y"), py::arg("theta"),
        py::arg("learning_rate"), py::arg("num_iterations"),
        "Runs descend::gradient_descent; theta (d) is updated in place.");
}

}  // namespace descend::bindings
