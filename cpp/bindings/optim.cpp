// descend.optim's kernels: one update-rule step over the user's own
// arrays, in place; schedules evaluated by the core; the stopping monitor
// that descend.minimize shares with fit.
#include <pybind11/stl.h>

#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

// The rule behind descend.optim's classes. A wrapper, because pybind11's
// std::variant caster would otherwise claim UpdateRule itself.
struct PyRule {
  UpdateRule rule;
};

// One step of `rule` on param (in place) with its state buffers; the
// Python layer has checked shapes, dtypes and contiguity already.
void rule_step(const PyRule& r, const py::array& param, const py::array& grad,
               const py::list& state, double lr, long long t, int n_threads) {
  const UpdateRule& rule = r.rule;
  // >= 0: a schedule may decay to exactly 0 (Cosine's default eta_min).
  if (!(lr >= 0) || !std::isfinite(lr)) throw py::value_error("lr must be a finite number >= 0, got " + std::to_string(lr));
  if (t < 1) throw py::value_error("the step count t must be >= 1");
  if (static_cast<int>(state.size()) != optimizer_slots(rule))
    throw py::value_error("wrong number of state buffers for this optimizer");
  dispatch_dtype(param, [&](auto zero) {
    using T = decltype(zero);
    const MutableVectorView<T> p = flat_buffer<T>(param, "param");
    require_dtype<T>(grad, "grad");
    if (!(grad.flags() & (py::array::c_style | py::array::f_style)) || grad.size() != p.size)
      throw py::value_error("grad must be contiguous with the parameter's size");
    T* slots[2] = {nullptr, nullptr};
    for (size_t i = 0; i < state.size(); ++i) {
      const MutableVectorView<T> s = flat_buffer<T>(state[i].cast<py::array>(), "state");
      if (s.size != p.size) throw py::value_error("a state buffer's size differs from the parameter's");
      slots[i] = s.data;
    }
    const StepBuffers<T, T> b{p.data, static_cast<const T*>(grad.data()), slots[0], slots[1], p.size};
    py::gil_scoped_release release;
    step(rule, b, lr, t, resolve_threads(n_threads));
  });
}

}  // namespace

void register_optim(py::module_& m) {
  py::class_<PyRule>(m, "UpdateRule", py::module_local())
      .def(py::init([](const std::string& name, const py::dict& params) {
             PyRule r{optimizer_from_name(name, named_params(params))};
             validate_rule(r.rule);
             return r;
           }),
           py::arg("name"), py::arg("params"))
      .def_property_readonly("name", [](const PyRule& r) { return optimizer_name(r.rule); })
      .def_property_readonly("params", [](const PyRule& r) { return optimizer_params(r.rule); })
      .def_property_readonly("slots", [](const PyRule& r) { return optimizer_slots(r.rule); })
      .def("step", &rule_step, py::kw_only(), py::arg("param"), py::arg("grad"), py::arg("state"),
           py::arg("lr"), py::arg("t"), py::arg("n_threads"),
           "One in-place step over param and its state buffers (t counts from 1).");
  m.def(
      "schedule_at",
      [](const std::string& kind, const py::dict& params, long long t) {
        const Schedule s = schedule_from_name(kind, named_params(params));
        validate_schedule(s, "eta0");
        return s.at(t);
      },
      py::arg("kind"), py::arg("params"), py::arg("t"), "The schedule's step size for update t.");

  py::class_<StoppingMonitor>(m, "StoppingMonitor", py::module_local())
      .def(py::init([](std::optional<double> tol, index_t n_iter_no_change, std::optional<double> gtol) {
             StoppingRule rule;
             rule.tol = tol;
             rule.n_iter_no_change = n_iter_no_change;
             rule.gtol = gtol;
             return StoppingMonitor(rule);
           }),
           py::kw_only(), py::arg("tol"), py::arg("n_iter_no_change"), py::arg("gtol"))
      .def(
          "check",
          [](StoppingMonitor& m, double objective, double grad_norm) {
            return std::string(status_name(m.check(objective, grad_norm)));
          },
          py::arg("objective"), py::arg("grad_norm"),
          "Feeds one check; returns 'running' or why the run stops.")
      .def_property_readonly("start", &StoppingMonitor::start);
}

}  // namespace descend::bindings
