// descend.optim's engine: descend::Optimizer<T> over one of the user's own
// arrays, updated in place; the rule's state and step count live here
// only. Also the stopping monitor that descend.minimize shares with fit.
#include <pybind11/stl.h>

#include <string>
#include <variant>

#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

// An Optimizer<T> bound to the parameter array it updates (kept alive
// here), of the array's dtype.
class PyOptimizer {
 public:
  PyOptimizer(const std::string& rule, const py::dict& params, const py::array& param,
              const std::string& param_name, const py::object& lr, int n_threads)
      : param_(param), name_(param_name), opt_(make(rule, params, param, param_name, lr, n_threads)) {}

  // One step of the rule with gradient `grad` (the parameter's dtype and
  // size; the Python layer has cast it), in place.
  void step(const py::array& grad) {
    std::visit(
        [&](auto& opt) {
          using T = typename std::decay_t<decltype(opt)>::value_type;
          const Span<T> p = flat_buffer<T>(param_, name_);
          require_dtype<T>(grad, "grad");
          if (!(grad.flags() & (py::array::c_style | py::array::f_style)) || grad.size() != p.size)
            throw py::value_error("grad must be contiguous with the parameter's size");
          const Span<const T> g{static_cast<const T*>(grad.data()), p.size};
          // A pure C++ loop over buffers this object and the caller keep alive.
          py::gil_scoped_release release;
          opt.step(p, g);
        },
        opt_);
  }

  // State buffer `slot` as a NumPy array over the C++ buffer itself; `self`
  // becomes its base, so the buffer lives as long as the view.
  static py::array state(const py::object& self, int slot) {
    PyOptimizer& me = self.cast<PyOptimizer&>();
    return std::visit(
        [&](auto& opt) -> py::array {
          using T = typename std::decay_t<decltype(opt)>::value_type;
          const Span<T> s = opt.state(slot);
          return py::array_t<T>({static_cast<py::ssize_t>(s.size)}, {static_cast<py::ssize_t>(sizeof(T))},
                                s.data, self);
        },
        me.opt_);
  }

  template <class F>
  decltype(auto) visit(F&& f) { return std::visit(std::forward<F>(f), opt_); }
  template <class F>
  decltype(auto) visit(F&& f) const { return std::visit(std::forward<F>(f), opt_); }

 private:
  using Any = std::variant<Optimizer<float>, Optimizer<double>>;

  static Any make(const std::string& rule, const py::dict& params, const py::array& param,
                  const std::string& name, const py::object& lr, int n_threads) {
    const UpdateRule r = rule_from_py(rule, params);
    const Schedule s = lr.is_none() ? Schedule::constant(default_learning_rate(r)) : schedule_from_py(lr);
    if (has_dtype<float>(param)) return Optimizer<float>(r, flat_buffer<float>(param, name).size, s, n_threads);
    if (has_dtype<double>(param)) return Optimizer<double>(r, flat_buffer<double>(param, name).size, s, n_threads);
    throw py::type_error(name + " must have dtype float32 or float64 to be updated in place, got " +
                         std::string(py::str(param.dtype())));
  }

  py::array param_;
  std::string name_;
  Any opt_;
};

}  // namespace

void register_optim(py::module_& m) {
  py::class_<PyOptimizer>(m, "Optimizer", py::module_local())
      .def(py::init<const std::string&, const py::dict&, const py::array&, const std::string&,
                    const py::object&, int>(),
           py::arg("rule"), py::arg("params"), py::arg("param"), py::arg("param_name"), py::arg("lr"),
           py::arg("n_threads"),
           "descend::Optimizer over `param` (updated in place); lr None is the rule's default.")
      .def("step", &PyOptimizer::step, py::arg("grad"), "One in-place step of the parameter.")
      .def("state", &PyOptimizer::state, py::arg("slot"), "State buffer `slot`, a view (flat).")
      .def("set_lr", [](PyOptimizer& o, const py::object& lr) {
             o.visit([&](auto& opt) { opt.set_learning_rate(schedule_from_py(lr)); });
           }, py::arg("lr"))
      .def("reset", [](PyOptimizer& o) { o.visit([](auto& opt) { opt.reset(); }); })
      .def_property(
          "steps", [](const PyOptimizer& o) { return o.visit([](const auto& opt) { return opt.steps(); }); },
          [](PyOptimizer& o, long long t) { o.visit([&](auto& opt) { opt.set_steps(t); }); })
      .def_property(
          "n_threads", [](const PyOptimizer& o) { return o.visit([](const auto& opt) { return opt.n_threads(); }); },
          [](PyOptimizer& o, int n) { o.visit([&](auto& opt) { opt.set_n_threads(n); }); })
      .def_property_readonly("current_lr",
                             [](const PyOptimizer& o) { return o.visit([](const auto& opt) { return opt.current_lr(); }); })
      .def_property_readonly("name", [](const PyOptimizer& o) {
        return o.visit([](const auto& opt) { return std::string(optimizer_name(opt.rule())); });
      })
      .def_property_readonly("params", [](const PyOptimizer& o) {
        return o.visit([](const auto& opt) { return optimizer_params(opt.rule()); });
      })
      .def_property_readonly("slots", [](const PyOptimizer& o) {
        return o.visit([](const auto& opt) { return optimizer_slots(opt.rule()); });
      });

  m.def(
      "schedule_at",
      [](const std::string& kind, const py::dict& params, long long t) {
        const Schedule s = schedule_from_name(kind, named_params(params));
        validate_schedule(s, "eta0");
        return s.at(t);
      },
      py::arg("kind"), py::arg("params"), py::arg("t"), "The schedule's step size for update t.");

  m.def(
      "check_learning_rate",
      [](const py::object& lr, const std::string& name) { validate_learning_rate(schedule_from_py(lr), name.c_str()); },
      py::arg("lr"), py::arg("name"), "ValueError unless lr (a number or a schedule's spec) is a valid rate.");

  py::class_<StoppingMonitor>(m, "StoppingMonitor", py::module_local())
      .def(py::init([](index_t max_iter, std::optional<double> tol, index_t n_iter_no_change,
                       std::optional<double> gtol) {
             StoppingRule rule;
             rule.max_iter = max_iter;
             rule.tol = tol;
             rule.n_iter_no_change = n_iter_no_change;
             rule.gtol = gtol;
             validate_stopping(rule);
             return StoppingMonitor(rule);
           }),
           py::kw_only(), py::arg("max_iter"), py::arg("tol"), py::arg("n_iter_no_change"), py::arg("gtol"),
           "Checks the rule (ValueError naming a bad value) and monitors a run.")
      .def(
          "check",
          [](StoppingMonitor& m, double objective, double grad_norm) {
            return std::string(status_name(m.check(objective, grad_norm)));
          },
          py::arg("objective"), py::arg("grad_norm"),
          "Feeds one check; returns 'running' or why the run stops (max_iter is the caller's).")
      .def_property_readonly("start", &StoppingMonitor::start)
      .def_property_readonly("max_iter", [](const StoppingMonitor& m) { return m.rule().max_iter; })
      .def(
          "message",
          [](const StoppingMonitor& m, const std::string& status, index_t n_iter, const std::string& unit) {
            return stop_message(status_from_name(status), n_iter, unit.c_str(), m.rule());
          },
          py::arg("status"), py::arg("n_iter"), py::arg("unit"), "Why the run stopped, in words.");
  m.def(
      "divergence_message",
      [](const std::string& unit, index_t at, double objective, double start, double learning_rate,
         const std::string& rule_arg, const std::string& rule_name) {
        return divergence_message(unit.c_str(), at, objective, start, learning_rate, rule_arg.c_str(),
                                  rule_name.c_str());
      },
      py::arg("unit"), py::arg("at"), py::arg("objective"), py::arg("start"), py::arg("learning_rate"),
      py::arg("rule_arg"), py::arg("rule_name"), "The DivergenceError message.");
  m.def("start_not_finite_message", &start_not_finite_message, py::arg("objective"),
        "The DivergenceError message when the objective at the start point is not finite.");
}

}  // namespace descend::bindings
