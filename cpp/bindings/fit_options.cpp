// The table behind fit_options_from and fit_defaults: each option's name,
// how to set it from a Python value and how to read its default back.
#include "fit_options.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <set>
#include <string>

#include "register.hpp"

namespace descend::bindings {

namespace {

struct Field {
  const char* name;
  void (*set)(FitOptions&, const py::handle&);
  py::object (*get)(const FitOptions&);
};

py::object optional_float(const std::optional<double>& v) {
  if (v) return py::float_(*v);
  return py::none();
}
std::optional<double> as_optional(const py::handle& v) {
  return v.is_none() ? std::nullopt : std::optional<double>(v.cast<double>());
}

// precompute: "auto", True or False.
Precompute precompute_from(const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? Precompute::Always : Precompute::Never;
  if (py::isinstance<py::str>(v) && v.cast<std::string>() == "auto") return Precompute::Auto;
  throw py::value_error("precompute must be 'auto', True or False, got " + std::string(py::repr(v)));
}

// average: False (0), True (1) or an update count (the core checks it).
index_t average_from(const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? 1 : 0;
  if (py::isinstance<py::int_>(v)) return v.cast<index_t>();
  throw py::type_error("average must be False, True or an update count >= 1, got " + std::string(py::repr(v)));
}

// precondition: "auto" or None.
bool precondition_from(const py::handle& v) {
  if (v.is_none()) return false;
  if (py::isinstance<py::str>(v) && v.cast<std::string>() == "auto") return true;
  throw py::value_error("precondition must be 'auto' or None, got " + std::string(py::repr(v)));
}

// In dependency order: optimizer_params applies to the rule `optimizer` named.
const Field fields[] = {
    {"loss", [](FitOptions& o, const py::handle& v) { o.loss.kind = loss_from_name(v.cast<std::string>()); },
     [](const FitOptions& o) -> py::object { return py::str(loss_name(o.loss.kind)); }},
    {"delta", [](FitOptions& o, const py::handle& v) { o.loss.delta = v.cast<double>(); },
     [](const FitOptions& o) -> py::object { return py::float_(o.loss.delta); }},
    {"n_classes", [](FitOptions& o, const py::handle& v) { o.loss.n_classes = v.cast<index_t>(); },
     [](const FitOptions& o) -> py::object { return py::int_(o.loss.n_classes); }},
    {"method", [](FitOptions& o, const py::handle& v) { o.method = method_from_name(v.cast<std::string>()); },
     [](const FitOptions& o) -> py::object { return py::str(method_name(o.method)); }},
    {"optimizer",
     [](FitOptions& o, const py::handle& v) { o.optimizer = optimizer_from_name(v.cast<std::string>()); },
     [](const FitOptions& o) -> py::object { return py::str(optimizer_name(o.optimizer)); }},
    {"optimizer_params",
     [](FitOptions& o, const py::handle& v) {
       o.optimizer = rule_from_py(optimizer_name(o.optimizer), v.cast<py::dict>());
     },
     [](const FitOptions&) -> py::object { return py::dict(); }},
    {"learning_rate",
     [](FitOptions& o, const py::handle& v) {
       // "auto" and "bb" are the strings the Python layer passes.
       const std::string name = py::isinstance<py::str>(v) ? v.cast<std::string>() : "";
       o.auto_learning_rate = name == "auto";
       o.bb_learning_rate = name == "bb";
       if (name.empty()) o.learning_rate = schedule_from_py(v);
     },
     [](const FitOptions& o) -> py::object { return py::float_(o.learning_rate.eta0); }},
    {"batch_size", [](FitOptions& o, const py::handle& v) { o.batch_size = v.cast<index_t>(); },
     [](const FitOptions& o) -> py::object { return py::int_(o.batch_size); }},
    {"max_iter", [](FitOptions& o, const py::handle& v) { o.stopping.max_iter = v.cast<index_t>(); },
     [](const FitOptions& o) -> py::object { return py::int_(o.stopping.max_iter); }},
    {"tol", [](FitOptions& o, const py::handle& v) { o.stopping.tol = as_optional(v); },
     [](const FitOptions& o) { return optional_float(o.stopping.tol); }},
    {"n_iter_no_change",
     [](FitOptions& o, const py::handle& v) { o.stopping.n_iter_no_change = v.cast<index_t>(); },
     [](const FitOptions& o) -> py::object { return py::int_(o.stopping.n_iter_no_change); }},
    {"gtol", [](FitOptions& o, const py::handle& v) { o.stopping.gtol = as_optional(v); },
     [](const FitOptions& o) { return optional_float(o.stopping.gtol); }},
    {"on_divergence",
     [](FitOptions& o, const py::handle& v) { o.on_divergence = on_divergence_from_name(v.cast<std::string>()); },
     [](const FitOptions& o) -> py::object { return py::str(on_divergence_name(o.on_divergence)); }},
    {"l2", [](FitOptions& o, const py::handle& v) { o.l2 = v.cast<double>(); },
     [](const FitOptions& o) -> py::object { return py::float_(o.l2); }},
    {"l1", [](FitOptions& o, const py::handle& v) { o.l1 = v.cast<double>(); },
     [](const FitOptions& o) -> py::object { return py::float_(o.l1); }},
    {"fit_intercept", [](FitOptions& o, const py::handle& v) { o.fit_intercept = v.cast<bool>(); },
     [](const FitOptions& o) -> py::object { return py::bool_(o.fit_intercept); }},
    {"shuffle", [](FitOptions& o, const py::handle& v) { o.shuffle = v.cast<bool>(); },
     [](const FitOptions& o) -> py::object { return py::bool_(o.shuffle); }},
    {"seed", [](FitOptions& o, const py::handle& v) { o.seed = v.cast<std::uint64_t>(); },
     [](const FitOptions& o) -> py::object { return py::int_(o.seed); }},
    {"n_threads", [](FitOptions& o, const py::handle& v) { o.n_threads = v.cast<int>(); },
     [](const FitOptions& o) -> py::object { return py::int_(o.n_threads); }},
    {"check_finite", [](FitOptions& o, const py::handle& v) { o.check_finite = v.cast<bool>(); },
     [](const FitOptions& o) -> py::object { return py::bool_(o.check_finite); }},
    {"average", [](FitOptions& o, const py::handle& v) { o.average = average_from(v); },
     [](const FitOptions& o) -> py::object {
       if (o.average == 0) return py::bool_(false);
       if (o.average == 1) return py::bool_(true);
       return py::int_(o.average);
     }},
    {"precompute", [](FitOptions& o, const py::handle& v) { o.precompute = precompute_from(v); },
     [](const FitOptions& o) -> py::object {
       if (o.precompute == Precompute::Auto) return py::str("auto");
       return py::bool_(o.precompute == Precompute::Always);
     }},
    {"precondition", [](FitOptions& o, const py::handle& v) { o.precondition = precondition_from(v); },
     [](const FitOptions& o) -> py::object { return o.precondition ? py::object(py::str("auto")) : py::none(); }},
};

}  // namespace

FitOptions fit_options_from(const py::kwargs& kwargs) {
  FitOptions o;
  std::set<std::string> known;
  for (const Field& f : fields) {
    known.insert(f.name);
    if (kwargs.contains(f.name)) f.set(o, kwargs[f.name]);
  }
  for (const auto& [key, value] : kwargs)
    if (!known.count(py::str(key)))
      throw py::type_error("fit() got an unexpected keyword argument '" + std::string(py::str(key)) + "'");
  return o;
}

py::dict fit_defaults() {
  const FitOptions o;
  py::dict out;
  for (const Field& f : fields) out[f.name] = f.get(o);
  return out;
}

}  // namespace descend::bindings
